"""The process-wide company cache: every change to company data is seen by the next unit of
work, whether it was made in this process or in another one (`callout import` in a child)."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from dispatch.company import Customer
from tests.conftest import DEMO_COMPANY, UowFactory


async def test_an_import_by_another_process_is_seen_by_the_next_unit_of_work(
    uow: UowFactory, demo_company: None, database_url: str, tmp_path: Path
) -> None:
    async with uow() as u:
        before = await u.company.technician("T02")
        again = await u.company.load()
    async with uow() as u:
        assert await u.company.load() is again, "unchanged: the cached company is reused"
    assert before is not None and before.skills["general_handyman"] == 2

    changed = tmp_path / "changed.yaml"
    changed.write_text(
        DEMO_COMPANY.read_text().replace(
            "skills: {plumbing: 3, general_handyman: 2}",
            "skills: {plumbing: 3, general_handyman: 3}",
        )
    )
    env = {**os.environ, "DATABASE_URL": database_url}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "import sys; from webhooks.cli import main; sys.exit(main())",
        "import",
        str(changed),
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
    )
    assert await asyncio.wait_for(proc.wait(), 120) == 0

    async with uow() as u:
        after = await u.company.technician("T02")
    assert after is not None and after.skills["general_handyman"] == 3


async def test_a_walk_in_customer_and_used_parts_are_seen_at_once(
    uow: UowFactory, demo_company: None
) -> None:
    async with uow() as u:
        company = await u.company.load()
        stock = company.technicians[0].van_stock
        tech, (sku, qty) = company.technicians[0].id, next(iter(stock.items()))
        assert await u.company.customer_by(phone="+15125550999") is None

    async with uow() as u:
        await u.company.add_customer(Customer(id="C-90001", name="Walk In", phone="+15125550999"))
        assert (await u.company.customer("C-90001")) is not None, "seen in its own transaction"
        assert await u.assignments.use_stock(tech, sku, 1) == qty - 1
        await u.commit()

    async with uow() as u:
        found = await u.company.customer_by(phone="+15125550999")
        technician = await u.company.technician(tech)
    assert found is not None and found.id == "C-90001"
    assert technician is not None and technician.van_stock[sku] == qty - 1


async def test_a_rolled_back_change_is_not_seen(uow: UowFactory, demo_company: None) -> None:
    async with uow() as u:
        await u.company.add_customer(Customer(id="C-90002", name="Never", phone="+15125550998"))
        assert await u.company.customer("C-90002") is not None
        # leaving without commit rolls back
    async with uow() as u:
        assert await u.company.customer("C-90002") is None
        assert await u.company.customer_by(phone="+15125550998") is None
