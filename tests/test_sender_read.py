"""Every message starts with the sender's rate count and the sender's identity: read in one
statement (InboundRepository.count_since with `identity`), the identities of the unit of work
must then answer as if they had read it themselves, for a known sender, a dispatcher and a
stranger, on both databases. And a work order added without a number gets the next one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from dispatch.messaging import Identity
from dispatch.workorder import UNNUMBERED, WorkOrder
from tests.conftest import UowFactory
from tests.databases import statements

NOW = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)
SINCE = NOW - timedelta(minutes=1)  # the rate limit's window
CUSTOMER = "+15125550100"
DISPATCHER = "+15125550199"
STRANGER = "+15125550177"


def _sent(seen: list[str]) -> list[str]:
    """The statements seen, SQLite's BEGINs left out."""
    return [s for s in seen if not s.startswith("BEGIN")]


async def _setup(uow: UowFactory) -> None:
    async with uow() as u:
        await u.identities.link("sms", CUSTOMER, "customer", "C-00001", NOW)
        await u.identities.link("sms", DISPATCHER, "dispatcher", "D1", NOW)
        for n, sender in enumerate((CUSTOMER, CUSTOMER, STRANGER)):
            await u.inbound.store("sms", f"SM{n}", sender, "{}", NOW - timedelta(seconds=n))
        await u.inbound.store("sms", "SM-old", CUSTOMER, "{}", NOW - timedelta(minutes=5))
        await u.commit()


async def _read(uow: UowFactory, sender: str) -> tuple[int, Identity | None, list[Identity]]:
    """What handling a message from `sender` reads first: the count with the identity, then
    the sender's identity and the dispatchers' (the end of a new request alerts them)."""
    async with uow() as u:
        recent = await u.inbound.count_since("sms", sender, SINCE, identity=("sms", sender))
        me = await u.identities.find("sms", sender)
        dispatchers = await u.identities.of_parties("dispatcher", ["D1"])
    return recent, me, dispatchers["D1"]


async def test_the_count_reads_the_senders_identity_and_the_dispatchers(
    uow: UowFactory, engine: AsyncEngine
) -> None:
    await _setup(uow)
    with statements(engine) as seen:
        recent, me, dispatchers = await _read(uow, CUSTOMER)
    assert recent == 2
    assert me is not None and (me.role, me.party_id) == ("customer", "C-00001")
    assert [d.address for d in dispatchers] == [DISPATCHER]
    [sent] = _sent(seen)
    assert "count(*)" in sent and "FROM identities" in sent


async def test_a_dispatcher_and_a_stranger(uow: UowFactory, engine: AsyncEngine) -> None:
    await _setup(uow)
    with statements(engine) as seen:
        recent, me, dispatchers = await _read(uow, DISPATCHER)
        strangers, nobody, _ = await _read(uow, STRANGER)
    assert recent == 0 and strangers == 1
    assert me is not None and me.role == "dispatcher"
    assert dispatchers == [me]
    assert nobody is None
    assert len(_sent(seen)) == 2  # one statement a unit of work


async def test_without_identity_or_after_a_lookup_the_count_reads_alone(
    uow: UowFactory, engine: AsyncEngine
) -> None:
    await _setup(uow)
    with statements(engine) as seen:
        async with uow() as u:
            assert await u.inbound.count_since("sms", CUSTOMER, SINCE) == 2
            assert await u.identities.find("sms", CUSTOMER) is not None
            # Looked up already: not read again with the count.
            assert (
                await u.inbound.count_since("sms", CUSTOMER, SINCE, identity=("sms", CUSTOMER)) == 2
            )
    assert sum("FROM identities" in s for s in seen) == 1


async def test_a_work_order_added_without_a_number_gets_the_next(
    uow: UowFactory, demo_company: None
) -> None:
    async with uow() as u:
        customer = (await u.company.load()).customers[0].id
        numbers = []
        for text in ("first", "second"):
            wo = WorkOrder(seq=UNNUMBERED, customer_id=customer, description=text, created_at=NOW)
            await u.work_orders.add(wo)
            numbers.append(wo.seq)
        given = WorkOrder(
            seq=await u.work_orders.next_seq(),
            customer_id=customer,
            description="",
            created_at=NOW,
        )
        await u.work_orders.add(given)
        await u.commit()
    assert numbers == [1001, 1002] and given.seq == 1003
    async with uow() as u:
        second = await u.work_orders.get(1002)
    assert second is not None and second.description == "second"
