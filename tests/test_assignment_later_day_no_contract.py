"""Without a contract no SLA says how long a job may wait: an emergency or an urgent job
after hours goes to a dispatcher, a standard one is planned for the next working day.
The demo company here calls its `standard` contract `basic`, so strangers get none."""

from __future__ import annotations

from dataclasses import replace

import pytest

from dispatch.clock import FixedClock
from storage.company_file import load_company_file
from storage.importer import import_company
from tests.channel_app import Product
from tests.conftest import DEMO_COMPANY, UowFactory
from tests.test_assignment_flow import wo_row
from tests.test_assignment_later_day import AUSTIN, TUESDAY, after_hours


@pytest.fixture
async def demo_company(uow: UowFactory, clock: FixedClock) -> None:
    company = load_company_file(DEMO_COMPANY).company
    company = replace(
        company,
        contracts=tuple(
            replace(c, id="basic") if c.id == "standard" else c for c in company.contracts
        ),
        customers=tuple(
            replace(c, contract="basic") if c.contract == "standard" else c
            for c in company.customers
        ),
    )
    async with uow() as u:
        await import_company(u.session, company, clock.now())
        await u.commit()


async def test_without_a_contract_an_emergency_or_urgent_job_is_not_put_off(
    product: Product,
) -> None:
    p = product
    await after_hours(p)
    texts = {
        "+15125550160": "the water heater pipe burst, water everywhere",
        "+15125550161": "water heater is leaking from the bottom",
        "+15125550162": "can someone look at the fence gate, it drags. no rush",
    }
    for i, (phone, text) in enumerate(texts.items()):
        await p.sms(phone, text)
        await p.sms(phone, f"Sam Tester{i}")
        await p.sms(phone, "2612 Barton Hills Dr, Austin TX 78704")
    rows = [await wo_row(p, seq) for seq in (1001, 1002, 1003)]
    assert [r.priority for r in rows] == ["P1", "P2", "P3"]
    assert [r.sla_due_at for r in rows] == [None, None, None]
    assert [r.status for r in rows[:2]] == ["ready", "ready"]
    assert all((r.flag_reason or "").startswith("no_feasible_technician") for r in rows[:2])
    assert rows[2].status == "offered" and rows[2].planned_start is not None
    assert rows[2].planned_start.astimezone(AUSTIN).date() == TUESDAY
