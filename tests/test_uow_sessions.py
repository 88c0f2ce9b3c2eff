"""A unit of work takes a session that its factory's earlier ones closed cleanly, instead of
making a new one each time (making one cost a fifth of an empty unit of work). Nothing of
one transaction may reach the next through the reused session: not the timeline rows a
rolled-back one queued, not its objects, not its connection."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select

from storage.db import session_factory
from storage.tables import TimelineRow
from storage.uow import SqlUnitOfWork
from tests.channel_app import Product


async def _timeline_rows(p: Product) -> int:
    async with SqlUnitOfWork(session_factory(p.engine)) as uow:
        return int(await uow.session.scalar(select(func.count()).select_from(TimelineRow)) or 0)


async def test_a_reused_session_carries_nothing_from_a_rolled_back_unit_of_work(
    product: Product,
) -> None:
    p = product
    _, twiml = await p.sms("+15125550126", "walk-in cooler at Manchaca is warm, reading 45")
    assert "WO-1001" in twiml
    before = await _timeline_rows(p)
    sessions = session_factory(p.engine)
    async with SqlUnitOfWork(sessions) as uow:
        first = uow.session
        wo = await uow.work_orders.get(1001, lock=True)
        assert wo is not None
        wo.raise_flag("rolled back, never happened", datetime.now(UTC), actor="test")
        await uow.work_orders.save(wo)  # its timeline row is queued until the commit
        # Left without a commit: rolled back.
    async with SqlUnitOfWork(sessions) as uow:
        assert uow.session is first, "the closed session is taken again"
        assert not uow.session.sync_session.identity_map, "no object of the last one"
        noted = uow.session.sync_session.info
        assert "callout.connection" not in noted, "not the last one's connection"
        assert not noted.get("callout.pending_timeline"), "not its queued timeline rows"
        wo = await uow.work_orders.get(1001, lock=True)
        assert wo is not None
        assert all("never happened" not in e.text for e in wo.timeline)
        wo.description = "committed on the reused session"
        await uow.work_orders.save(wo)
        await uow.commit()
    assert await _timeline_rows(p) == before, "the rolled-back flag's row never landed"
    async with SqlUnitOfWork(sessions) as uow:
        again = await uow.work_orders.get(1001)
        assert again is not None and again.description == "committed on the reused session"
        assert all("never happened" not in e.text for e in again.timeline)


async def test_units_of_work_open_at_once_each_have_their_own_session(
    product: Product,
) -> None:
    sessions = session_factory(product.engine)
    async with SqlUnitOfWork(sessions) as first:
        pass
    async with SqlUnitOfWork(sessions) as outer:
        assert outer.session is first.session
        async with SqlUnitOfWork(sessions) as inner:
            assert inner.session is not outer.session
