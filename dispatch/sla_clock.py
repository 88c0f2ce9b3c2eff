"""The SLA clock: how much of a work order's response time has gone by without arrival.

Dispatchers hear of a job at 50% and 80% of its response time (at risk) and at 100%
(breached); once a technician has arrived the clock stops mattering.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from dispatch.workorder import Status, TimelineEvent

STAGES: tuple[int, ...] = (50, 80, 100)
AT_RISK = 50
BREACHED = 100
# Statuses in which the technician is (or has been) on site: the response is met.
ARRIVED = frozenset(
    {
        Status.ON_SITE,
        Status.WORKING,
        Status.COMPLETED,
        Status.SIGNED_OFF,
        Status.INVOICED,
    }
)


def used_percent(opened: datetime, due: datetime, now: datetime) -> float:
    """Share of the response time gone by at `now`, in percent (may pass 100)."""
    total = (due - opened).total_seconds()
    if total <= 0:
        return 100.0 if now >= due else 0.0
    return max(0.0, (now - opened).total_seconds() / total * 100.0)


def stage_at(opened: datetime, due: datetime | None, now: datetime) -> int:
    """The highest stage (0, 50, 80 or 100) reached at `now`."""
    if due is None:
        return 0
    used = used_percent(opened, due, now)
    reached = [s for s in STAGES if used >= s]
    return reached[-1] if reached else 0


def stage_time(opened: datetime, due: datetime, stage: int) -> datetime:
    """When the clock reaches `stage`."""
    return opened + (due - opened) * (stage / 100)


def has_arrived(status: Status, timeline: Iterable[TimelineEvent]) -> bool:
    """On site now, or was before (a job put on hold after arrival has met its response)."""
    if status in ARRIVED:
        return True
    return any(
        e.kind == "status" and e.data is not None and e.data.get("to") in ARRIVED for e in timeline
    )


def advanced_stage(
    opened: datetime,
    due: datetime | None,
    now: datetime,
    stored: int,
    status: Status,
    timeline: Iterable[TimelineEvent] = (),
) -> int | None:
    """The new stage to alert on, or None when nothing new happened. Only the highest stage
    reached is reported: a worker that was down for a while sends one alert, not three."""
    if status is Status.CANCELLED or has_arrived(status, timeline):
        return None
    stage = stage_at(opened, due, now)
    return stage if stage > stored else None


def label(stage: int) -> str:
    return "breached" if stage >= BREACHED else f"{stage}% used" if stage else "on track"


@dataclass(frozen=True, slots=True)
class SlaWatch:
    """One open work order as the SLA clock and the dispatcher's lists see it."""

    seq: int
    status: str
    priority: str
    created_at: datetime
    sla_due_at: datetime | None
    sla_stage: int  # the stage already alerted: 0, 50, 80 or 100
    flag_reason: str | None
    technician_id: str | None


class SlaStore(Protocol):
    """What the sweep and the dispatcher's lists need from storage (`uow.sla`)."""

    async def open_orders(self) -> list[SlaWatch]: ...
    async def running(self, limit: int = 500) -> list[SlaWatch]: ...
    async def claim(self, seqs: Iterable[int]) -> dict[int, int]: ...
    async def set_stage(self, seq: int, stage: int) -> None: ...
