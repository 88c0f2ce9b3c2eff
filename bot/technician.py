"""The technician's side: the job step by step (buttons on Telegram, keywords by SMS),
photos, parts, notes, time corrections, /jobs, /next, /off, /on."""

from __future__ import annotations

import re
from decimal import Decimal
from zoneinfo import ZoneInfo

from rapidfuzz import fuzz, process

from bot import texts
from bot.context import Deps, Received, attach_media
from bot.lone_worker import answered, pending
from bot.messages import Choice, Outgoing
from bot.notify import publish, to_customer, to_dispatchers
from bot.ports import BotUnitOfWork
from bot.signoff import ask_customer_to_sign
from dispatch.clock import local_time
from dispatch.jobflow import Step, arrived, ask_help, current_job, done, on_my_way, pause, start
from dispatch.messaging import Conversation, Identity
from dispatch.replan import report_off
from dispatch.workorder import Status

STEPS = {
    "omw": "on my way",
    "arrived": "arrived",
    "start": "start",
    "pause": "pause",
    "help": "help",
    "done": "done",
}
KEYWORDS = {
    "on my way": "omw",
    "omw": "omw",
    "otw": "omw",
    "arrived": "arrived",
    "here": "arrived",
    "start": "start",
    "pause": "pause",
    "help": "help",
    "done": "done",
    "finished": "done",
}
BUTTON_RE = re.compile(r"^step:(omw|arrived|start|pause|help|done):(\d{1,9})$")
PART_RE = re.compile(r"^\s*part\s+(.+?)(?:\s*(?:x|×|\*)\s*(\d{1,3})|\s+(\d{1,3}))?\s*$", re.I)
TIME_RE = re.compile(
    r"^\s*time\s+(?:(\d{1,2})\s*h\s*(\d{1,2})?\s*m?|(\d{1,3})\s*m(?:in)?|(\d{1,2}):(\d{2}))\s*$",
    re.I,
)
NEXT_BUTTONS = {
    Status.ASSIGNED: ("omw",),
    Status.EN_ROUTE: ("arrived",),
    Status.ON_SITE: ("start", "help"),
    Status.WORKING: ("pause", "help", "done"),
    Status.ON_HOLD: ("start", "help", "done"),
}


async def technician_message(
    uow: BotUnitOfWork, deps: Deps, received: Received, identity: Identity
) -> list[Outgoing] | None:
    """The job flow; None when the message is not about it (the caller answers)."""
    msg = received.msg
    tech = identity.party_id
    conv = await uow.conversations.get(msg.channel, msg.sender)
    if conv.state == "awaiting_location" and msg.location is not None:
        return await _run(
            uow,
            deps,
            tech,
            "arrived",
            conv.work_order_seq,
            msg.channel,
            conv,
            location=msg.location,
        )
    if conv.state == "closing_note" and msg.text.strip() and not msg.text.startswith("/"):
        return await _finish(uow, deps, tech, conv, msg.text.strip(), msg.channel)
    if received.media:
        return await _photos(uow, deps, tech, received)
    if msg.choice and (m := BUTTON_RE.match(msg.choice)):
        return await _run(uow, deps, tech, m[1], int(m[2]), msg.channel, conv)
    text = msg.text.strip()
    low = text.lower()
    if (msg.choice or "").startswith("lone:ok:") or low in ("ok", "all ok", "im ok", "i'm ok"):
        job = await current_job(uow, tech)
        wo = None if job is None else await uow.work_orders.get(job.seq, lock=True)
        if wo is not None and pending(wo):
            return [await answered(uow, deps, wo, tech)]
    if (m := PART_RE.match(text)) is not None:
        return [await _part(uow, deps, tech, m[1], int(m[2] or m[3] or 1))]
    if (m := TIME_RE.match(text)) is not None:
        minutes = _minutes(m)
        return [await _time(uow, deps, tech, minutes)]
    if low.startswith("note "):
        return [await _note(uow, deps, tech, text[5:].strip(), msg.channel)]
    if low in ("/help", "help?", "?"):
        return [await _help(uow, tech)]
    if low in ("/jobs", "jobs"):
        return [await _jobs(uow, deps, tech)]
    if low in ("/next", "next"):
        return [await _next(uow, tech)]
    if low in ("/off", "off"):
        events = await report_off(uow, deps.clock, tech, actor=f"technician:{tech}")
        await publish(uow, deps, events)
        return [
            Outgoing(text="You're off: your remaining jobs go back to dispatch. /on when back.")
        ]
    if low in ("/on", "on"):
        await uow.assignments.set_available(tech, True)
        return [Outgoing(text="You're available again. New offers will reach you here.")]
    step = _keyword(low)
    if step is not None:
        words = text.split(maxsplit=1)
        extra = words[1] if step == "help" and len(words) > 1 else ""
        return await _run(uow, deps, tech, step, None, msg.channel, conv, extra=extra)
    return None


def _minutes(m: re.Match[str]) -> int:
    if m[1] is not None:
        return int(m[1]) * 60 + int(m[2] or 0)
    if m[3] is not None:
        return int(m[3])
    return int(m[4]) * 60 + int(m[5])


def _keyword(low: str) -> str | None:
    """Case and small typos forgiven: `arived`, `on my wya`, `DONE!`."""
    cleaned = re.sub(r"[^a-z ]", "", low).strip()
    if not cleaned:
        return None
    if cleaned in KEYWORDS:
        return KEYWORDS[cleaned]
    head = " ".join(cleaned.split()[:3])
    found = process.extractOne(head, list(KEYWORDS), scorer=fuzz.ratio, score_cutoff=80)
    if found is None and cleaned.split()[0] == "help":
        return "help"
    return KEYWORDS[found[0]] if found else None


async def _run(
    uow: BotUnitOfWork,
    deps: Deps,
    tech: str,
    step: str,
    seq: int | None,
    channel: str,
    conv: Conversation,
    *,
    location: tuple[float, float] | None = None,
    extra: str = "",
) -> list[Outgoing]:
    clock = deps.clock
    if step == "arrived" and channel == "telegram" and location is None:
        job = await current_job(uow, tech) if seq is None else await uow.work_orders.get(seq)
        if job is None or job.technician_id != tech:
            return [Outgoing(text="You have no job to check in to. /jobs shows your plan.")]
        conv.state, conv.work_order_seq = "awaiting_location", job.seq
        await uow.conversations.save(conv, clock.now())
        return [Outgoing(text=f"{job.number}: share your location to check in.", ask_location=True)]
    if step == "done":
        job = await current_job(uow, tech) if seq is None else await uow.work_orders.get(seq)
        if (
            job is None
            or job.technician_id != tech
            or job.status not in (Status.WORKING, Status.ON_SITE, Status.ON_HOLD)
        ):
            return [Outgoing(text="You have no job in progress to finish.")]
        conv.state, conv.work_order_seq = "closing_note", job.seq
        await uow.conversations.save(conv, clock.now())
        return [
            Outgoing(text=f"{job.number}: what did you do? One line for the customer's record.")
        ]
    if step == "omw":
        result = await on_my_way(uow, clock, tech, seq, channel=channel)
    elif step == "arrived":
        result = await arrived(uow, clock, tech, seq, channel=channel, location=location)
        conv.state, conv.work_order_seq = "idle", None
        await uow.conversations.save(conv, clock.now())
    elif step == "start":
        result = await start(uow, clock, tech, seq, channel=channel)
    elif step == "pause":
        result = await pause(uow, clock, tech, seq, channel=channel)
    else:
        result = await ask_help(uow, clock, tech, seq, extra, channel=channel)
    await _tell_others(uow, deps, tech, step, result)
    return [_reply(result)]


async def _tell_others(uow: BotUnitOfWork, deps: Deps, tech: str, step: str, result: Step) -> None:
    if not result.ok or result.wo is None:
        return
    company = await uow.company.load()
    name = next((t.name for t in company.technicians if t.id == tech), tech)
    if step == "omw" and result.eta is not None:
        eta = f"{result.eta.astimezone(ZoneInfo(company.settings.timezone)):%H:%M}"
        await to_customer(
            uow,
            deps,
            result.wo,
            Outgoing(text=texts.on_the_way(result.wo.number, name, eta), kind="update"),
        )
    if result.flagged:
        await to_dispatchers(
            uow,
            deps,
            company,
            Outgoing(text=texts.flagged(result.wo.number, result.flagged, name), kind="alert"),
            result.wo,
        )


def _reply(result: Step) -> Outgoing:
    wo = result.wo
    if not result.ok or wo is None:
        return Outgoing(text=result.message)
    buttons = tuple(
        Choice(STEPS[s].upper(), f"step:{s}:{wo.seq}", STEPS[s].upper())
        for s in NEXT_BUTTONS.get(wo.status, ())
    )
    return Outgoing(text=result.message, choices=buttons)


async def _finish(
    uow: BotUnitOfWork, deps: Deps, tech: str, conv: Conversation, note: str, channel: str
) -> list[Outgoing]:
    seq = conv.work_order_seq
    conv.state, conv.work_order_seq = "idle", None
    await uow.conversations.save(conv, deps.clock.now())
    result = await done(uow, deps.clock, tech, seq, note[:1000], channel=channel)
    if result.ok and result.wo is not None:
        await ask_customer_to_sign(uow, deps, result.wo, note)
    return [_reply(result)]


async def _photos(uow: BotUnitOfWork, deps: Deps, tech: str, received: Received) -> list[Outgoing]:
    job = await current_job(uow, tech)
    if job is None:
        return [Outgoing(text="Photos go with a job: you have none right now.")]
    now = deps.clock.now()
    wo = await uow.work_orders.get(job.seq, lock=True)
    assert wo is not None
    await attach_media(uow, wo, received, f"technician:{tech}", now)
    await uow.work_orders.save(wo)
    if received.media_refused and not received.media:
        return [Outgoing(text=texts.media_refused())]
    return [Outgoing(text=texts.photo_saved(wo.number))]


async def _part(uow: BotUnitOfWork, deps: Deps, tech: str, query: str, qty: int) -> Outgoing:
    job = await current_job(uow, tech)
    if job is None or job.status not in (Status.ON_SITE, Status.WORKING, Status.ON_HOLD):
        return Outgoing(text="Parts go on the job you're working on: you have none on site.")
    company = await uow.company.load()
    by_key = {p.sku.lower(): p for p in company.parts}
    part = by_key.get(query.strip().lower())
    if part is None:
        names = {p.sku: f"{p.name} {p.sku}" for p in company.parts}
        found = process.extractOne(query, names, scorer=fuzz.WRatio, score_cutoff=60)
        part = next((p for p in company.parts if found and p.sku == found[2]), None)
    if part is None:
        return Outgoing(text=f"No part matches '{query[:40]}'. Try the SKU, e.g. part CAP-455 x2.")
    if qty < 1 or qty > 100:
        return Outgoing(text="The quantity must be 1 to 100.")
    now = deps.clock.now()
    await uow.billing.add_part_use(
        job.seq,
        technician_id=tech,
        sku=part.sku,
        name=part.name,
        qty=Decimal(qty),
        unit_price=part.price,
        at=now,
    )
    left = await uow.assignments.use_stock(tech, part.sku, qty)
    wo = await uow.work_orders.get(job.seq, lock=True)
    assert wo is not None
    wo.record(now, "part", f"{qty} × {part.name} ({part.sku})", actor=f"technician:{tech}")
    await uow.work_orders.save(wo)
    stock = f" Van stock left: {left}." if left is not None else " (not from van stock)"
    return Outgoing(text=f"Added {qty} x {part.name} ({part.sku}) to {wo.number}.{stock}")


async def _time(uow: BotUnitOfWork, deps: Deps, tech: str, minutes: int) -> Outgoing:
    job = await current_job(uow, tech)
    if job is None:
        return Outgoing(text="Time goes on a job: you have none in progress.")
    if not 0 < minutes <= 16 * 60:
        return Outgoing(text="Time must be between 1 minute and 16 hours, e.g. time 1h30.")
    await uow.billing.set_work_minutes(job.seq, tech, minutes, deps.clock.now())
    wo = await uow.work_orders.get(job.seq, lock=True)
    assert wo is not None
    wo.record(
        deps.clock.now(),
        "time",
        f"work time corrected to {minutes // 60}h{minutes % 60:02d}",
        actor=f"technician:{tech}",
    )
    await uow.work_orders.save(wo)
    return Outgoing(text=f"{wo.number}: work time set to {minutes // 60}h{minutes % 60:02d}.")


async def _note(uow: BotUnitOfWork, deps: Deps, tech: str, text: str, channel: str) -> Outgoing:
    job = await current_job(uow, tech)
    if job is None or not text:
        return Outgoing(text="Notes go on a job: say note and the text while you have one.")
    wo = await uow.work_orders.get(job.seq, lock=True)
    assert wo is not None
    wo.record(deps.clock.now(), "note", text[:2000], actor=f"technician:{tech}", channel=channel)
    await uow.work_orders.save(wo)
    return Outgoing(text=f"Note added to {wo.number}.")


async def _jobs(uow: BotUnitOfWork, deps: Deps, tech: str) -> Outgoing:
    company = await uow.company.load()
    zone = ZoneInfo(company.settings.timezone)
    held = await uow.assignments.held_by(tech)
    if not held:
        return Outgoing(text="No jobs planned for you right now.")
    lines = []
    for wo in held[:8]:
        planned = await uow.assignments.planned(wo.seq)
        when = local_time(planned[0], zone, deps.clock.now()) if planned else "--:--"
        lines.append(f"{when} {wo.number} {wo.priority} {wo.status.value.replace('_', ' ')}")
    return Outgoing(text="\n".join(lines))


async def _next(uow: BotUnitOfWork, tech: str) -> Outgoing:
    job = await current_job(uow, tech)
    if job is None:
        return Outgoing(text="Nothing next: no jobs planned for you right now.")
    return _reply(Step(True, f"Next: {job.number} {job.priority}: {job.description[:120]}", job))


HELP_BY_STATUS = {
    Status.ASSIGNED: "ON MY WAY when you leave for it",
    Status.EN_ROUTE: "ARRIVED when you get there",
    Status.ON_SITE: "START when you begin, HELP if you need someone",
    Status.WORKING: "PAUSE, HELP, DONE; photos; part NAME x2; note TEXT; time 1h30",
    Status.ON_HOLD: "START to resume, HELP, DONE",
}


async def _help(uow: BotUnitOfWork, tech: str) -> Outgoing:
    """What can be said now, for the job at hand."""
    job = await current_job(uow, tech)
    always = "/jobs, /next, /off, /on."
    if job is None:
        return Outgoing(text=f"No job in progress. Offers come here: A 1042 or D 1042. {always}")
    return _reply(Step(True, f"{job.number}: {HELP_BY_STATUS.get(job.status, '')}. {always}", job))
