"""What happened, in the past tense: services return these; the bot turns them into messages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class OfferMade:
    seq: int
    technician_id: str
    expires_at: datetime
    why: str  # one line: why this technician
    dispatcher_told: bool = False  # P1: offered at once, and the dispatchers hear of it
    starts_at: datetime | None = None  # the planned start the offer just set (None: not known)


@dataclass(frozen=True, slots=True)
class OfferWithdrawn:
    seq: int
    technician_id: str
    why: str


@dataclass(frozen=True, slots=True)
class JobAssigned:
    seq: int
    technician_id: str
    planned_start: datetime | None


@dataclass(frozen=True, slots=True)
class JobFlagged:
    seq: int
    reason: str
    suggestions: tuple[str, ...]  # technician ids, best first
    waived: str | None = None  # the rule the suggestions break (nobody passes them all)


@dataclass(frozen=True, slots=True)
class JobUnassigned:
    seq: int
    technician_id: str
    why: str


@dataclass(frozen=True, slots=True)
class WindowMoved:
    """A customer's job moved in the plan (bumped, re-planned): they are told the new window."""

    seq: int
    start: datetime
    end: datetime


Event = OfferMade | OfferWithdrawn | JobAssigned | JobFlagged | JobUnassigned | WindowMoved
