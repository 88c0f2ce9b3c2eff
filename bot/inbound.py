"""The conversation core's front door: every channel's message goes through `receive`.

Store the raw payload first (a replay is acknowledged and dropped), fetch media outside any
transaction, then handle the message in one transaction with the outbox writes it causes.
Where the store commits as it runs (PostgreSQL) and there is no media to fetch, the message
is handled in the same unit of work, its transaction begun after the store. A handling the
database gives up for a concurrent transaction's sake (Contention) runs again, ATTEMPTS in
all, before the sender gets the apology.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

from bot import texts
from bot.context import Deps, Processed, Received, identity_channel
from bot.customer import customer_message
from bot.dispatcher import is_dispatcher_command, refusal
from bot.media import MediaRefused, StoredMedia, store
from bot.messages import Inbound, Outgoing
from bot.ports import BotUnitOfWork
from bot.staff import staff_message
from dispatch.clock import Clock
from dispatch.messaging import Identity
from dispatch.ports import Contention

log = logging.getLogger("callout.bot")

STOP_WORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"})
START_WORDS = frozenset({"START", "YES", "UNSTOP"})
HELP_WORDS = frozenset({"HELP", "INFO"})


UowFactory = Callable[[], BotUnitOfWork]


async def receive(
    uows: UowFactory, deps: Deps, msg: Inbound, raw: str, *, inline_replies: bool
) -> Processed:
    """Handle one inbound message. With `inline_replies` (SMS: TwiML) the replies to the sender
    are returned, otherwise they go to the outbox with the rest of the transaction."""
    now = deps.clock.now()
    received: Received | None = None  # once the message is stored and its handling begun
    replies: list[Outgoing] | None = None
    try:
        try:
            async with uows() as uow:  # alone: stored and committed at once
                fresh = await uow.inbound.store(
                    msg.channel, msg.external_id, msg.sender, raw, now, alone=True
                )
                if fresh and not msg.media and uow.inbound.stored_apart:
                    # Committed already (PostgreSQL): handled in the same unit of work, one
                    # connection from the pool a message instead of two.
                    received = Received(msg=msg, media=(), media_refused=False)
                    replies = await _handled(uow, deps, received, inline_replies)
                else:
                    await uow.commit()
        except Contention:
            if received is None:
                raise
        if received is None:
            if not fresh:
                return Processed(duplicate=True)
            received = await _fetch_media(deps, msg)
            replies = await _handled_anew(uows, deps, received, inline_replies, ATTEMPTS)
        elif replies is None:  # given up for a concurrent transaction: the tries left
            replies = await _handled_anew(uows, deps, received, inline_replies, ATTEMPTS - 1)
    except Exception as err:  # the payload is stored: log, answer politely, keep serving
        if received is None:
            raise
        log.exception("inbound message failed", extra={"channel": msg.channel})
        replies = [Outgoing(text=texts.sorry())]
        async with uows() as uow:
            await uow.inbound.mark_processed(
                msg.channel, msg.external_id, deps.clock.now(), error=repr(err)[:2000]
            )
            if not inline_replies:
                await _enqueue(uow, deps, msg, replies)
            await uow.commit()
    return Processed(duplicate=False, replies=tuple(replies))


# How many times a stored message is handled before it is answered with an apology, when
# the database gives its transaction up for a concurrent one's (Contention: two messages'
# assignments locking the same technicians and work orders in turn, under load).
ATTEMPTS = 3


async def _handled_anew(
    uows: UowFactory, deps: Deps, received: Received, inline_replies: bool, attempts: int
) -> list[Outgoing]:
    """`_handled` in a unit of work of its own; again, up to `attempts` in all, while the
    database gives the transaction up for a concurrent one's (nothing of it was kept)."""
    for left in range(attempts - 1, -1, -1):
        try:
            async with uows() as uow:
                return await _handled(uow, deps, received, inline_replies)
        except Contention:
            if not left:
                raise
            log.warning(
                "inbound message given up for a concurrent one, handled again",
                extra={"channel": received.msg.channel},
            )
    raise Contention("no attempts")  # attempts < 1


async def _handled(
    uow: BotUnitOfWork, deps: Deps, received: Received, inline_replies: bool
) -> list[Outgoing]:
    """Handle a stored message in `uow` and commit it with the outbox writes it causes and
    the message marked processed; the replies to the sender."""
    msg = received.msg
    replies = await _handle(uow, deps, received)
    if not inline_replies:
        await _enqueue(uow, deps, msg, replies)
    await uow.inbound.mark_processed(msg.channel, msg.external_id, deps.clock.now())
    await uow.commit()
    return replies


async def remember(
    uows: UowFactory, clock: Clock, channel: str, external_id: str, raw: str
) -> None:
    """Store a payload that carries nothing to act on (a Telegram edit, a poll...)."""
    now = clock.now()
    async with uows() as uow:
        if await uow.inbound.store(channel, external_id, None, raw, now):
            await uow.inbound.mark_processed(channel, external_id, now)
        await uow.commit()


async def _enqueue(uow: BotUnitOfWork, deps: Deps, msg: Inbound, replies: list[Outgoing]) -> None:
    for reply in replies:
        await uow.outbox.add(
            msg.channel,
            msg.chat_id or msg.sender,
            reply.to_json(),
            now=deps.clock.now(),
            kind=reply.kind,
        )


async def _fetch_media(deps: Deps, msg: Inbound) -> Received:
    stored: list[StoredMedia] = []
    refused = False
    source = deps.media.get(msg.channel)
    for item in msg.media:
        try:
            if source is None:
                raise MediaRefused(f"no media source for {msg.channel}")
            stored.append(store(deps.config.media_dir, await source.fetch(item)))
        except MediaRefused as why:
            log.info("media refused", extra={"channel": msg.channel, "why": str(why)})
            refused = True
    return Received(msg=msg, media=tuple(stored), media_refused=refused)


async def _handle(uow: BotUnitOfWork, deps: Deps, received: Received) -> list[Outgoing]:
    msg = received.msg
    now = deps.clock.now()
    # Read with the count: the sender's identity, looked up below; their conversation,
    # which nearly every message reads (bot.customer, bot.staff), locked from here on; and,
    # for a customer, their open work orders, which every customer's message reads first.
    recent = await uow.inbound.count_since(
        msg.channel,
        msg.sender,
        now - timedelta(minutes=1),
        identity=(identity_channel(msg.channel), msg.sender),
        conversation=(msg.channel, msg.sender),
        open_orders=True,
    )
    limit = deps.config.rate_limit_per_minute
    if recent > limit:
        return [Outgoing(text=texts.rate_limited())] if recent == limit + 1 else []
    company = await uow.company.load()
    word = msg.text.strip().upper().rstrip(".!")
    if msg.channel != "telegram":
        if word in STOP_WORDS:
            await uow.identities.set_opted_out(msg.sender, True, now)
            return [Outgoing(text=texts.stopped(company.settings.name))]
        found = await uow.identities.find("sms", msg.sender)
        if word in START_WORDS and found is not None and found.opted_out:
            await uow.identities.set_opted_out(msg.sender, False, now)
            return [Outgoing(text=texts.started(company.settings.name))]
    if word in HELP_WORDS or word == "/HELP":
        identity = await uow.identities.find(identity_channel(msg.channel), msg.sender)
        if identity is None or identity.role == "customer":
            contact = company.dispatchers[0].phone if company.dispatchers else "call our office"
            return [Outgoing(text=texts.help_text(company.settings.name, contact))]
    identity = await uow.identities.find(identity_channel(msg.channel), msg.sender)
    if msg.channel == "telegram" and msg.contact_phone is not None:
        return await _link_by_contact(uow, deps, msg, identity)
    return await route(uow, deps, received, identity)


async def route(
    uow: BotUnitOfWork, deps: Deps, received: Received, identity: Identity | None
) -> list[Outgoing]:
    is_dispatcher = identity is not None and identity.role == "dispatcher"
    if not is_dispatcher and is_dispatcher_command(received.msg.text):
        return [refusal()]
    is_technician = identity is not None and identity.role == "technician"
    # A technician who writes `/new text` is a customer for that message (§1).
    if is_dispatcher or (
        is_technician and not received.msg.text.strip().lower().startswith("/new ")
    ):
        assert identity is not None
        return await staff_message(uow, deps, received, identity)
    return await customer_message(uow, deps, received, identity)


async def _link_by_contact(
    uow: BotUnitOfWork, deps: Deps, msg: Inbound, identity: Identity | None
) -> list[Outgoing]:
    """A Telegram user shared their own contact: link them to whoever has that phone."""
    phone = msg.contact_phone
    assert phone is not None
    company = await uow.company.load()
    now = deps.clock.now()
    staff: list[tuple[str, str, str]] = [
        *(("dispatcher", d.id, d.name) for d in company.dispatchers if d.phone == phone),
        *(("technician", t.id, t.name) for t in company.technicians if t.phone == phone),
    ]
    if staff:
        role, party, name = staff[0]
        await uow.identities.link("telegram", msg.sender, role, party, now, username=msg.username)
        return [Outgoing(text=texts.linked(name, role))]
    customer = await uow.company.customer_by(phone=phone)
    if customer is not None and (identity is None or identity.role == "customer"):
        await uow.identities.link(
            "telegram", msg.sender, "customer", customer.id, now, username=msg.username
        )
        return [Outgoing(text=texts.linked(customer.name, "customer"))]
    return [Outgoing(text=texts.welcome(company.settings.name))]
