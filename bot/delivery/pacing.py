"""Which due messages go now and which wait: per-chat spacing and an overall rate.

Telegram allows about one message a second to a chat and 30 a second overall. Messages that
must wait get a later `due_at` (no sleeping); one recipient never has two messages in flight,
so a chat sees its messages in order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

SECOND = timedelta(seconds=1)


@dataclass(frozen=True, slots=True)
class Pace:
    gap: timedelta  # between two sends to one recipient
    per_second: int | None  # overall, on this channel


DEFAULT_PACES: Mapping[str, Pace] = {
    "telegram": Pace(gap=SECOND, per_second=25),
    "sms": Pace(gap=timedelta(0), per_second=None),  # Twilio queues per sender number
    "sim": Pace(gap=timedelta(0), per_second=None),
}


@dataclass(frozen=True, slots=True)
class Candidate:
    id: int
    channel: str
    recipient: str


@dataclass(frozen=True, slots=True)
class Plan:
    send: list[int] = field(default_factory=list)
    later: dict[int, datetime] = field(default_factory=dict)  # id → new due_at
    # Left due as they are: another message to the recipient goes first (no gap needed).
    skipped: list[int] = field(default_factory=list)


def plan(
    candidates: Sequence[Candidate],
    now: datetime,
    *,
    limit: int,
    last_sent: Mapping[tuple[str, str], datetime],
    active: Mapping[str, int],
    paces: Mapping[str, Pace] = DEFAULT_PACES,
) -> Plan:
    """Pick up to `limit` of `candidates` (oldest first) to send now.

    `last_sent`: latest send per (channel, recipient), a held claim counting as now;
    `active`: sends per channel in the last second.
    """
    result = Plan()
    next_free: dict[tuple[str, str], datetime] = {}
    for key, at in last_sent.items():
        pace = paces.get(key[0], DEFAULT_PACES["sim"])
        # A zero gap still serializes: a held claim blocks its recipient until done.
        next_free[key] = at + pace.gap if pace.gap else at + timedelta(microseconds=1)
    used = dict(active)
    overflow: dict[str, int] = {}
    for item in candidates:
        pace = paces.get(item.channel, DEFAULT_PACES["sim"])
        key = (item.channel, item.recipient)
        free = next_free.get(key)
        if free is not None and free > now:
            if pace.gap:
                result.later[item.id] = free
                next_free[key] = free + pace.gap
            else:
                result.skipped.append(item.id)
            continue
        if len(result.send) >= limit:
            result.skipped.append(item.id)
            continue
        if pace.per_second is not None and used.get(item.channel, 0) >= pace.per_second:
            waiting = overflow.get(item.channel, 0)
            overflow[item.channel] = waiting + 1
            at = now + SECOND * (1 + waiting // pace.per_second)
            result.later[item.id] = at
            next_free[key] = at + pace.gap
            continue
        used[item.channel] = used.get(item.channel, 0) + 1
        result.send.append(item.id)
        next_free[key] = now + pace.gap if pace.gap else now + timedelta(microseconds=1)
    return result
