"""Every message starts with the sender's rate count and the sender's identity: read in one
statement (InboundRepository.count_since with `identity`), the identities of the unit of work
must then answer as if they had read it themselves, for a known sender, a dispatcher and a
stranger, on both databases; so must its conversations, for the sender's conversation read
(and locked) by the same statement (`conversation`). And a work order added without a number
gets the next one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from dispatch.messaging import Conversation, Identity
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


async def _conversation_begun(uow: UowFactory, sender: str, state: str) -> None:
    async with uow() as u:
        await u.conversations.save(
            Conversation("sms", sender, state=state, data={"asked": "address"}, work_order_seq=7),
            NOW,
        )
        await u.commit()


async def test_the_count_reads_and_locks_the_senders_conversation(
    uow: UowFactory, engine: AsyncEngine
) -> None:
    """With `conversation`, the count's statement brings the sender's conversation, locked,
    on PostgreSQL: the unit of work's get() answers from it without a statement of its own,
    and another transaction cannot take the row until this one ends. On SQLite (one writer)
    get() reads it, as without `conversation`."""
    ahead = engine.dialect.name == "postgresql"
    await _setup(uow)
    await _conversation_begun(uow, CUSTOMER, "asking")
    with statements(engine) as seen:
        async with uow() as u:
            recent = await u.inbound.count_since(
                "sms", CUSTOMER, SINCE, identity=("sms", CUSTOMER), conversation=("sms", CUSTOMER)
            )
            conv = await u.conversations.get("sms", CUSTOMER)
            read_state, read_data = conv.state, dict(conv.data)
            if ahead:
                async with engine.connect() as other:
                    with pytest.raises(DBAPIError, match="could not obtain lock"):
                        await other.execute(
                            text(
                                "SELECT id FROM conversations WHERE address = :a FOR UPDATE NOWAIT"
                            ),
                            {"a": CUSTOMER},
                        )
            conv.state, conv.data = "idle", {}
            await u.conversations.save(conv, NOW)
            await u.commit()
    assert recent == 2
    assert (conv.channel, conv.address, conv.work_order_seq) == ("sms", CUSTOMER, 7)
    assert (read_state, read_data) == ("asking", {"asked": "address"})  # as the row holds them
    [read, *rest] = _sent(seen)
    assert "count(*)" in read
    assert ("FROM conversations" in read) == ahead
    assert ("FOR UPDATE" in read) == ahead
    # What get() read (the other transaction's try is seen here too).
    gets = [s for s in rest if "FROM conversations" in s and "NOWAIT" not in s]
    assert len(gets) == (0 if ahead else 1)
    async with uow() as u:
        again = await u.conversations.get("sms", CUSTOMER)
    assert (again.state, again.data, again.work_order_seq) == ("idle", {}, 7)  # updated


async def test_a_conversation_not_begun_and_one_saved_before_it_is_asked_for(
    uow: UowFactory, engine: AsyncEngine
) -> None:
    """A sender without a conversation gets a new one (inserted on save); one read with the
    count and saved without a get() is updated, not inserted twice (PostgreSQL, where the
    count reads it); a second get() reads."""
    await _setup(uow)
    await _conversation_begun(uow, CUSTOMER, "asking")
    both = {"identity": ("sms", STRANGER), "conversation": ("sms", STRANGER)}
    async with uow() as u:
        await u.inbound.count_since("sms", STRANGER, SINCE, **both)  # type: ignore[arg-type]
        new = await u.conversations.get("sms", STRANGER)
        assert (new.state, new.work_order_seq) == ("idle", None)
        new.state = "asking"
        await u.conversations.save(new, NOW)
        await u.commit()
    ahead = engine.dialect.name == "postgresql"
    if ahead:
        with statements(engine) as seen:
            async with uow() as u:
                await u.inbound.count_since(
                    "sms",
                    CUSTOMER,
                    SINCE,
                    identity=("sms", CUSTOMER),
                    conversation=("sms", CUSTOMER),
                )
                await u.conversations.save(Conversation("sms", CUSTOMER, state="done"), NOW)
                await u.commit()
        assert not any(s.startswith("INSERT INTO conversations") for s in seen)
    with statements(engine) as seen:
        async with uow() as u:
            assert (await u.conversations.get("sms", STRANGER)).state == "asking"
            assert (await u.conversations.get("sms", CUSTOMER)).state == (
                "done" if ahead else "asking"
            )
            await u.conversations.get("sms", CUSTOMER)
    assert sum("FROM conversations" in s for s in seen) == 3  # no count: each get() reads


def _shape(wo: WorkOrder) -> tuple[object, ...]:
    """What a customer's message reads of an open work order."""
    return (
        wo.seq,
        wo.description,
        wo.status,
        wo.priority,
        wo.skill,
        wo.customer_id,
        wo.site_id,
        wo.created_at,
        wo.source_channel,
        wo.flag,
    )


async def _open_orders_of(uow: UowFactory, customer: str) -> list[tuple[object, ...]]:
    async with uow() as u:
        return [_shape(w) for w in await u.work_orders.open_for_customer(customer)]


async def test_the_count_reads_the_customers_open_work_orders(
    uow: UowFactory, engine: AsyncEngine, demo_company: None
) -> None:
    """With `open_orders`, the count's statement brings the open work orders of the customer
    the sender is, on PostgreSQL: by their identity, else by their phone on SMS. The work
    orders' repository answers the same as its own read would, for that customer only, and
    only while nothing else has run: a work order added meanwhile is read afresh. On SQLite
    open_for_customer reads them, as without `open_orders`."""
    ahead = engine.dialect.name == "postgresql"
    async with uow() as u:
        customers = (await u.company.load()).customers
        linked, by_phone = customers[0], next(c for c in customers[1:] if c.phone)
        await u.identities.link("telegram", "4242", "customer", linked.id, NOW)
        for customer in (linked, linked, by_phone):
            wo = WorkOrder(seq=UNNUMBERED, customer_id=customer.id, description="x", created_at=NOW)
            await u.work_orders.add(wo)
        await u.commit()
    assert by_phone.phone is not None
    for channel, sender, customer_id in (
        ("telegram", "4242", linked.id),
        ("sms", by_phone.phone, by_phone.id),
    ):
        fresh = await _open_orders_of(uow, customer_id)
        with statements(engine) as seen:
            async with uow() as u:
                await u.inbound.count_since(
                    channel, sender, SINCE, identity=(channel, sender), open_orders=True
                )
                found = await u.work_orders.open_for_customer(customer_id)
        assert [_shape(w) for w in found] == fresh and fresh
        read, *rest = _sent(seen)
        assert "count(*)" in read and ("FROM work_orders" in read) == ahead
        assert len(rest) == (0 if ahead else 1)
    fresh_of_linked = await _open_orders_of(uow, linked.id)
    with statements(engine) as seen:
        async with uow() as u:
            both = {"identity": ("sms", by_phone.phone), "open_orders": True}
            await u.inbound.count_since("sms", by_phone.phone, SINCE, **both)  # type: ignore[arg-type]
            for _ in range(2):
                assert [w.seq for w in await u.work_orders.open_for_customer(linked.id)] == [
                    shape[0] for shape in fresh_of_linked
                ]
    assert len(_sent(seen)) == 3  # another customer's: read, and read again
    async with uow() as u:
        both = {"identity": ("sms", by_phone.phone), "open_orders": True}
        await u.inbound.count_since("sms", by_phone.phone, SINCE, **both)  # type: ignore[arg-type]
        wo = WorkOrder(seq=UNNUMBERED, customer_id=by_phone.id, description="y", created_at=NOW)
        await u.work_orders.add(wo)
        after = await u.work_orders.open_for_customer(by_phone.id)
    assert [w.description for w in after] == ["x", "y"]


async def test_a_stranger_and_a_staff_member_have_no_open_work_orders_to_read(
    uow: UowFactory, engine: AsyncEngine, demo_company: None
) -> None:
    await _setup(uow)
    for sender in (STRANGER, DISPATCHER):
        with statements(engine) as seen:
            async with uow() as u:
                await u.inbound.count_since(
                    "sms", sender, SINCE, identity=("sms", sender), open_orders=True
                )
                assert await u.work_orders.open_for_customer("C-00001") == []
        assert len(_sent(seen)) == 2  # the guess named nobody: the ask reads
