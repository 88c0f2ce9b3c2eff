"""The outbox worker over real HTTP: Telegram retries, backoff, failover, pacing; both databases."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.messages import Choice, Outgoing
from dispatch.clock import FixedClock
from storage.outbox_repo import Fallback, OutboxRepository, OutboxStats
from storage.tables import OutboxRow
from tests.doubles import TelegramDouble, TwilioDouble
from webhooks.outbox import Senders, deliver_due, outbox_stats, run_worker

pytest_plugins = ["tests.doubles.fixtures"]

CHAT = 4242
TECH_PHONE = "+15125550142"


async def enqueue(
    sessions: async_sessionmaker[AsyncSession],
    clock: FixedClock,
    channel: str,
    recipient: str,
    out: Outgoing,
    fallback: Fallback | None = None,
) -> int:
    async with sessions() as session, session.begin():
        return await OutboxRepository(session).add(
            channel, recipient, out.to_json(), now=clock.now(), kind=out.kind, fallback=fallback
        )


async def row(sessions: async_sessionmaker[AsyncSession], row_id: int) -> OutboxRow:
    async with sessions() as session:
        found = await session.get(OutboxRow, row_id)
        assert found is not None
        return found


async def test_offer_reaches_the_chat_with_its_buttons(
    sessions: async_sessionmaker[AsyncSession],
    senders: Senders,
    clock: FixedClock,
    telegram_double: TelegramDouble,
) -> None:
    offer = Outgoing(
        "WO-1042 P2 no heat at 12 Oak St, 10:30",
        choices=(Choice("Accept", "acc:1042", "A 1042"), Choice("Decline", "dec:1042", "D 1042")),
    )
    row_id = await enqueue(sessions, clock, "telegram", str(CHAT), offer)

    assert await deliver_due(sessions, senders, clock) == 1

    message = telegram_double.last_message_to(CHAT)
    assert message["text"] == "WO-1042 P2 no heat at 12 Oak St, 10:30"
    buttons = message["reply_markup"]["inline_keyboard"]
    assert [[b["callback_data"] for b in line] for line in buttons] == [["acc:1042", "dec:1042"]]
    sent = await row(sessions, row_id)
    assert (sent.status, sent.attempts, sent.external_id) == ("sent", 1, f"{CHAT}:1")


async def test_flood_control_waits_exactly_as_long_as_telegram_asks(
    sessions: async_sessionmaker[AsyncSession],
    senders: Senders,
    clock: FixedClock,
    telegram_double: TelegramDouble,
) -> None:
    telegram_double.fail_next(CHAT, "retry_after", retry_after=17)
    row_id = await enqueue(sessions, clock, "telegram", str(CHAT), Outgoing("On my way?"))
    start = clock.now()

    await deliver_due(sessions, senders, clock)

    waiting = await row(sessions, row_id)
    assert (waiting.status, waiting.attempts) == ("pending", 1)
    assert waiting.due_at == start + timedelta(seconds=17)
    assert "retry" in (waiting.last_error or "").lower()
    clock.advance(timedelta(seconds=16))
    assert await deliver_due(sessions, senders, clock) == 0
    clock.advance(timedelta(seconds=1))
    assert await deliver_due(sessions, senders, clock) == 1
    assert (await row(sessions, row_id)).status == "sent"
    assert [m["text"] for m in telegram_double.messages_to(CHAT)] == ["On my way?"]


async def test_server_errors_back_off_2_4_8_seconds_then_deliver(
    sessions: async_sessionmaker[AsyncSession],
    senders: Senders,
    clock: FixedClock,
    telegram_double: TelegramDouble,
) -> None:
    telegram_double.fail_next(CHAT, "server_error", status=500)
    telegram_double.fail_next(CHAT, "server_error", status=502)
    telegram_double.fail_next(CHAT, "network")
    row_id = await enqueue(sessions, clock, "telegram", str(CHAT), Outgoing("Parts arrived"))

    waits = []
    for _ in range(3):
        before = clock.now()
        await deliver_due(sessions, senders, clock)
        pending = await row(sessions, row_id)
        assert pending.status == "pending"
        waits.append(int((pending.due_at - before).total_seconds()))
        clock.current = pending.due_at
    await deliver_due(sessions, senders, clock)

    assert waits == [2, 4, 8]
    delivered = await row(sessions, row_id)
    assert (delivered.status, delivered.attempts) == ("sent", 4)
    assert [m["text"] for m in telegram_double.messages_to(CHAT)] == ["Parts arrived"]


async def test_blocked_bot_fails_over_to_sms_in_the_same_pass(
    sessions: async_sessionmaker[AsyncSession],
    senders: Senders,
    clock: FixedClock,
    telegram_double: TelegramDouble,
    twilio_double: TwilioDouble,
) -> None:
    telegram_double.block(CHAT)
    offer = Outgoing("New job WO-1042: no heat", choices=(Choice("Accept", "acc:1042", "A 1042"),))
    row_id = await enqueue(
        sessions, clock, "telegram", str(CHAT), offer, fallback=Fallback("sms", TECH_PHONE)
    )

    await deliver_due(sessions, senders, clock)  # Telegram refuses; the SMS row is enqueued
    await deliver_due(sessions, senders, clock)

    original = await row(sessions, row_id)
    assert original.status == "failed_over"
    assert "blocked" in (original.last_error or "")
    [sms] = twilio_double.sent_to(TECH_PHONE)
    assert sms.body == "New job WO-1042: no heat\nReply A 1042 to accept."
    assert sms.status_callback == "https://callout.example/webhooks/twilio/status"


async def test_network_failure_after_all_retries_fails_over(
    sessions: async_sessionmaker[AsyncSession],
    senders: Senders,
    clock: FixedClock,
    telegram_double: TelegramDouble,
    twilio_double: TwilioDouble,
) -> None:
    telegram_double.fail_next(CHAT, "network", times=20)
    row_id = await enqueue(
        sessions, clock, "telegram", str(CHAT), Outgoing("Alert"), Fallback("sms", TECH_PHONE)
    )

    for _ in range(12):
        await deliver_due(sessions, senders, clock)
        clock.advance(timedelta(seconds=300))

    original = await row(sessions, row_id)
    assert (original.status, original.attempts) == ("failed_over", 8)
    assert [s.body for s in twilio_double.sent_to(TECH_PHONE)] == ["Alert"]


async def test_chat_not_found_without_fallback_fails_for_good(
    sessions: async_sessionmaker[AsyncSession],
    senders: Senders,
    clock: FixedClock,
    telegram_double: TelegramDouble,
) -> None:
    telegram_double.fail_next(CHAT, "chat_not_found")
    row_id = await enqueue(sessions, clock, "telegram", str(CHAT), Outgoing("Hello"))

    await deliver_due(sessions, senders, clock)
    clock.advance(timedelta(minutes=10))
    await deliver_due(sessions, senders, clock)

    failed = await row(sessions, row_id)
    assert (failed.status, failed.attempts) == ("failed", 1)
    assert "chat not found" in (failed.last_error or "").lower()


async def test_one_chat_gets_at_most_one_message_a_second_in_order(
    sessions: async_sessionmaker[AsyncSession],
    senders: Senders,
    clock: FixedClock,
    telegram_double: TelegramDouble,
) -> None:
    for n in range(3):
        await enqueue(sessions, clock, "telegram", str(CHAT), Outgoing(f"update {n}"))
    await enqueue(sessions, clock, "telegram", "777", Outgoing("other chat"))

    first = await deliver_due(sessions, senders, clock)
    again = await deliver_due(sessions, senders, clock)
    assert (first, again) == (2, 0)
    assert [m["text"] for m in telegram_double.messages_to(CHAT)] == ["update 0"]
    clock.advance(timedelta(milliseconds=999))
    assert await deliver_due(sessions, senders, clock) == 0
    clock.advance(timedelta(milliseconds=1))
    assert await deliver_due(sessions, senders, clock) == 1
    clock.advance(timedelta(seconds=1))
    assert await deliver_due(sessions, senders, clock) == 1
    texts = [m["text"] for m in telegram_double.messages_to(CHAT)]
    assert texts == ["update 0", "update 1", "update 2"]


async def test_no_more_than_25_telegram_messages_go_in_one_second(
    sessions: async_sessionmaker[AsyncSession],
    senders: Senders,
    clock: FixedClock,
    telegram_double: TelegramDouble,
) -> None:
    for chat in range(1000, 1030):
        await enqueue(sessions, clock, "telegram", str(chat), Outgoing("Storm warning"))

    assert await deliver_due(sessions, senders, clock) == 25
    assert await deliver_due(sessions, senders, clock) == 0
    clock.advance(timedelta(seconds=1))
    assert await deliver_due(sessions, senders, clock) == 5
    assert len(telegram_double.calls("sendMessage")) == 30


async def test_worker_loop_delivers_and_reports_depth_until_stopped(
    sessions: async_sessionmaker[AsyncSession],
    senders: Senders,
    clock: FixedClock,
    telegram_double: TelegramDouble,
) -> None:
    await enqueue(sessions, clock, "telegram", str(CHAT), Outgoing("one"))
    await enqueue(sessions, clock, "sim", "+15125550100", Outgoing("two"))
    clock.advance(timedelta(seconds=30))
    seen: list[OutboxStats] = []
    stop = asyncio.Event()

    def on_stats(stats: OutboxStats) -> None:
        seen.append(stats)
        if stats.depth == 0:
            stop.set()

    await asyncio.wait_for(
        run_worker(sessions, senders, clock, stop, idle=0.01, on_stats=on_stats), 10
    )

    assert seen[-1] == OutboxStats(0, 0.0)
    async with sessions() as session:
        rows = await session.execute(select(OutboxRow.channel, OutboxRow.delivery_status))
        # The simulator knows at once; Telegram has no receipts.
        assert dict(rows.all()) == {"sim": "delivered", "telegram": None}
        assert await outbox_stats(session, clock) == OutboxStats(0, 0.0)


async def test_stats_count_waiting_messages_and_the_oldest_age(
    sessions: async_sessionmaker[AsyncSession], clock: FixedClock
) -> None:
    await enqueue(sessions, clock, "sms", TECH_PHONE, Outgoing("a"))
    clock.advance(timedelta(seconds=90))
    await enqueue(sessions, clock, "sms", TECH_PHONE, Outgoing("b"))
    clock.advance(timedelta(seconds=10))

    async with sessions() as session:
        assert await outbox_stats(session, clock) == OutboxStats(2, 100.0)


async def test_a_photo_goes_with_its_caption(
    sessions: async_sessionmaker[AsyncSession],
    senders: Senders,
    clock: FixedClock,
    telegram_double: TelegramDouble,
) -> None:
    out = Outgoing("Before photo for WO-1042", photo="https://callout.example/media/7.jpg")
    await enqueue(sessions, clock, "telegram", str(CHAT), out)

    await deliver_due(sessions, senders, clock)

    message = telegram_double.last_message_to(CHAT)
    assert message["caption"] == "Before photo for WO-1042"
    assert message["photo"]
