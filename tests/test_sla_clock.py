"""The SLA clock: 50% and 80% of the response time without arrival, then breach at 100%."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dispatch.sla_clock import advanced_stage, has_arrived, stage_at, stage_time
from dispatch.workorder import Status, TimelineEvent

OPENED = datetime(2026, 11, 30, 13, 0, tzinfo=UTC)
DUE = OPENED + timedelta(hours=4)


@pytest.mark.parametrize(
    ("minutes", "stage"),
    [(0, 0), (119, 0), (120, 50), (191, 50), (192, 80), (239, 80), (240, 100), (900, 100)],
)
def test_the_stage_follows_the_share_of_the_response_time(minutes: int, stage: int) -> None:
    assert stage_at(OPENED, DUE, OPENED + timedelta(minutes=minutes)) == stage


def test_no_due_time_means_no_clock() -> None:
    assert stage_at(OPENED, None, OPENED + timedelta(days=9)) == 0


def test_stage_times_are_50_and_80_percent_and_the_due_time() -> None:
    assert stage_time(OPENED, DUE, 50) == OPENED + timedelta(hours=2)
    assert stage_time(OPENED, DUE, 80) == OPENED + timedelta(hours=3, minutes=12)
    assert stage_time(OPENED, DUE, 100) == DUE


def test_only_a_new_stage_is_reported_and_a_late_sweep_reports_the_highest() -> None:
    at_90 = OPENED + timedelta(minutes=216)
    assert advanced_stage(OPENED, DUE, at_90, 0, Status.OFFERED) == 80
    assert advanced_stage(OPENED, DUE, at_90, 80, Status.OFFERED) is None
    assert advanced_stage(OPENED, DUE, DUE, 80, Status.ASSIGNED) == 100
    assert advanced_stage(OPENED, DUE, DUE, 100, Status.ASSIGNED) is None


def test_an_arrived_or_cancelled_job_raises_no_alert() -> None:
    late = DUE + timedelta(hours=1)
    for status in (Status.ON_SITE, Status.WORKING, Status.COMPLETED, Status.CANCELLED):
        assert advanced_stage(OPENED, DUE, late, 0, status) is None
    arrived = TimelineEvent(
        at=OPENED, kind="status", actor="t", channel="sms", text="", data={"to": "on_site"}
    )
    assert has_arrived(Status.ON_HOLD, [arrived])
    assert advanced_stage(OPENED, DUE, late, 0, Status.ON_HOLD, [arrived]) is None
    assert advanced_stage(OPENED, DUE, late, 0, Status.ON_HOLD, []) == 100
