"""Stop or kill the worker mid-batch: after a restart every message arrives, none twice.

The send path is the real one (python-telegram-bot and twilio-python over loopback HTTP to
the doubles); only the moment of death is staged.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.delivery import SendResult, SmsSender, TelegramSender
from bot.messages import Outgoing
from dispatch.clock import FixedClock
from storage.db import make_engine, session_factory
from storage.outbox_repo import OutboxRepository
from storage.tables import OutboxRow
from tests.doubles import TelegramDouble, TwilioDouble
from webhooks.outbox import Senders, deliver_due, run_worker

pytest_plugins = ["tests.doubles.fixtures"]

LEASE = timedelta(seconds=60)
FIRST_CHAT = 5000
COUNT = 30
OUR_NUMBER = "+15005550006"


class Killed(BaseException):
    """The process dies here: nothing below this point runs, nothing is cleaned up."""


class DiesOnCall:
    """A real sender that kills the worker on its `nth` call, before or after the request."""

    def __init__(self, real: Any, nth: int, *, after_request: bool) -> None:
        self.real, self.nth, self.after_request, self.calls = real, nth, after_request, 0

    async def send(self, recipient: str, payload: dict[str, Any]) -> SendResult:
        self.calls += 1
        dies = self.calls == self.nth  # counted before the await: calls overlap
        if dies and not self.after_request:
            raise Killed
        result: SendResult = await self.real.send(recipient, payload)
        if dies:
            raise Killed
        return result


@pytest.fixture
async def telegram(telegram_double: TelegramDouble) -> AsyncIterator[TelegramSender]:
    async with TelegramSender(
        telegram_double.token, api_base_url=f"{telegram_double.url}/bot"
    ) as sender:
        yield sender


async def enqueue_many(
    sessions: async_sessionmaker[AsyncSession], clock: FixedClock, channel: str, to: list[str]
) -> None:
    async with sessions() as session, session.begin():
        repo = OutboxRepository(session)
        for n, recipient in enumerate(to):
            payload = Outgoing(f"message {n}").to_json()
            await repo.add(channel, recipient, payload, now=clock.now())


async def restart_until_all_sent(
    sessions: async_sessionmaker[AsyncSession], senders: Senders, clock: FixedClock
) -> None:
    """A fresh worker after the dead one's lease has passed, run until nothing is left."""
    clock.advance(LEASE + timedelta(seconds=1))
    for _ in range(10):
        await deliver_due(sessions, senders, clock, lease=LEASE)
        clock.advance(timedelta(seconds=1))
    async with sessions() as session:
        statuses = set(await session.scalars(select(OutboxRow.status)))
    assert statuses == {"sent"}


def telegram_texts(double: TelegramDouble) -> list[str]:
    return sorted(str(c.text) for c in double.calls("sendMessage") if c.ok)


EXPECTED = sorted(f"message {n}" for n in range(COUNT))


@pytest.mark.parametrize("stop_after", [1, 8, 19])
async def test_a_worker_stopped_mid_batch_loses_nothing_and_sends_nothing_twice(
    sessions: async_sessionmaker[AsyncSession],
    clock: FixedClock,
    telegram_double: TelegramDouble,
    telegram: TelegramSender,
    stop_after: int,
) -> None:
    chats = [str(FIRST_CHAT + n) for n in range(COUNT)]
    await enqueue_many(sessions, clock, "telegram", chats)
    senders: Senders = {"telegram": telegram}
    worker = asyncio.create_task(
        run_worker(sessions, senders, clock, asyncio.Event(), idle=0.01, lease=LEASE)
    )
    # Stop at whatever await the worker is in once the double has seen `stop_after` sends:
    # mid-request, mid-commit or between messages. Polling (not an Event) on purpose: the
    # double's record is the hook, and each turn of the loop lets the worker run one step.
    while len(telegram_double.calls("sendMessage")) < stop_after:  # noqa: ASYNC110
        await asyncio.sleep(0)
    worker.cancel()
    with pytest.raises(asyncio.CancelledError):
        await worker
    assert len(telegram_texts(telegram_double)) < COUNT

    await restart_until_all_sent(sessions, senders, clock)

    assert telegram_texts(telegram_double) == EXPECTED


@pytest.mark.parametrize("die_on", [1, 12])
async def test_a_worker_killed_between_claim_and_request_loses_nothing_and_sends_once(
    sessions: async_sessionmaker[AsyncSession],
    clock: FixedClock,
    telegram_double: TelegramDouble,
    telegram: TelegramSender,
    die_on: int,
) -> None:
    chats = [str(FIRST_CHAT + n) for n in range(COUNT)]
    await enqueue_many(sessions, clock, "telegram", chats)
    dying = DiesOnCall(telegram, die_on, after_request=False)

    with pytest.raises(BaseExceptionGroup) as died:
        await deliver_due(sessions, {"telegram": dying}, clock, lease=LEASE)
    assert died.group_contains(Killed)
    async with sessions() as session:
        in_doubt = await session.scalar(select(OutboxRow).where(OutboxRow.status == "sending"))
    assert in_doubt is not None  # the request was about to go: marked, never made

    await restart_until_all_sent(sessions, {"telegram": telegram}, clock)

    assert telegram_texts(telegram_double) == EXPECTED


# --- SMS: an interrupted send is looked up at Twilio before it is sent again ---------------


@dataclass
class TwilioFront:
    url: str = ""
    lists: list[str] = field(default_factory=list)  # the To of each list request


@pytest.fixture
async def twilio_with_list(twilio_double: TwilioDouble) -> AsyncIterator[TwilioFront]:
    """The Twilio double plus `GET Messages.json` (which it does not serve): a loopback
    front that answers the list from the double's records and passes the rest through."""
    front = TwilioFront()

    async def list_messages(request: web.Request) -> web.Response:
        to = request.query.get("To")
        front.lists.append(str(to))
        found = [m for m in twilio_double.resources.values() if to in (None, m["to"])]
        newest_first = list(reversed(found))
        return web.json_response(
            {
                "messages": newest_first,
                "next_page_uri": None,
                "page": 0,
                "page_size": 50,
                "uri": request.path_qs,
            }
        )

    async def pass_through(request: web.Request) -> web.Response:
        headers = {k: v for k, v in request.headers.items() if k.lower() != "host"}
        try:
            async with (
                aiohttp.ClientSession() as client,
                client.request(
                    request.method,
                    twilio_double.url + request.path_qs,
                    data=await request.read(),
                    headers=headers,
                ) as answer,
            ):
                return web.Response(
                    status=answer.status,
                    body=await answer.read(),
                    content_type=answer.content_type,
                )
        except aiohttp.ClientError:
            assert request.transport is not None
            request.transport.abort()  # the double dropped the connection: so do we
            return web.Response()

    app = web.Application()
    app.router.add_get("/2010-04-01/Accounts/{account}/Messages.json", list_messages)
    app.router.add_route("*", "/{tail:.*}", pass_through)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    front.url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    yield front
    await runner.cleanup()


@pytest.fixture
async def sms(
    twilio_double: TwilioDouble, twilio_with_list: TwilioFront
) -> AsyncIterator[SmsSender]:
    async with SmsSender(
        twilio_double.account_sid,
        twilio_double.auth_token,
        from_number=OUR_NUMBER,
        messaging_service_sid=None,
        status_callback="https://callout.example/webhooks/twilio/status",
        api_base_url=twilio_with_list.url,
    ) as sender:
        yield sender


@pytest.mark.parametrize("after_request", [False, True], ids=["before", "after"])
async def test_an_sms_whose_answer_was_lost_is_not_sent_twice(
    sessions: async_sessionmaker[AsyncSession],
    clock: FixedClock,
    twilio_double: TwilioDouble,
    sms: SmsSender,
    after_request: bool,
) -> None:
    twilio_double.clock = clock.now
    phones = [f"+1512555{n:04d}" for n in range(200, 210)]
    await enqueue_many(sessions, clock, "sms", phones)
    dying = DiesOnCall(sms, 4, after_request=after_request)

    with pytest.raises(BaseExceptionGroup):
        await deliver_due(sessions, {"sms": dying}, clock, lease=LEASE, concurrency=1)

    await restart_until_all_sent(sessions, {"sms": sms}, clock)

    assert sorted(s.body for s in twilio_double.sent) == sorted(f"message {n}" for n in range(10))
    async with sessions() as session:
        recorded = set(await session.scalars(select(OutboxRow.external_id)))
    assert recorded == {s.sid for s in twilio_double.sent}


async def test_two_workers_on_one_database_deliver_each_message_once(
    database_url: str,
    sessions: async_sessionmaker[AsyncSession],
    clock: FixedClock,
    telegram_double: TelegramDouble,
    telegram: TelegramSender,
) -> None:
    chats = [str(FIRST_CHAT + n) for n in range(COUNT)]
    await enqueue_many(sessions, clock, "telegram", chats)
    other = make_engine(database_url)  # a second pool: as another process would have

    async def drain(worker_sessions: async_sessionmaker[AsyncSession]) -> None:
        for _ in range(5):
            await deliver_due(worker_sessions, {"telegram": telegram}, clock, batch=4)

    try:
        for _ in range(3):
            await asyncio.gather(drain(sessions), drain(session_factory(other)))
            clock.advance(timedelta(seconds=1))
    finally:
        await other.dispose()

    assert telegram_texts(telegram_double) == EXPECTED


async def test_an_sms_that_got_no_answer_is_looked_up_before_it_is_sent_again(
    sessions: async_sessionmaker[AsyncSession],
    clock: FixedClock,
    twilio_double: TwilioDouble,
    twilio_with_list: TwilioFront,
    sms: SmsSender,
) -> None:
    twilio_double.clock = clock.now
    twilio_double.fail_next("+15125550300", "network")  # the connection drops, no answer
    await enqueue_many(sessions, clock, "sms", ["+15125550300"])

    await deliver_due(sessions, {"sms": sms}, clock)
    assert twilio_with_list.lists == []
    clock.advance(timedelta(seconds=2))
    await deliver_due(sessions, {"sms": sms}, clock)

    assert twilio_with_list.lists == ["+15125550300"]
    assert [s.body for s in twilio_double.sent] == ["message 0"]
    async with sessions() as session:
        [row] = await session.scalars(select(OutboxRow))
    assert (row.status, row.attempts, row.external_id) == ("sent", 2, twilio_double.sent[0].sid)
