"""Preventive maintenance due: within the look-ahead, not already open, overdue counted."""

from __future__ import annotations

from datetime import date

from dispatch.company import Company, CompanySettings, Customer, Equipment, Site
from dispatch.engine.pm import due_preventive_maintenance

TODAY = date(2026, 11, 25)


def company(*equipment: Equipment, lookahead: int = 14) -> Company:
    site = Site("S1", "1 Main St", equipment=equipment)
    return Company(
        settings=CompanySettings("Co", "America/Chicago", pm_lookahead_days=lookahead),
        customers=(Customer("C1", "Acme", sites=(site,)),),
    )


def unit(
    ident: str, last_pm: date | None, interval: int | None = 90, installed: date | None = None
) -> Equipment:
    return Equipment(
        ident, "rtu", skill="hvac", pm_interval_days=interval, last_pm=last_pm, installed=installed
    )


def due_ids(c: Company, open_ids: set[str] | None = None) -> list[str]:
    return [p.equipment_id for p in due_preventive_maintenance(c, TODAY, open_ids or set())]


def test_pm_due_within_the_lookahead_is_listed_and_later_pm_is_not() -> None:
    c = company(
        unit("E-in", date(2026, 9, 1)),  # due 2026-11-30
        unit("E-edge", date(2026, 9, 10)),  # due 2026-12-09: exactly 14 days out
        unit("E-later", date(2026, 9, 11)),  # due 2026-12-10
    )
    assert due_ids(c) == ["E-in", "E-edge"]


def test_lookahead_comes_from_the_company_settings() -> None:
    c = company(unit("E1", date(2026, 9, 1)), lookahead=3)  # due in 5 days
    assert due_ids(c) == []


def test_overdue_pm_counts_its_days_and_comes_first() -> None:
    c = company(unit("E-soon", date(2026, 9, 1)), unit("E-late", date(2026, 8, 1)))
    found = due_preventive_maintenance(c, TODAY, set())
    assert [(p.equipment_id, p.due, p.overdue_days) for p in found] == [
        ("E-late", date(2026, 10, 30), 26),
        ("E-soon", date(2026, 11, 30), 0),
    ]
    assert found[0].priority == "P4"
    assert (found[0].customer_id, found[0].site_id, found[0].skill) == ("C1", "S1", "hvac")


def test_equipment_with_an_open_pm_work_order_is_skipped() -> None:
    c = company(unit("E1", date(2026, 8, 1)), unit("E2", date(2026, 8, 1)))
    assert due_ids(c, {"E1"}) == ["E2"]


def test_equipment_without_a_pm_interval_never_comes_due() -> None:
    assert due_ids(company(unit("E1", date(2020, 1, 1), interval=None))) == []


def test_never_serviced_equipment_is_due_from_its_installation() -> None:
    c = company(
        unit("E-new", None, installed=date(2026, 12, 1)),
        unit("E-unknown", None),  # no install date either: due now
        unit("E-future", None, installed=date(2027, 1, 1)),
    )
    found = due_preventive_maintenance(c, TODAY, set())
    assert [(p.equipment_id, p.due) for p in found] == [
        ("E-unknown", TODAY),
        ("E-new", date(2026, 12, 1)),
    ]
