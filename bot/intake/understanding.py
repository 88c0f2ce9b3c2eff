"""What intake understood of a customer's message(s): the facts a work order is made from."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from dispatch.company import GeoPoint

ASKABLE: tuple[str, ...] = ("skill", "address")  # what a missing fact is asked for, in order

_NEW_PROBLEM = re.compile(
    r"\b(?:another|new|different|separate|second|other|unrelated|otro|otra|nuevo)"
    r" (?:problem|issue|thing|job|request|repair|problema|cosa)\b|\bunrelated\b|"
    r"\bone more thing\b|\bnot the same\b"
)


def mentions_new_problem(folded_text: str) -> bool:
    return _NEW_PROBLEM.search(folded_text) is not None


@dataclass(frozen=True, slots=True)
class Understanding:
    skill: str | None = None
    skill_confidence: float = 0.0
    priority: str = "P3"
    priority_reason: str | None = None
    street: str | None = None  # normalised: "1200 Barton Springs Rd"
    zip: str | None = None
    city: str | None = None
    state: str | None = None
    site_id: str | None = None
    location: GeoPoint | None = None  # the site's coordinates, else the ZIP centroid
    equipment_id: str | None = None
    wants: tuple[datetime, datetime] | None = None  # in the company's timezone
    name: str | None = None  # only from a reply to "what's your name"
    missing: tuple[str, ...] = ()  # what must still be asked, in asking order
    description: str = ""  # the customer's own words, all messages joined
    says_new_problem: bool = False  # "another problem", "separate issue"

    def is_new_problem_hint(self, open_skill: str | None) -> bool:
        """Whether a follow-up from a customer with an open work order reads as a new job.

        Said so in words, or clearly about another kind of work than the open one.
        """
        if self.says_new_problem:
            return True
        if self.skill is None or open_skill is None or self.skill == open_skill:
            return False
        return self.skill_confidence >= 0.5

    def to_json(self) -> dict[str, object]:
        return {
            "skill": self.skill,
            "priority": self.priority,
            "street": self.street,
            "zip": self.zip,
            "location": (
                None
                if self.location is None
                else {"lat": self.location.lat, "lon": self.location.lon}
            ),
            "wants": (
                None
                if self.wants is None
                else {"start": self.wants[0].isoformat(), "end": self.wants[1].isoformat()}
            ),
            "equipment": self.equipment_id,
            "site": self.site_id,
            "missing": list(self.missing),
        }
