"""The work order: one record per job, its status machine and its timeline."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class Status(StrEnum):
    NEW = "new"
    NEEDS_INFO = "needs_info"
    READY = "ready"
    OFFERED = "offered"
    ASSIGNED = "assigned"
    EN_ROUTE = "en_route"
    ON_SITE = "on_site"
    WORKING = "working"
    COMPLETED = "completed"
    SIGNED_OFF = "signed_off"
    INVOICED = "invoiced"
    ON_HOLD = "on_hold"
    CANCELLED = "cancelled"


S = Status
# Where each status may go. Going back to READY is how a job returns to the queue
# (declined, withdrawn, unassigned, bumped); ON_HOLD is "stuck, needs help or parts".
ALLOWED: dict[Status, frozenset[Status]] = {
    S.NEW: frozenset({S.NEEDS_INFO, S.READY, S.ON_HOLD, S.CANCELLED}),
    S.NEEDS_INFO: frozenset({S.READY, S.ON_HOLD, S.CANCELLED}),
    S.READY: frozenset({S.NEEDS_INFO, S.OFFERED, S.ASSIGNED, S.ON_HOLD, S.CANCELLED}),
    S.OFFERED: frozenset({S.READY, S.OFFERED, S.ASSIGNED, S.ON_HOLD, S.CANCELLED}),
    S.ASSIGNED: frozenset({S.READY, S.OFFERED, S.EN_ROUTE, S.ON_SITE, S.ON_HOLD, S.CANCELLED}),
    S.EN_ROUTE: frozenset({S.ASSIGNED, S.READY, S.ON_SITE, S.ON_HOLD, S.CANCELLED}),
    S.ON_SITE: frozenset({S.WORKING, S.COMPLETED, S.ON_HOLD, S.CANCELLED}),
    S.WORKING: frozenset({S.COMPLETED, S.ON_HOLD}),
    S.ON_HOLD: frozenset(
        {S.READY, S.ASSIGNED, S.EN_ROUTE, S.ON_SITE, S.WORKING, S.COMPLETED, S.CANCELLED}
    ),
    S.COMPLETED: frozenset({S.SIGNED_OFF, S.WORKING, S.ON_HOLD}),
    S.SIGNED_OFF: frozenset({S.INVOICED}),
    S.INVOICED: frozenset(),
    S.CANCELLED: frozenset(),
}
# Statuses in which a technician holds the job.
HELD = frozenset({S.ASSIGNED, S.EN_ROUTE, S.ON_SITE, S.WORKING})
# Statuses in which work has started on site: never bumped, never moved by re-planning.
STARTED = frozenset({S.EN_ROUTE, S.ON_SITE, S.WORKING})
OPEN = frozenset(set(Status) - {S.SIGNED_OFF, S.INVOICED, S.CANCELLED})

PRIORITIES = ("P1", "P2", "P3", "P4")


class TransitionRefused(Exception):
    """A status change the machine does not allow; the message says what is possible."""

    def __init__(self, number: str, current: Status, wanted: Status) -> None:
        self.current = current
        self.wanted = wanted
        allowed = sorted(ALLOWED[current])
        options = ", ".join(allowed) if allowed else "none (final status)"
        super().__init__(
            f"{number} is {current}; it cannot become {wanted}. Possible next: {options}."
        )


@dataclass(frozen=True, slots=True)
class TimelineEvent:
    """One line of the work order's history: when, who, by which channel, what, why."""

    at: datetime
    kind: str
    actor: str
    channel: str
    text: str
    data: dict[str, object] | None = None


@dataclass(frozen=True, slots=True)
class Flag:
    reason: str
    at: datetime


@dataclass(frozen=True, slots=True)
class Wants:
    start: datetime
    end: datetime


@dataclass(frozen=True, slots=True)
class Photo:
    """A photo or PDF attached to a work order; the file lives under MEDIA_DIR at `path`."""

    id: int
    path: str
    content_type: str
    size: int
    sent_by: str
    channel: str
    at: datetime


UNNUMBERED = 0  # the seq of a work order not added yet: storage gives it the next number


def format_number(seq: int) -> str:
    return f"WO-{seq}"


def parse_number(text: str) -> int | None:
    """`WO-1042`, `wo1042`, `1042` → 1042; anything else → None."""
    cleaned = text.strip().upper().removeprefix("WO").lstrip("-# ")
    # isascii: str.isdigit() also accepts "²", which int() refuses.
    return int(cleaned) if cleaned.isascii() and cleaned.isdigit() and len(cleaned) < 10 else None


@dataclass(eq=False)
class WorkOrder:
    """The aggregate. Changes go through its methods so every one lands in the timeline."""

    seq: int
    customer_id: str
    description: str
    created_at: datetime
    priority: str = "P3"
    skill: str | None = None
    site_id: str | None = None
    equipment_id: str | None = None
    status: Status = Status.NEW
    sla_due_at: datetime | None = None
    wants: Wants | None = None
    technician_id: str | None = None
    source_channel: str = "api"
    flag: Flag | None = None
    extra_minutes: int = 0  # the visit runs this much longer than the category's estimate
    timeline: list[TimelineEvent] = field(default_factory=list)
    new_events: list[TimelineEvent] = field(default_factory=list)

    @property
    def number(self) -> str:
        return format_number(self.seq)

    def record(
        self,
        at: datetime,
        kind: str,
        text: str,
        *,
        actor: str = "system",
        channel: str = "system",
        data: dict[str, object] | None = None,
    ) -> TimelineEvent:
        event = TimelineEvent(at=at, kind=kind, actor=actor, channel=channel, text=text, data=data)
        self.timeline.append(event)
        self.new_events.append(event)
        return event

    def can_become(self, wanted: Status) -> bool:
        return wanted in ALLOWED[self.status]

    def transition(
        self,
        wanted: Status,
        at: datetime,
        *,
        actor: str = "system",
        channel: str = "system",
        why: str = "",
    ) -> None:
        if not self.can_become(wanted):
            raise TransitionRefused(self.number, self.status, wanted)
        before = self.status
        self.status = wanted
        text = f"{before} → {wanted}" + (f": {why}" if why else "")
        self.record(
            at, "status", text, actor=actor, channel=channel, data={"from": before, "to": wanted}
        )

    def raise_flag(self, reason: str, at: datetime, *, actor: str = "system") -> None:
        self.flag = Flag(reason=reason, at=at)
        self.record(at, "flag", reason, actor=actor)

    def clear_flag(self, at: datetime, *, actor: str = "system") -> None:
        if self.flag is not None:
            self.flag = None
            self.record(at, "flag_cleared", "flag cleared", actor=actor)
