"""The outbox worker: claim due messages, send them, record what happened.

Crash safety, step by step. (1) A claim commits `claimed` with a lease before anything is
sent; a worker that dies holding it only delays the message until the lease passes.
(2) Just before the request, `sending` commits: a row found in `sending` after its lease is
*in doubt*, as is an SMS whose request got no answer (timeout, dropped connection). SMS
asks Twilio whether it went before sending again; Telegram (which cannot be asked) sends
again, so its only duplicate left is a real crash between the API's answer and our commit.
(3) A stop (task cancelled, SIGTERM) never interrupts a request in flight: the request and
the commit of its outcome finish first, then the stop goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.delivery.pacing import DEFAULT_PACES, Candidate, Pace, Plan, plan
from bot.delivery.result import (
    MAX_ATTEMPTS,
    Reconciler,
    Refused,
    RetryLater,
    Sender,
    SendResult,
    Sent,
    backoff,
)
from bot.delivery.sms import PARTS_SENT_KEY
from dispatch.clock import Clock
from storage.messaging_repo import IdentityRepository
from storage.outbox_repo import (
    HELD,
    IN_DOUBT_KEY,
    OutboxMessage,
    OutboxRepository,
    OutboxStats,
)
from storage.tables import OutboxRow
from webhooks.outbox.outcomes import fail_over, tell_dispatchers_opted_out
from webhooks.outbox.status import record_status_callback as record_status_callback

log = logging.getLogger(__name__)

Sessions = async_sessionmaker[AsyncSession]
Senders = Mapping[str, Sender]
StatsSink = Callable[[OutboxStats], None]
T = TypeVar("T")

OPTED_OUT = "not sent: the number opted out of SMS (STOP)"


async def deliver_due(
    sessions: Sessions,
    senders: Senders,
    clock: Clock,
    *,
    batch: int = 50,
    lease: timedelta = timedelta(seconds=60),
    concurrency: int = 8,
    paces: Mapping[str, Pace] = DEFAULT_PACES,
) -> int:
    """One pass: claim what is due and deliver it. Returns how many messages were handled."""
    claimed, settled = await _claim(sessions, clock, batch, lease, paces)
    if not claimed:
        return settled
    gate = asyncio.Semaphore(concurrency)

    async def one(message: OutboxMessage) -> None:
        async with gate:
            await _deliver(sessions, senders, clock, message)

    async with asyncio.TaskGroup() as group:
        for message in claimed:
            group.create_task(one(message))
    return settled + len(claimed)


async def _claim(
    sessions: Sessions, clock: Clock, batch: int, lease: timedelta, paces: Mapping[str, Pace]
) -> tuple[list[OutboxMessage], int]:
    """Claim what may go now (committed before any send); returns it and how many messages
    were settled without sending (opted-out numbers)."""
    now = clock.now()
    async with sessions() as session, session.begin():
        repo = OutboxRepository(session)
        rows = await repo.lock_due(now, batch * 2)
        sendable = await _drop_opted_out(repo, rows, now)
        decided = await _pace(repo, sendable, now, batch, paces)
        by_id = {r.id: r for r in sendable}
        for row_id, due_at in decided.later.items():
            if by_id[row_id].status not in HELD:  # a dead worker's row stays due as it is
                by_id[row_id].due_at = due_at
        claimed = [repo.claim(by_id[i], now + lease) for i in decided.send]
    return claimed, len(rows) - len(sendable)


async def _drop_opted_out(
    repo: OutboxRepository, rows: list[OutboxRow], now: datetime
) -> list[OutboxRow]:
    """End SMS to opted-out numbers without an attempt; the rest may be sent."""
    opted = await repo.opted_out(r.recipient for r in rows if r.channel == "sms")
    sendable = []
    for row in rows:
        if row.channel == "sms" and row.recipient in opted:
            message = repo.claim(row, now)  # held just long enough to end it here
            await _not_sendable(repo, message, now, OPTED_OUT, opted_out=True)
        else:
            sendable.append(row)
    return sendable


async def _pace(
    repo: OutboxRepository,
    rows: list[OutboxRow],
    now: datetime,
    batch: int,
    paces: Mapping[str, Pace],
) -> Plan:
    last_sent: dict[tuple[str, str], datetime] = {}
    active: dict[str, int] = {}
    for channel in sorted({r.channel for r in rows}):
        pace = paces.get(channel, DEFAULT_PACES["sim"])
        recipients = [r.recipient for r in rows if r.channel == channel]
        latest = await repo.last_activity(channel, recipients, now, pace.gap)
        last_sent.update({(channel, recipient): at for recipient, at in latest.items()})
        if pace.per_second is not None:
            active[channel] = await repo.count_active(channel, now, timedelta(seconds=1))
    candidates = [Candidate(r.id, r.channel, r.recipient) for r in rows]
    return plan(candidates, now, limit=batch, last_sent=last_sent, active=active, paces=paces)


async def _deliver(
    sessions: Sessions, senders: Senders, clock: Clock, message: OutboxMessage
) -> None:
    sender = senders.get(message.channel)
    if sender is None:
        await _settle(sessions, clock, message, Refused(f"no sender for {message.channel}"))
        return
    started = clock.now()
    async with sessions() as session, session.begin():
        if not await OutboxRepository(session).begin_attempt(message, started):
            log.warning("outbox %s: claim lost before sending", message.id)
            return
    await _finish_even_if_cancelled(_send_and_record(sessions, sender, clock, message, started))


async def _send_and_record(
    sessions: Sessions, sender: Sender, clock: Clock, message: OutboxMessage, started: datetime
) -> None:
    result: SendResult | None = None
    doubt: datetime | None = None  # still unsure whether an earlier attempt went
    if message.in_doubt and isinstance(sender, Reconciler):
        result = await _reconcile(sessions, sender, message)
        if isinstance(result, RetryLater):
            doubt = message.last_attempt
    elif message.in_doubt:
        log.warning("outbox %s: an earlier attempt may have gone; sending again", message.id)
    if result is None:
        try:
            result = await sender.send(message.recipient, message.payload)
        except Exception as exc:  # a bug in a sender must not stop the others
            log.exception("outbox %s: sender failed", message.id)
            result = RetryLater(f"{type(exc).__name__}: {exc}")
        if isinstance(result, RetryLater) and result.maybe_sent:
            doubt = started
    await _settle(sessions, clock, message, result, doubt)


async def _reconcile(
    sessions: Sessions, sender: Reconciler, message: OutboxMessage
) -> SendResult | None:
    """Sent when the channel has the message already, None when it does not (send it)."""
    since = message.last_attempt
    if since is None:
        return None
    async with sessions() as session:
        known = await OutboxRepository(session).known_external_ids(
            message.channel, message.recipient
        )
    try:
        sid = await sender.find_sent(message.recipient, message.payload, since, known)
    except Exception as exc:
        # Not knowing whether it went, wait rather than risk sending twice.
        return RetryLater(f"could not check an interrupted send: {type(exc).__name__}: {exc}")
    return None if sid is None else Sent(sid)


async def _settle(
    sessions: Sessions,
    clock: Clock,
    message: OutboxMessage,
    result: SendResult,
    doubt: datetime | None = None,
) -> None:
    now = clock.now()
    async with sessions() as session, session.begin():
        repo = OutboxRepository(session)
        if isinstance(result, Sent):
            done = await repo.record_sent(message, now, result.external_id, result.delivery_status)
        elif isinstance(result, RetryLater) and message.attempts + 1 < MAX_ATTEMPTS:
            delay = result.delay if result.delay is not None else backoff(message.attempts + 1)
            payload = _retry_payload(message.payload, result, doubt)
            done = await repo.reschedule(message, now + delay, result.error, payload)
        else:
            error = result.error
            opted_out = isinstance(result, Refused) and result.opted_out
            if opted_out and message.channel == "sms":
                await IdentityRepository(session).set_opted_out(message.recipient, True, now)
            done = await _not_sendable(repo, message, now, error, opted_out=opted_out)
        if not done:
            log.warning("outbox %s: claim lost before recording %s", message.id, result)


def _retry_payload(
    payload: dict[str, Any], result: RetryLater, doubt: datetime | None
) -> dict[str, Any]:
    """The payload for the next attempt: parts already sent, and any attempt still in doubt."""
    retry = {k: v for k, v in payload.items() if k != IN_DOUBT_KEY}
    if result.parts_sent:
        retry[PARTS_SENT_KEY] = int(retry.get(PARTS_SENT_KEY, 0)) + result.parts_sent
    if doubt is not None:
        retry[IN_DOUBT_KEY] = doubt.isoformat()
    return retry


async def _not_sendable(
    repo: OutboxRepository,
    message: OutboxMessage,
    now: datetime,
    error: str,
    *,
    opted_out: bool,
) -> bool:
    """Fail over when there is a fallback, else fail (or suppress, telling dispatchers)."""
    if message.fallback is not None:
        await fail_over(
            repo,
            message.fallback,
            message.payload,
            kind=message.kind,
            work_order_id=message.work_order_id,
            now=now,
        )
        return await repo.finish(message, "failed_over", error)
    if opted_out:
        await tell_dispatchers_opted_out(
            repo, message.recipient, kind=message.kind, work_order_id=message.work_order_id, now=now
        )
        return await repo.finish(message, "suppressed", error)
    return await repo.finish(message, "failed", error)


async def _finish_even_if_cancelled(work: Awaitable[T]) -> T:
    """Run `work` to the end even if we are cancelled meanwhile; then pass the cancel on."""
    task = asyncio.ensure_future(work)
    cancelled = False
    while True:
        try:
            result = await asyncio.shield(task)
            break
        except asyncio.CancelledError:
            if task.done():
                raise
            cancelled = True
    if cancelled:
        raise asyncio.CancelledError
    return result


async def outbox_stats(session: AsyncSession, clock: Clock) -> OutboxStats:
    return await OutboxRepository(session).stats(clock.now())


async def run_worker(
    sessions: Sessions,
    senders: Senders,
    clock: Clock,
    stop: asyncio.Event,
    *,
    idle: float = 0.5,
    on_stats: StatsSink | None = None,
    batch: int = 50,
    lease: timedelta = timedelta(seconds=60),
) -> None:
    """Deliver until `stop` is set: a pass right after a busy one, a short wait after an
    idle one. Deadlines are data on the rows; this is only the poll."""
    while not stop.is_set():
        handled = 0
        try:
            handled = await deliver_due(sessions, senders, clock, batch=batch, lease=lease)
            if on_stats is not None:
                async with sessions() as session:
                    on_stats(await outbox_stats(session, clock))
        except Exception:  # the database may be away for a moment; keep polling
            log.exception("outbox pass failed")
        if handled == 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), idle)
