"""What the engine keeps from a day's bookings (DayView._booked, DayView.later_days):
storage answers a day nobody changed with the same tuple, and the jobs made from it are
reused; anything else is worked out afresh, and what moves with the clock still moves."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from dispatch import planning
from dispatch.company import Company
from dispatch.engine.model import Job, Route
from dispatch.planning import Booking, DayView
from dispatch.workorder import Status, WorkOrder
from storage.company_file import load_company_file
from tests.conftest import DEMO_COMPANY, DEMO_NOW

COMPANY: Company = load_company_file(DEMO_COMPANY).company
DAY = date(2026, 11, 30)


def _booking(seq: int, tech: str, position: int, status: Status = Status.ASSIGNED) -> Booking:
    customer = COMPANY.customers[seq % len(COMPANY.customers)]
    skill = next(iter(COMPANY.technicians[0].skills))
    wo = WorkOrder(
        seq=seq,
        customer_id=customer.id,
        description="leak",
        created_at=DEMO_NOW,
        skill=skill,
        site_id=customer.sites[0].id,
        status=status,
        technician_id=tech,
    )
    return Booking(wo, tech, position)


def _view(now: datetime = DEMO_NOW, day: date = DAY) -> DayView:
    return DayView(COMPANY, day, now)


def _jobs(route: Route) -> list[Job]:
    return [j for j in route.jobs if j is not None]


def _ids(routes: dict[str, Route], tech: str) -> list[str]:
    return [j.id for j in _jobs(routes[tech])]


def test_the_same_tuple_makes_the_same_jobs_a_new_one_is_read_afresh() -> None:
    tech = COMPANY.technicians[0].id
    day = (_booking(2, tech, 1), _booking(1, tech, 0))
    first = _view().routes(day)
    again = _view().routes(day)
    assert _ids(first, tech) == ["1", "2"]  # plan order
    assert again[tech].jobs is first[tech].jobs  # kept, not made again
    # A booking changed: storage answers with another tuple, and the day is made afresh.
    changed = (_booking(2, tech, 0), _booking(1, tech, 1), _booking(3, tech, 2))
    assert _ids(_view().routes(changed), tech) == ["2", "1", "3"]
    # A list is never kept (it may be changed after): the same list, changed, is read again.
    listed = [_booking(1, tech, 0)]
    assert _ids(_view().routes(listed), tech) == ["1"]
    listed.append(_booking(4, tech, 1))
    assert _ids(_view().routes(listed), tech) == ["1", "4"]


def test_a_job_under_way_moves_with_the_clock_on_a_kept_day() -> None:
    """A job under way happens now: its window stretches to the view's now. Seen from the
    day before (tomorrow's view), now is before midnight, and each view's now counts."""
    tech = COMPANY.technicians[0].id
    day = (_booking(5, tech, 1), _booking(6, tech, 0, Status.ON_SITE))
    tomorrow = DAY + timedelta(days=1)
    early_view = _view(day=tomorrow)
    late_view = _view(DEMO_NOW + timedelta(hours=3), day=tomorrow)
    early = early_view.routes(day)[tech]
    late = late_view.routes(day)[tech]
    assert early.fixed == late.fixed == 1
    assert [j.id for j in _jobs(late)] == ["6", "5"]  # the one under way in front
    assert _jobs(early)[0].window.start == early_view.now_minutes < 0
    assert _jobs(late)[0].window.start == late_view.now_minutes > early_view.now_minutes
    assert _jobs(late)[1] is _jobs(early)[1]  # the planned one is the kept job


def test_the_same_tuple_on_another_day_is_another_day() -> None:
    tech = COMPANY.technicians[0].id
    day = (_booking(7, tech, 0),)
    today = _view().routes(day)[tech]
    tomorrow = _view(day=DAY + timedelta(days=1)).routes(day)[tech]
    assert _jobs(today)[0].id == _jobs(tomorrow)[0].id == "7"
    assert today.jobs is not tomorrow.jobs


def test_later_days_split_by_planned_start_and_kept_for_the_same_tuple() -> None:
    tech = COMPANY.technicians[0].id
    view = _view()
    on_second = view.instant(2 * 24 * 60 + 9 * 60)  # 09:00 two days on
    undated = _booking(8, tech, 0)
    dated = Booking(_booking(9, tech, 1).wo, tech, 1, planned_start=on_second)
    read = (undated, dated)
    split = view.later_days(read, DAY + timedelta(days=3))
    assert [d for d, _ in split] == [DAY + timedelta(days=n) for n in (1, 2, 3)]
    assert [[b.wo.seq for b in on_day] for _, on_day in split] == [[8], [8, 9], [8]]
    assert _view().later_days(read, DAY + timedelta(days=3)) is split
    # Another read of the same days (a booking moved) is split afresh.
    moved = (undated, Booking(dated.wo, tech, 1, planned_start=on_second + timedelta(days=1)))
    resplit = _view().later_days(moved, DAY + timedelta(days=3))
    assert [[b.wo.seq for b in on_day] for _, on_day in resplit] == [[8], [8], [8, 9]]


def test_a_day_the_clock_does_not_move_keeps_its_routes() -> None:
    """Tomorrow, or today before the shift: the same tuple of bookings gives the same Route
    objects (and every view the same depot), so what the engine works out per route (its
    schedule, its gaps, kept by the route object and the depot) is worked out once."""
    tech, other = COMPANY.technicians[0].id, COMPANY.technicians[1].id
    day = (_booking(10, tech, 0), _booking(11, other, 0))
    tomorrow = DAY + timedelta(days=1)
    first = _view(day=tomorrow).routes(day)
    again = _view(DEMO_NOW + timedelta(hours=2), day=tomorrow).routes(day)
    assert again[tech] is first[tech] and again[other] is first[other]
    assert _view().depot is _view(day=tomorrow).depot
    early = DEMO_NOW - timedelta(hours=1)  # 06:00 on the day, before the shift
    before_shift = _view(early).routes(day)
    assert before_shift[tech].worker.shift.start > _view(early).now_minutes
    assert _view(early + timedelta(minutes=5)).routes(day)[tech] is before_shift[tech]
    # Only some asked for: the same objects still.
    assert _view(day=tomorrow).routes(day, only=(other,)) == {other: first[other]}
    # Another tuple (a booking changed): routes made afresh, with what it holds.
    changed = (_booking(10, tech, 0), _booking(12, tech, 1), _booking(11, other, 0))
    fresh = _view(day=tomorrow).routes(changed)
    assert fresh[tech] is not first[tech] and _ids(fresh, tech) == ["10", "12"]
    assert fresh[other] is not first[other] and _ids(fresh, other) == ["11"]


def test_routes_that_move_with_the_clock_or_the_crew_are_made_afresh() -> None:
    """Mid-shift the day starts now, to the minute, for everyone: the same route within a
    minute, a new one the next, with the kept jobs. A technician made unavailable, or with
    jobs done today, gets a route of their own, and their usual one again once that no
    longer holds."""
    tech = COMPANY.technicians[0].id
    day = (_booking(13, tech, 0),)
    mid = DEMO_NOW + timedelta(hours=4)  # 11:00
    at_one = _view(mid).routes(day)[tech]
    seconds_on = _view(mid + timedelta(seconds=59)).routes(day)[tech]
    at_two = _view(mid + timedelta(minutes=1, seconds=1)).routes(day)[tech]
    assert seconds_on is at_one
    assert at_one is not at_two and at_one.jobs is at_two.jobs
    assert at_one.worker.shift.start == _view(mid).now_minutes == 11 * 60
    assert at_two.worker.shift.start == 11 * 60 + 1
    base = _view(DEMO_NOW - timedelta(hours=1)).routes(day)[tech].worker  # before the shift
    assert at_one.worker.shift.end == at_two.worker.shift.end == base.shift.end
    tomorrow = DAY + timedelta(days=1)
    kept = _view(day=tomorrow).routes(day)[tech]
    away = _view(day=tomorrow).routes(day, unavailable=frozenset({tech}))[tech]
    assert away is not kept and not away.worker.available and kept.worker.available
    busy = _view(day=tomorrow).routes(day, done_today={tech: 2})[tech]
    assert busy is not kept and busy.worker.max_jobs == kept.worker.max_jobs - 2
    again = _view(day=tomorrow).routes(day)[tech]
    assert again == kept and again.worker.available


def test_kept_days_are_bounded_by_entries_and_by_the_bookings_they_hold(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The later-day reads for a few technicians each make their own days: a hundred are
    kept (32 were not, and the load's steady state planned every request anew); past the
    bound on entries, or on the bookings held in all, the kept days are let go, and a day
    asked for again is made afresh, the same."""
    techs = [t.id for t in COMPANY.technicians]
    tomorrow = DAY + timedelta(days=1)
    days = [(_booking(100 + n, techs[n % len(techs)], 0),) for n in range(100)]
    first = [_view(day=tomorrow).routes(d) for d in days]
    again = [_view(day=tomorrow).routes(d) for d in days]
    assert all(a == f and a.keys() == f.keys() for a, f in zip(again, first, strict=True))
    assert all(
        a[t] is f[t] for a, f in zip(again, first, strict=True) for t in f
    )  # all hundred kept
    for n in range(300):  # past the bound on entries
        _view(day=tomorrow).routes((_booking(1000 + n, techs[0], 0),))
    after = _view(day=tomorrow).routes(days[0])
    assert after == first[0] and all(after[t] is not first[0][t] for t in after)
    # The bound on bookings: a day holding more than is left lets the others go.
    monkeypatch.setattr(planning, "_MAX_KEPT_BOOKINGS", 3)
    small = (_booking(2000, techs[0], 0),)
    kept = _view(day=tomorrow).routes(small)
    assert _view(day=tomorrow).routes(small)[techs[0]] is kept[techs[0]]
    big = tuple(_booking(2001 + n, techs[1], n) for n in range(3))
    _view(day=tomorrow).routes(big)
    assert _view(day=tomorrow).routes(small)[techs[0]] is not kept[techs[0]]
