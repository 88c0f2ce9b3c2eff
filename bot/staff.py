"""Technicians and dispatchers in chat: answering offers now; the job flow and the
dispatcher commands grow here."""

from __future__ import annotations

import re

from bot import texts
from bot.context import Deps, Received
from bot.dispatcher import dispatcher_message
from bot.messages import Choice, Outgoing
from bot.notify import publish
from bot.ports import BotUnitOfWork
from bot.technician import technician_message
from dispatch.assignment import accept, decline
from dispatch.messaging import Identity

# `A 1042` / `D 1042 too far` by SMS (the number is required, so a late reply can't hit the
# wrong job); `accept:1042` / `decline:1042` from Telegram buttons.
ANSWER_RE = re.compile(r"^\s*(a|accept|d|decline)\s*(?:wo[-\s#]*)?(\d{1,9})\b\s*(.*)$", re.I | re.S)
BUTTON_RE = re.compile(r"^(accept|decline):(\d{1,9})$")


async def staff_message(
    uow: BotUnitOfWork, deps: Deps, received: Received, identity: Identity
) -> list[Outgoing]:
    msg = received.msg
    if identity.role == "dispatcher":
        return await dispatcher_message(uow, deps, received, identity)
    if identity.role == "technician":
        conv = await uow.conversations.get(msg.channel, msg.sender)
        if conv.state == "decline_reason" and conv.work_order_seq is not None:
            conv.state, seq, conv.work_order_seq = "idle", conv.work_order_seq, None
            await uow.conversations.save(conv, deps.clock.now())
            if msg.text.strip() and _offer_answer(msg.choice, msg.text) is None:
                await uow.assignments.note_decline_reason(seq, identity.party_id, msg.text.strip())
                return [Outgoing(text=texts.decline_reason_noted(seq))]
        answer = _offer_answer(msg.choice, msg.text)
        if answer is not None:
            return await _answer_offer(uow, deps, identity, received, *answer)
        handled = await technician_message(uow, deps, received, identity)
        if handled is not None:
            return handled
    word = msg.text.strip().split(" ")[0].lower() if msg.text.strip() else ""
    if word in ("/help", "help", "/start"):
        return [Outgoing(text=texts.STAFF_HELP[identity.role])]
    return [Outgoing(text=texts.not_understood(identity.role))]


def _offer_answer(choice: str | None, text: str) -> tuple[bool, int, str] | None:
    if choice and (m := BUTTON_RE.match(choice)):
        return m[1] == "accept", int(m[2]), ""
    if m := ANSWER_RE.match(text):
        return m[1].lower().startswith("a"), int(m[2]), m[3].strip()
    return None


async def _answer_offer(
    uow: BotUnitOfWork,
    deps: Deps,
    identity: Identity,
    received: Received,
    accepted: bool,
    seq: int,
    reason: str,
) -> list[Outgoing]:
    channel = received.msg.channel
    if accepted:
        outcome = await accept(uow, deps.clock, seq, identity.party_id, channel=channel)
    else:
        outcome = await decline(uow, deps.clock, seq, identity.party_id, reason, channel=channel)
    await publish(uow, deps, outcome.events)
    text = outcome.message
    if outcome.ok and not accepted and not reason:
        text += " " + texts.ask_decline_reason(seq)
        conv = await uow.conversations.get(channel, received.msg.sender)
        conv.state, conv.work_order_seq = "decline_reason", seq
        await uow.conversations.save(conv, deps.clock.now())
    if outcome.ok and accepted:
        go = Choice("ON MY WAY", f"step:omw:{seq}", "ON MY WAY")
        return [Outgoing(text=text, choices=(go,))]
    return [Outgoing(text=text)]
