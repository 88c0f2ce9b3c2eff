"""The customer's sign-off in the conversation: the summary with a per-job code and a link to
the signature page; `YES 4821` or Telegram's Confirm signs; `NO ...` reopens and alerts."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from bot import texts
from bot.context import Deps, Received
from bot.messages import Choice, Outgoing
from bot.notify import to_customer, to_dispatchers
from bot.ports import BotUnitOfWork
from dispatch.company import Customer
from dispatch.ports import OPEN_LIMIT
from dispatch.signoff import (
    CodeNeeded,
    NotAReply,
    Reopen,
    SignedOff,
    SignOff,
    WrongCode,
    apply_reopen,
    read_reply,
    sign_off,
)
from dispatch.workorder import Status, WorkOrder

LINK_TTL = timedelta(days=7)
INVOICE_LINK_TTL = timedelta(days=90)  # long enough to pay it and file it


async def ask_customer_to_sign(uow: BotUnitOfWork, deps: Deps, wo: WorkOrder, note: str) -> None:
    now = deps.clock.now()
    token, code = await uow.billing.create_signoff_link(wo.seq, now, LINK_TTL)
    parts = await uow.billing.parts(wo.seq)
    entries = await uow.billing.time_entries(wo.seq)
    minutes = sum(
        (e.ended_at - e.started_at).total_seconds() / 60
        for e in entries
        if e.kind == "work" and e.ended_at is not None
    )
    part_text = ", ".join(f"{_qty(p.qty)}x {p.name}" for p in parts) or "none"
    link = f"{deps.config.public_base_url}/sign/{token}"
    summary = texts.signoff_request(wo.number, note, part_text, int(minutes), code)
    await to_customer(
        uow,
        deps,
        wo,
        Outgoing(
            text=summary,
            link=link,
            kind="signoff",
            choices=(Choice("Confirm", f"signoff:{wo.seq}", f"YES {code}"),),
            extra={"seq": wo.seq},
        ),
    )


def _qty(qty: Decimal) -> str:
    return str(int(qty)) if qty == int(qty) else str(qty)


async def customer_signoff(
    uow: BotUnitOfWork,
    deps: Deps,
    received: Received,
    customer: Customer,
    open_orders: list[WorkOrder] | None = None,
) -> list[Outgoing] | None:
    """Handle a reply about a completed job waiting for sign-off; None if it isn't one.
    `open_orders`, the customer's open work orders when the caller has them, saves a query
    (unless the list is full: open_for_customer stops at OPEN_LIMIT)."""
    msg = received.msg
    if open_orders is not None and len(open_orders) < OPEN_LIMIT:
        waiting = [wo for wo in open_orders if wo.status is Status.COMPLETED]
    else:
        waiting = await uow.work_orders.open_for_customer(customer.id, only=(Status.COMPLETED,))
    if not waiting:
        return None
    wo = await uow.work_orders.get(waiting[-1].seq, lock=True)
    assert wo is not None
    now = deps.clock.now()
    actor = f"customer:{customer.id}"
    if msg.choice == f"signoff:{wo.seq}":
        return await _signed(
            uow, deps, wo, SignOff(at=now, channel=msg.channel, method="button", signer=actor)
        )
    code = await uow.billing.live_signoff_code(wo.seq, now)
    if code is None:
        return None
    reply = read_reply(msg.text, code)
    if isinstance(reply, NotAReply):
        return None
    if isinstance(reply, CodeNeeded):
        return [Outgoing(text=texts.code_needed(wo.number))]
    if isinstance(reply, WrongCode):
        await uow.billing.count_wrong_code(wo.seq, now)
        return [Outgoing(text=texts.wrong_code(wo.number))]
    if isinstance(reply, Reopen):
        apply_reopen(wo, reply.words, now, actor=actor, channel=msg.channel)
        await uow.work_orders.save(wo)
        company = await uow.company.load()
        await to_dispatchers(
            uow,
            deps,
            company,
            Outgoing(text=texts.reopened(wo.number, reply.words), kind="alert"),
            wo,
        )
        return [Outgoing(text=texts.reopened_to_customer(wo.number))]
    assert isinstance(reply, SignedOff)
    return await _signed(
        uow, deps, wo, SignOff(at=now, channel=msg.channel, method="code", signer=actor)
    )


async def _signed(
    uow: BotUnitOfWork, deps: Deps, wo: WorkOrder, signoff: SignOff
) -> list[Outgoing]:
    company = await uow.company.load()
    await sign_off(wo, signoff, company.settings, uow.billing, uow.work_orders)
    return [await invoice_message(uow, deps, wo)]


async def invoice_message(uow: BotUnitOfWork, deps: Deps, wo: WorkOrder) -> Outgoing:
    """Thanks, the invoice number and total, and a link to the invoice (PDF) that expires."""
    invoice = await uow.billing.invoice_of(wo.seq)
    assert invoice is not None, f"{wo.number} is signed off but has no invoice"
    token = await uow.billing.create_invoice_link(
        invoice.number, deps.clock.now(), INVOICE_LINK_TTL
    )
    total = f"{invoice.total:.2f} {invoice.currency}"
    return Outgoing(
        text=texts.signed(wo.number, invoice.number, total),
        link=f"{deps.config.public_base_url}/invoice/{token}",
        kind="invoice",
    )


async def announce_web_signoff(uow: BotUnitOfWork, deps: Deps, wo: WorkOrder) -> None:
    """Signed on the signature page: the customer gets the same message as in chat."""
    await to_customer(uow, deps, wo, await invoice_message(uow, deps, wo))
