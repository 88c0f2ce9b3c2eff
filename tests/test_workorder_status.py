"""The status machine, over every pair of statuses."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from dispatch.workorder import ALLOWED, Status, TransitionRefused, WorkOrder

T0 = datetime(2026, 11, 30, 13, 0, tzinfo=UTC)
PAIRS = [(a, b) for a in Status for b in Status]


def order_in(status: Status) -> WorkOrder:
    return WorkOrder(seq=1042, customer_id="C001", description="x", created_at=T0, status=status)


@pytest.mark.parametrize(("current", "wanted"), PAIRS, ids=[f"{a}->{b}" for a, b in PAIRS])
def test_transition_is_allowed_exactly_when_the_table_says(current: Status, wanted: Status) -> None:
    wo = order_in(current)
    if wanted in ALLOWED[current]:
        wo.transition(wanted, T0, actor="D01", channel="telegram", why="because")
        assert wo.status is wanted
        event = wo.timeline[-1]
        assert (event.kind, event.actor, event.channel) == ("status", "D01", "telegram")
        assert event.text == f"{current} → {wanted}: because"
        assert wo.new_events == [event]
    else:
        with pytest.raises(TransitionRefused) as refused:
            wo.transition(wanted, T0)
        assert wo.status is current
        assert wo.timeline == []
        message = str(refused.value)
        assert f"WO-1042 is {current}; it cannot become {wanted}" in message
        for option in ALLOWED[current]:
            assert option.value in message
        if not ALLOWED[current]:
            assert "none (final status)" in message


def test_every_status_can_be_reached_from_new() -> None:
    seen, frontier = {Status.NEW}, [Status.NEW]
    while frontier:
        for nxt in ALLOWED[frontier.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                frontier.append(nxt)
    assert seen == set(Status)


def test_the_happy_path_runs_from_request_to_invoice() -> None:
    wo = order_in(Status.NEW)
    path = [
        "ready",
        "offered",
        "assigned",
        "en_route",
        "on_site",
        "working",
        "completed",
        "signed_off",
        "invoiced",
    ]
    for name in path:
        wo.transition(Status(name), T0)
    assert [e.data["to"] for e in wo.timeline if e.data] == path


def test_flags_are_recorded_in_the_timeline() -> None:
    wo = order_in(Status.READY)
    wo.raise_flag("no feasible technician", T0)
    assert wo.flag is not None and wo.flag.reason == "no feasible technician"
    wo.clear_flag(T0, actor="D01")
    assert wo.flag is None
    assert [e.kind for e in wo.timeline] == ["flag", "flag_cleared"]
