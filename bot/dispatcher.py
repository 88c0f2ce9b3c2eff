"""Dispatchers in chat (§8): the commands, on SMS and Telegram alike.

`dispatcher_message` is called for senders whose role is dispatcher; everyone else who tries a
dispatcher command gets `refusal()` and nothing happens (see `is_dispatcher_command`).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from bot.context import Deps, Received
from bot.customer import customer_message
from bot.dispatcher_args import (
    Command,
    find_technician,
    parse_command,
    split_number,
    split_phone,
    split_reason,
)
from bot.dispatcher_views import (
    board_view,
    queue_view,
    sla_view,
    techs_view,
    where_view,
    why_view,
    wo_view,
)
from bot.messages import Choice, Inbound, Outgoing
from bot.notify import phone_channel, publish
from bot.ports import BotUnitOfWork
from dispatch.assignment import Outcome
from dispatch.company import Technician
from dispatch.manual import approve, assign_to, bump, cancel, unassign_job
from dispatch.messaging import Identity
from dispatch.workorder import WorkOrder

HELP = (
    "Dispatcher: /board, /queue, /sla, /techs, /where T03, /wo N, /why N, "
    "/assign N T03 (or a name; add 'because ...' to override a rule), /reassign N T03, "
    "/unassign N, /bump N, /cancel N, /approve N, /note N text, /new PHONE text, /boardlink"
)
# Commands only dispatchers run. `/cancel` and `/help` are not here: customers cancel their
# own work orders and everyone has help; `/new` is a dispatcher's only with a phone number.
DISPATCHER_ONLY = frozenset(
    {
        "board",
        "queue",
        "wo",
        "why",
        "assign",
        "reassign",
        "unassign",
        "bump",
        "techs",
        "where",
        "sla",
        "note",
        "approve",
        "boardlink",
    }
)
BARE_WORDS = DISPATCHER_ONLY | {"help", "cancel", "new"}
PAGE_RE = re.compile(r"^\d{1,3}$")
Handler = Callable[["Call"], Awaitable[list[Outgoing]]]


def is_dispatcher_command(text: str) -> bool:
    """True for a command only dispatchers may run: others get `refusal()`."""
    cmd = parse_command(text)
    if cmd is None:
        return False
    if cmd.name == "new":
        return split_phone(cmd.args)[0] is not None
    return cmd.name in DISPATCHER_ONLY


def refusal() -> Outgoing:
    return Outgoing(
        text="Sorry, that command is for dispatchers only. Send /help to see what you can do."
    )


class Call:
    """One dispatcher command being handled: who, where, and the arguments."""

    def __init__(
        self,
        uow: BotUnitOfWork,
        deps: Deps,
        received: Received,
        identity: Identity,
        cmd: Command,
    ) -> None:
        self.uow = uow
        self.deps = deps
        self.received = received
        self.cmd = cmd
        self.actor = f"dispatcher:{identity.party_id}"
        self.channel = received.msg.channel

    async def work_order(self) -> tuple[WorkOrder | None, list[Outgoing]]:
        """The work order named first in the arguments, or the answer that says why not."""
        seq, _, _ = split_number(self.cmd.args)
        if seq is None:
            return None, _say(f"Which work order? For example: /{self.cmd.name} WO-1042")
        wo = await self.uow.work_orders.get(seq)
        if wo is None:
            return None, _say(f"No work order WO-{seq}. /queue lists the open ones.")
        return wo, []

    async def outcome(self, outcome: Outcome) -> list[Outgoing]:
        await publish(self.uow, self.deps, outcome.events)
        return _say(outcome.message)


def _say(text: str) -> list[Outgoing]:
    return [Outgoing(text=text, kind="dispatcher")]


async def dispatcher_message(
    uow: BotUnitOfWork, deps: Deps, received: Received, identity: Identity
) -> list[Outgoing]:
    msg = received.msg
    text = msg.choice if msg.choice and msg.choice.startswith("/") else msg.text
    cmd = parse_command(text)
    if cmd is None:
        first, _, rest = text.strip().partition(" ")
        if first.lower() in BARE_WORDS:  # SMS users often skip the slash
            cmd = Command(first.lower(), rest.strip())
    if cmd is None:
        return _say("Sorry, I didn't get that. Send /help for the dispatcher commands.")
    handler = HANDLERS.get(cmd.name)
    if handler is None:
        return _say(f"Unknown command /{cmd.name}. Send /help for the list.")
    return await handler(Call(uow, deps, received, identity, cmd))


# --- reading ------------------------------------------------------------------------------


def _page(args: str) -> int:
    return int(args) if PAGE_RE.match(args.strip()) else 1


async def _help(c: Call) -> list[Outgoing]:
    return _say(HELP)


async def _board(c: Call) -> list[Outgoing]:
    return [await board_view(c.uow, c.deps)]


async def _queue(c: Call) -> list[Outgoing]:
    return [await queue_view(c.uow, c.deps, _page(c.cmd.args))]


async def _sla(c: Call) -> list[Outgoing]:
    return [await sla_view(c.uow, c.deps, _page(c.cmd.args))]


async def _techs(c: Call) -> list[Outgoing]:
    return [await techs_view(c.uow, c.deps, _page(c.cmd.args))]


async def _wo(c: Call) -> list[Outgoing]:
    wo, refused = await c.work_order()
    return refused if wo is None else [await wo_view(c.uow, c.deps, wo)]


async def _why(c: Call) -> list[Outgoing]:
    wo, refused = await c.work_order()
    return refused if wo is None else [await why_view(c.uow, c.deps, wo)]


async def _technician(
    c: Call, query: str, retry: str, suffix: str = ""
) -> tuple[Technician | None, list[Outgoing]]:
    """The technician `query` names; else the answer: not found, or which one (buttons that
    repeat the command with the id, and `suffix` where it fits Telegram's 64 bytes)."""
    if not query:
        return None, _say(f"Which technician? For example: {retry} T03 (or a name).")
    company = await c.uow.company.load()
    match = find_technician(company, query)
    if match.technician is not None:
        return match.technician, []
    if not match.candidates:
        return None, _say(f'No technician matches "{query[:40]}". /techs lists them.')
    names = ", ".join(f"{t.id} {t.name}" for t in match.candidates)
    choices = tuple(
        Choice(f"{t.id} {t.name}", _fit(f"{retry} {t.id}", suffix), f"{retry} {t.id}{suffix}")
        for t in match.candidates
    )
    return None, [
        Outgoing(
            text=f'"{query[:40]}" could be {names}. Which one?', choices=choices, kind="dispatcher"
        )
    ]


def _fit(command: str, suffix: str) -> str:
    whole = command + suffix
    return whole if len(whole.encode()) <= 64 else command


async def _where(c: Call) -> list[Outgoing]:
    tech, refused = await _technician(c, c.cmd.args.strip(), "/where")
    return refused if tech is None else [await where_view(c.uow, c.deps, tech)]


# --- changing -----------------------------------------------------------------------------


async def _assign(c: Call) -> list[Outgoing]:
    """`/assign 1042 maria`, `/assign WO-1042 T03 because customer asked` (an override)."""
    wo, refused = await c.work_order()
    if wo is None:
        return refused
    _, _, rest = split_number(c.cmd.args)
    who, reason = split_reason(rest)
    because = f" because {reason}" if reason else ""
    tech, refused = await _technician(c, who, f"/{c.cmd.name} {wo.seq}", because)
    if tech is None:
        return refused
    outcome = await assign_to(
        c.uow, c.deps.clock, wo.seq, tech.id, actor=c.actor, channel=c.channel, override=reason
    )
    answer = await c.outcome(outcome)
    if not outcome.ok and outcome.message.endswith("Add a reason to override."):
        answer = _say(
            outcome.message.removesuffix("Add a reason to override.")
            + f"To override: /{c.cmd.name} {wo.number} {tech.id} because <reason>"
        )
    return answer


WorkOrderService = Callable[..., Awaitable[Outcome]]


def _on_work_order(service: WorkOrderService) -> Handler:
    """`/unassign N`, `/bump N`, `/approve N`: one work order, one manual service."""

    async def handler(c: Call) -> list[Outgoing]:
        wo, refused = await c.work_order()
        if wo is None:
            return refused
        return await c.outcome(
            await service(c.uow, c.deps.clock, wo.seq, actor=c.actor, channel=c.channel)
        )

    return handler


async def _cancel(c: Call) -> list[Outgoing]:
    wo, refused = await c.work_order()
    if wo is None:
        return refused
    _, _, why = split_number(c.cmd.args)
    return await c.outcome(
        await cancel(c.uow, c.deps.clock, wo.seq, actor=c.actor, channel=c.channel, why=why)
    )


async def _note(c: Call) -> list[Outgoing]:
    wo, refused = await c.work_order()
    if wo is None:
        return refused
    _, _, note = split_number(c.cmd.args)
    if not note:
        return _say(f"What should the note say? For example: /note {wo.number} gate code 4411")
    locked = await c.uow.work_orders.get(wo.seq, lock=True)
    assert locked is not None
    locked.record(c.deps.clock.now(), "note", note[:2000], actor=c.actor, channel=c.channel)
    await c.uow.work_orders.save(locked)
    return _say(f"Note added to {locked.number}.")


async def _new(c: Call) -> list[Outgoing]:
    """Log a phone call: the same intake as if the customer had texted it; the customer
    gets the confirmation (or the next question) by SMS, the dispatcher the WO number."""
    phone, text = split_phone(c.cmd.args)
    if phone is None:
        return _say("Usage: /new PHONE what the caller said, e.g. /new 512-555-0126 no heat")
    if not text:
        return _say(f"What did {phone} say? /new {phone} no heat in the office")
    msg = c.received.msg
    channel = phone_channel(c.deps)
    inbound = Inbound(
        channel="sms" if channel == "sms" else "sim",
        sender=phone,
        external_id=f"new:{msg.channel}:{msg.external_id}"[:64],
        received_at=c.deps.clock.now(),
        text=text,
    )
    identity = await c.uow.identities.find("sms", phone)
    if identity is not None and identity.role != "customer":
        return _say(f"{phone} is a {identity.role} ({identity.party_id}), not a customer.")
    replies = await customer_message(
        c.uow, c.deps, Received(msg=inbound, media=(), media_refused=False), identity
    )
    said = " ".join(r.text for r in replies)
    conv = await c.uow.conversations.get(inbound.channel, phone)
    asking = conv.work_order_seq if conv.state == "asking" else None
    if re.search(r"\bWO-\d+\b", said) is None and asking is None:
        # Intake made nothing of it: the caller is not texted a "didn't get that".
        return _say(f"Nothing logged: intake could not tell what and where from that ({said})")
    now = c.deps.clock.now()
    for reply in replies:
        await c.uow.outbox.add(inbound.channel, phone, reply.to_json(), now=now, kind=reply.kind)
    if asking is not None:
        return _say(f"Logged WO-{asking} for {phone}. The customer was asked by SMS: {said}")
    return _say(f"Logged for {phone}: {said}")


async def _boardlink(c: Call) -> list[Outgoing]:
    """A one-time link (15 minutes, single use) that logs this dispatcher into the board."""
    code = await c.uow.board.create_link(c.actor.removeprefix("dispatcher:"), c.deps.clock.now())
    url = f"{c.deps.config.public_base_url}/board/login/{code}"
    return [Outgoing(text=f"Your board link (one use, 15 minutes): {url}", link=None)]


HANDLERS: dict[str, Handler] = {
    "help": _help,
    "start": _help,
    "board": _board,
    "queue": _queue,
    "sla": _sla,
    "techs": _techs,
    "wo": _wo,
    "why": _why,
    "where": _where,
    "assign": _assign,
    "reassign": _assign,
    "unassign": _on_work_order(unassign_job),
    "bump": _on_work_order(bump),
    "cancel": _cancel,
    "approve": _on_work_order(approve),
    "note": _note,
    "new": _new,
    "boardlink": _boardlink,
}
