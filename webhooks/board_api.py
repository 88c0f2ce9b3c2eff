"""The board's JSON under `/api/v1/board`: the day per technician, the queue, one job with its
record and explanation, and assigning by drag and drop (the same rules as `/assign`)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from bot.messages import Outgoing
from bot.notify import publish, to_staff
from dispatch.assignment import Outcome
from dispatch.clock import local_time
from dispatch.company import Company
from dispatch.engine.rules import RULE_LABELS
from dispatch.manual import assign_to
from dispatch.workorder import WorkOrder, parse_number
from storage.board_repo import BoardJob, BoardRepository
from storage.uow import SqlUnitOfWork
from webhooks.api import json_body
from webhooks.app import SERVICES, Services
from webhooks.board_auth import Viewer, api_viewer
from webhooks.errors import ApiError
from webhooks.records import Directory, work_order_json

AXIS = (7 * 60, 19 * 60)  # minutes after local midnight: the board shows 07:00-19:00
MAX_REASON = 300


def _minutes(at: datetime | None, midnight: datetime) -> float | None:
    return None if at is None else round((at - midnight).total_seconds() / 60, 1)


def job_json(job: BoardJob, d: Directory, now: datetime, midnight: datetime) -> dict[str, Any]:
    return {
        "number": f"WO-{job.seq}",
        "status": job.status,
        "priority": job.priority,
        "technician": job.technician_id,
        "customer": job.customer,
        "skill": job.skill,
        "description": job.description,
        "flag": job.flag_reason,
        "created_at": d.iso(job.created_at),
        "sla_due_at": d.iso(job.sla_due_at),
        "sla_seconds_left": None
        if job.sla_due_at is None
        else int((job.sla_due_at - now).total_seconds()),
        "planned_start": d.iso(job.planned_start),
        "planned_end": d.iso(job.planned_end),
        "start_minute": _minutes(job.planned_start, midnight),
        "end_minute": _minutes(job.planned_end, midnight),
    }


async def board_json(uow: SqlUnitOfWork, services: Services) -> dict[str, Any]:
    company = await uow.company.load()
    d = Directory(company)
    now = services.clock.now()
    midnight = now.astimezone(d.zone).replace(hour=0, minute=0, second=0, microsecond=0)
    today = midnight.date()
    repo = BoardRepository(uow.session)
    version = await repo.version()  # first: a change racing this read is fetched again
    planned = await repo.planned(midnight, midnight + timedelta(days=1))
    off = await uow.assignments.unavailable()
    technicians = []
    for t in company.technicians:
        shift = t.shift_on(today)
        working = shift is not None and not t.on_leave(today) and t.id not in off
        technicians.append(
            {
                "id": t.id,
                "name": t.name,
                "available": working,
                "shift": None if shift is None else list(shift.minutes()),
                "jobs": [job_json(j, d, now, midnight) for j in planned if j.technician_id == t.id],
            }
        )
    return {
        "date": today.isoformat(),
        "timezone": company.settings.timezone,
        "now": d.iso(now),
        "now_minute": _minutes(now, midnight),
        "axis": list(AXIS),
        "version": version,
        "technicians": technicians,
        "queue": [job_json(j, d, now, midnight) for j in await repo.queue()],
    }


async def get_board(request: web.Request) -> web.Response:
    await api_viewer(request)
    services = request.app[SERVICES]
    async with services.uow() as uow:
        return web.json_response(await board_json(uow, services))


def explanation(decisions: list[dict[str, Any]], company: Company) -> dict[str, Any] | None:
    """The latest engine explanation (`/why`) and the overrides made since."""
    names = {t.id: t.name for t in company.technicians}
    zone = ZoneInfo(company.settings.timezone)

    def who(tech_id: Any) -> dict[str, Any]:
        return {"technician": tech_id, "name": names.get(str(tech_id), str(tech_id))}

    def cand(c: dict[str, Any] | None) -> dict[str, Any] | None:
        return None if not c else {**c, **who(c.get("technician"))}

    engine = [x for x in decisions if "excluded" in x or "chosen" in x]
    if not engine:
        return None
    last = engine[-1]
    later = decisions[decisions.index(last) + 1 :]
    return {
        "kind": last["kind"],
        "at": last["at"].astimezone(zone).isoformat(),
        "actor": last["actor"],
        "reason": last.get("reason") or last.get("why_none"),
        "chosen": cand(last.get("chosen")),
        "runners_up": [cand(c) for c in last.get("runners_up", [])],
        "excluded": [
            {**e, **who(e.get("technician")), "label": RULE_LABELS.get(e["rule"], e["rule"])}
            for e in last.get("excluded", [])
        ],
        "overrides": [
            {
                **who(x["technician_id"]),
                "at": x["at"].astimezone(zone).isoformat(),
                "actor": x["actor"],
                "rule": x.get("broken_rule"),
                "reason": x.get("override"),
            }
            for x in later
            if x["kind"] == "override"
        ],
    }


def broke_a_rule(outcome: Outcome) -> bool:
    """dispatch.manual refuses a broken rule as "<name> can't take WO-n: <rule> (<detail>)";
    every other refusal (unknown job, wrong status, no location) cannot be overridden."""
    return not outcome.ok and " can't take " in outcome.message


def _seq(text: Any) -> int:
    seq = parse_number(text) if isinstance(text, str) else None
    if seq is None:
        raise ApiError(400, "bad_field", "work_order: expected a number like WO-1042")
    return seq


async def get_job(request: web.Request) -> web.Response:
    await api_viewer(request)
    seq = _seq(request.match_info["number"])
    async with request.app[SERVICES].uow() as uow:
        wo = await uow.work_orders.get(seq)
        if wo is None:
            raise ApiError(404, "not_found", f"no work order WO-{seq}")
        company = await uow.company.load()
        d = Directory(company)
        photos = await uow.work_orders.photos(seq)
        why = explanation(await BoardRepository(uow.session).decisions(seq), company)
    site = d.sites.get(wo.site_id) if wo.site_id else None
    return web.json_response(
        {
            "record": work_order_json(wo, d),
            "site": None
            if site is None
            else {
                "address": site.address,
                "access_notes": site.access_notes,
                "safety_notes": site.safety_notes,
            },
            "photos": [
                {
                    "url": f"/board/photos/{p.id}",
                    "content_type": p.content_type,
                    "sent_by": p.sent_by,
                    "at": d.iso(p.at),
                }
                for p in photos
            ],
            "why": why,
        }
    )


def _assignment(data: dict[str, Any]) -> tuple[int, str, str | None]:
    unknown = sorted(set(data) - {"work_order", "technician", "override"})
    if unknown:
        raise ApiError(400, "unknown_field", f"unknown field(s): {', '.join(unknown)}")
    tech = data.get("technician")
    if not isinstance(tech, str) or not tech.strip() or len(tech) > 64:
        raise ApiError(400, "bad_field", "technician: expected a technician id like T03")
    override = data.get("override")
    if override is not None:
        if not isinstance(override, str) or len(override) > MAX_REASON:
            raise ApiError(400, "bad_field", f"override: a reason of at most {MAX_REASON} chars")
        override = override.strip() or None
    return _seq(data.get("work_order")), tech.strip(), override


async def _tell_technician(
    uow: SqlUnitOfWork, services: Services, wo: WorkOrder, company: Company, viewer: Viewer
) -> None:
    """`publish` tells the customer about JobAssigned; the technician hears it from us."""
    d = Directory(company)
    site = d.sites.get(wo.site_id) if wo.site_id else None
    customer = d.customers.get(wo.customer_id)
    planned = await uow.assignments.planned(wo.seq)
    lines = [f"{wo.number} {wo.priority} is yours, assigned by {viewer.login.name}."]
    lines.append(wo.description)
    if site is not None:
        lines.append(f"Where: {site.address}")
    if customer is not None:
        lines.append(f"Customer: {customer.name}")
    if planned is not None:
        lines.append(f"Planned: {local_time(planned[0], d.zone, services.clock.now())}")
    assert wo.technician_id is not None
    await to_staff(
        uow,
        services.bot_deps(),
        "technician",
        wo.technician_id,
        Outgoing(text="\n".join(lines), kind="alert"),
        wo,
    )


async def post_assign(request: web.Request) -> web.Response:
    viewer = await api_viewer(request, writes=True)
    seq, tech_id, override = _assignment(await json_body(request))
    services = request.app[SERVICES]
    async with services.uow() as uow:
        company = await uow.company.load()
        if not any(t.id == tech_id for t in company.technicians):
            raise ApiError(404, "not_found", f"no technician {tech_id}")
        outcome: Outcome = await assign_to(
            uow,
            services.clock,
            seq,
            tech_id,
            actor=viewer.actor,
            channel="board",
            override=override,
        )
        if not outcome.ok:
            if outcome.message.startswith("No work order"):
                raise ApiError(404, "not_found", outcome.message)
            can_override = broke_a_rule(outcome) and override is None
            return web.json_response(
                {
                    "error": "rule_broken" if can_override else "refused",
                    "message": outcome.message,
                    "can_override": can_override,
                },
                status=409,
            )
        await publish(uow, services.bot_deps(), outcome.events)
        wo = await uow.work_orders.get(seq)
        if outcome.events and wo is not None and wo.technician_id == tech_id:
            await _tell_technician(uow, services, wo, company, viewer)
        await uow.commit()
    return web.json_response({"ok": True, "message": outcome.message})


def setup(app: web.Application) -> None:
    r = app.router
    r.add_get("/api/v1/board", get_board)
    r.add_get("/api/v1/board/jobs/{number}", get_job)
    r.add_post("/api/v1/board/assign", post_assign)
