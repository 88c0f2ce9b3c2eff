"""SMS delivery over real HTTP to the Twilio double: opt-outs, 21610, receipts; both databases."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.delivery.render import render_sms, sms_segments
from bot.messages import Choice, Outgoing
from dispatch.clock import FixedClock
from storage.messaging_repo import IdentityRepository
from storage.outbox_repo import OutboxRepository
from storage.tables import DispatcherRow, OutboxRow
from tests.doubles import TelegramDouble, TwilioDouble
from webhooks.outbox import Senders, deliver_due, record_status_callback

pytest_plugins = ["tests.doubles.fixtures"]

CUSTOMER = "+15125550177"
DANA_PHONE, DANA_CHAT = "+15125550101", 9001  # dispatcher on Telegram
RAY_PHONE = "+15125550102"  # dispatcher by SMS only


@pytest.fixture
async def dispatchers(sessions: async_sessionmaker[AsyncSession], clock: FixedClock) -> None:
    async with sessions() as session, session.begin():
        session.add(DispatcherRow(id="dana", name="Dana", phone=DANA_PHONE, telegram="dana"))
        session.add(DispatcherRow(id="ray", name="Ray", phone=RAY_PHONE, telegram=None))
        await session.flush()
        await IdentityRepository(session).link(
            "telegram", str(DANA_CHAT), "dispatcher", "dana", clock.now()
        )


async def enqueue(
    sessions: async_sessionmaker[AsyncSession], clock: FixedClock, to: str, out: Outgoing
) -> int:
    async with sessions() as session, session.begin():
        return await OutboxRepository(session).add("sms", to, out.to_json(), now=clock.now())


async def rows(sessions: async_sessionmaker[AsyncSession]) -> list[OutboxRow]:
    async with sessions() as session:
        return list(await session.scalars(select(OutboxRow).order_by(OutboxRow.id)))


async def opted_out(sessions: async_sessionmaker[AsyncSession], phone: str) -> bool:
    async with sessions() as session:
        identity = await IdentityRepository(session).find("sms", phone)
        return identity is not None and identity.opted_out


@pytest.mark.usefixtures("dispatchers")
async def test_sms_to_an_opted_out_number_is_not_attempted_and_dispatchers_are_told(
    sessions: async_sessionmaker[AsyncSession],
    senders: Senders,
    clock: FixedClock,
    telegram_double: TelegramDouble,
    twilio_double: TwilioDouble,
) -> None:
    async with sessions() as session, session.begin():
        await IdentityRepository(session).set_opted_out(CUSTOMER, True, clock.now())
    row_id = await enqueue(sessions, clock, CUSTOMER, Outgoing("Your technician is on the way"))

    await deliver_due(sessions, senders, clock)  # suppresses, enqueues the alerts
    await deliver_due(sessions, senders, clock)  # delivers the alerts

    assert twilio_double.sent_to(CUSTOMER) == []
    assert twilio_double.rejected == []
    by_id = {r.id: r for r in await rows(sessions)}
    assert by_id[row_id].status == "suppressed"
    alerts = [r for r in by_id.values() if r.kind == "alert"]
    assert sorted((r.channel, r.recipient, r.status) for r in alerts) == [
        ("sms", RAY_PHONE, "sent"),
        ("telegram", str(DANA_CHAT), "sent"),
    ]
    told = telegram_double.last_message_to(DANA_CHAT)["text"]
    assert "+1••••••0177" in told
    assert CUSTOMER not in told
    assert "opted out" in told
    [sms] = twilio_double.sent_to(RAY_PHONE)
    assert sms.body == told


@pytest.mark.usefixtures("dispatchers")
async def test_twilio_21610_on_send_opts_the_number_out_and_tells_dispatchers(
    sessions: async_sessionmaker[AsyncSession],
    senders: Senders,
    clock: FixedClock,
    telegram_double: TelegramDouble,
    twilio_double: TwilioDouble,
) -> None:
    twilio_double.opt_out(CUSTOMER)  # texted STOP to Twilio; we have not heard yet
    row_id = await enqueue(sessions, clock, CUSTOMER, Outgoing("Your invoice is ready"))

    await deliver_due(sessions, senders, clock)
    await deliver_due(sessions, senders, clock)
    second = await enqueue(sessions, clock, CUSTOMER, Outgoing("Reminder"))
    await deliver_due(sessions, senders, clock)

    assert await opted_out(sessions, CUSTOMER)
    by_id = {r.id: r for r in await rows(sessions)}
    assert by_id[row_id].status == "suppressed"
    assert "21610" in (by_id[row_id].last_error or "")
    assert by_id[second].status == "suppressed"
    assert len(twilio_double.rejected) == 1  # the second was never attempted
    assert "opted out" in telegram_double.last_message_to(DANA_CHAT)["text"]


async def test_a_rate_limit_is_retried_and_an_invalid_number_refused(
    sessions: async_sessionmaker[AsyncSession],
    senders: Senders,
    clock: FixedClock,
    twilio_double: TwilioDouble,
) -> None:
    twilio_double.fail_next(CUSTOMER, "rate_limited")
    twilio_double.fail_next("+15125550178", "invalid_number")
    busy = await enqueue(sessions, clock, CUSTOMER, Outgoing("Hello"))
    bad = await enqueue(sessions, clock, "+15125550178", Outgoing("Hello"))

    await deliver_due(sessions, senders, clock)
    clock.advance(timedelta(seconds=2))
    await deliver_due(sessions, senders, clock)

    by_id = {r.id: r for r in await rows(sessions)}
    assert (by_id[busy].status, by_id[busy].attempts) == ("sent", 2)
    assert (by_id[bad].status, by_id[bad].attempts) == ("failed", 1)
    assert "21211" in (by_id[bad].last_error or "")


async def test_status_callbacks_are_recorded_and_never_go_backwards(
    sessions: async_sessionmaker[AsyncSession],
    senders: Senders,
    clock: FixedClock,
    twilio_double: TwilioDouble,
) -> None:
    row_id = await enqueue(sessions, clock, CUSTOMER, Outgoing("Job done, thanks!"))
    await deliver_due(sessions, senders, clock)
    [sms] = twilio_double.sent_to(CUSTOMER)

    for status in ("delivered", "sent"):  # out of order, as callbacks may come
        form = twilio_double.status_callback_form(sms.sid, status)
        async with sessions() as session, session.begin():
            found = await record_status_callback(
                session, form["MessageSid"], form["MessageStatus"], None, now=clock.now()
            )
            assert found
    async with sessions() as session, session.begin():
        assert not await record_status_callback(session, "SMnope", "sent", None, now=clock.now())

    [row] = [r for r in await rows(sessions) if r.id == row_id]
    assert (row.external_id, row.delivery_status) == (sms.sid, "delivered")


async def test_undelivered_21610_receipt_opts_the_number_out(
    sessions: async_sessionmaker[AsyncSession],
    senders: Senders,
    clock: FixedClock,
    twilio_double: TwilioDouble,
) -> None:
    await enqueue(sessions, clock, CUSTOMER, Outgoing("See you at 10"))
    await deliver_due(sessions, senders, clock)
    [sms] = twilio_double.sent_to(CUSTOMER)
    form = twilio_double.status_callback_form(sms.sid, "undelivered", 21610)

    async with sessions() as session, session.begin():
        await record_status_callback(
            session, sms.sid, form["MessageStatus"], form.get("ErrorCode"), now=clock.now()
        )

    [row] = await rows(sessions)
    assert row.delivery_status == "undelivered"
    assert await opted_out(sessions, CUSTOMER)


async def test_long_offer_goes_as_two_segments_pointing_to_the_record(
    sessions: async_sessionmaker[AsyncSession],
    senders: Senders,
    clock: FixedClock,
    twilio_double: TwilioDouble,
) -> None:
    offer = Outgoing(
        "New job WO-1042 (P2 Urgent): no heat in the server room at Lakeview Dental,"
        " 1200 Barton Springs Rd, Austin. Access via the loading dock, ask for Maria at the"
        " front desk; the unit is a Carrier 50TC rooftop, last serviced in March. Bring a"
        " 40/5 MFD capacitor and the long ladder.",
        choices=(Choice("Accept", "acc:1042", "A 1042"), Choice("Decline", "dec:1042", "D 1042")),
        link="https://callout.example/wo/k3J9x",
    )
    await enqueue(sessions, clock, "+15125550150", offer)

    await deliver_due(sessions, senders, clock)

    [sms] = twilio_double.sent_to("+15125550150")
    assert sms.num_segments == 2 == sms_segments(sms.body)
    assert sms.body.startswith("New job WO-1042 (P2 Urgent): no heat in the server room")
    assert sms.body.endswith(
        "...\nReply A 1042 to accept, D 1042 to decline.\nMore: https://callout.example/wo/k3J9x"
    )


async def test_a_split_message_resumes_at_the_part_that_failed(
    sessions: async_sessionmaker[AsyncSession],
    senders: Senders,
    clock: FixedClock,
    twilio_double: TwilioDouble,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Script the double: its second send (the second part) answers 500 once.
    take_failure, calls = twilio_double._take_failure, []

    def second_send_fails(to: str | None) -> Any:
        calls.append(to)
        return "server_error" if len(calls) == 2 else take_failure(to)

    monkeypatch.setattr(twilio_double, "_take_failure", second_send_fails)
    words = " ".join(f"step{n} check the coil and the fan." for n in range(20))
    row_id = await enqueue(sessions, clock, CUSTOMER, Outgoing(words))

    await deliver_due(sessions, senders, clock)
    clock.advance(timedelta(seconds=2))
    await deliver_due(sessions, senders, clock)

    parts = render_sms(Outgoing(words))
    assert [p[:6] for p in parts] == ["(1/3) ", "(2/3) ", "(3/3) "]
    assert [s.body for s in twilio_double.sent_to(CUSTOMER)] == parts  # each part once
    [row] = [r for r in await rows(sessions) if r.id == row_id]
    assert (row.status, row.attempts) == ("sent", 2)
