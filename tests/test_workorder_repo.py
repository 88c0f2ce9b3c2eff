"""The work order repository remembers rows it read or wrote so save() writes only what
changed; after a rollback what it remembered is not what the database holds."""

from __future__ import annotations

import pytest

from storage.db import session_factory
from storage.uow import SqlUnitOfWork
from tests.channel_app import Product


async def test_a_save_after_a_rollback_is_not_silently_skipped(product: Product) -> None:
    p = product
    _, twiml = await p.sms("+15125550126", "walk-in cooler at Manchaca is warm, reading 45")
    assert "WO-1001" in twiml
    async with SqlUnitOfWork(session_factory(p.engine)) as uow:
        wo = await uow.work_orders.get(1001, lock=True)
        assert wo is not None
        before = wo.description
        wo.description = "changed, then rolled back"
        await uow.work_orders.save(wo)
        await uow.rollback()
        # The database still holds the old text: comparing with the rolled-back row would
        # find nothing changed and write nothing.
        with pytest.raises(KeyError):
            await uow.work_orders.save(wo)
        again = await uow.work_orders.get(1001, lock=True)
        assert again is not None and again.description == before
        again.description = "changed for real"
        await uow.work_orders.save(again)
        await uow.commit()
    async with SqlUnitOfWork(session_factory(p.engine)) as uow:
        saved = await uow.work_orders.get(1001)
        assert saved is not None and saved.description == "changed for real"
