"""HTTP API v1 (§3): bearer tokens, JSON in and out, errors as `{"error", "message"}`."""

from __future__ import annotations

import base64
import binascii
import json
import re
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from dispatch.requests import OpenWorkOrder, RequestRefused, open_work_order
from dispatch.workorder import PRIORITIES, Status, Wants, parse_number
from storage.phones import normalize_phone
from storage.tokens import TokenHolder
from storage.workorder_repo import WorkOrderFilter
from storage.zip_geocode import zip_centroid
from webhooks.app import SERVICES
from webhooks.errors import ApiError
from webhooks.full_record import full_record
from webhooks.records import Directory, customer_json, technician_json

MAX_TEXT = 5000
EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,190}\.[A-Za-z]{2,}$")
REQUEST_KEYS = frozenset(
    {
        "text",
        "customer_id",
        "phone",
        "email",
        "name",
        "site_id",
        "address",
        "skill",
        "priority",
        "wants",
        "equipment_id",
    }
)


async def authorize(request: web.Request) -> TokenHolder:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "unauthorized", "send Authorization: Bearer <token>")
    services = request.app[SERVICES]
    async with services.uow() as uow:
        holder = await uow.tokens.check(token.strip(), services.clock.now())
    if holder is None:
        raise ApiError(401, "unauthorized", "unknown, expired or revoked token")
    return holder


async def json_body(request: web.Request) -> dict[str, Any]:
    raw = await request.read()
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise ApiError(400, "bad_json", "the body is not valid JSON") from None
    if not isinstance(data, dict):
        raise ApiError(400, "bad_json", "the body must be a JSON object")
    try:  # JSON may escape lone surrogates that no database (nor UTF-8) can store
        json.dumps(data, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise ApiError(400, "bad_json", "the body has invalid Unicode (lone surrogates)") from None
    return data


def _str(data: dict[str, Any], key: str, *, max_len: int = 200) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ApiError(400, "bad_field", f"{key}: expected a non-empty string")
    if "\x00" in value:  # no database text column can hold NUL
        raise ApiError(400, "bad_field", f"{key}: contains a NUL character")
    if len(value) > max_len:
        raise ApiError(400, "bad_field", f"{key}: at most {max_len} characters")
    return value.strip()


def _instant(value: Any, key: str) -> datetime:
    if not isinstance(value, str):
        raise ApiError(400, "bad_field", f"{key}: expected an ISO 8601 time with offset")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise ApiError(400, "bad_field", f"{key}: expected an ISO 8601 time with offset")
    return parsed


def parse_request(data: dict[str, Any], actor: str) -> OpenWorkOrder:
    unknown = sorted(set(data) - REQUEST_KEYS)
    if unknown:
        raise ApiError(400, "unknown_field", f"unknown field(s): {', '.join(unknown)}")
    text = _str(data, "text", max_len=MAX_TEXT)
    if text is None:
        raise ApiError(400, "missing_field", "text: required")
    customer_id, phone_text, email = (
        _str(data, "customer_id", max_len=64),
        _str(data, "phone", max_len=40),
        _str(data, "email", max_len=254),
    )
    if sum(x is not None for x in (customer_id, phone_text, email)) != 1:
        raise ApiError(400, "missing_field", "give exactly one of customer_id, phone, email")
    phone = None
    if phone_text is not None:
        phone = normalize_phone(phone_text)
        if phone is None:
            raise ApiError(400, "bad_field", "phone: not a valid phone number")
    if email is not None and not EMAIL_RE.match(email):
        raise ApiError(400, "bad_field", "email: not a valid e-mail address")
    site_id, address = _str(data, "site_id", max_len=64), _str(data, "address", max_len=300)
    if site_id is not None and address is not None:
        raise ApiError(400, "bad_field", "give site_id or address, not both")
    priority = _str(data, "priority", max_len=2)
    if priority is not None and priority.upper() not in PRIORITIES:
        raise ApiError(400, "bad_field", "priority: expected one of P1, P2, P3, P4")
    wants = None
    if data.get("wants") is not None:
        w = data["wants"]
        if not isinstance(w, dict) or set(w) != {"start", "end"}:
            raise ApiError(400, "bad_field", "wants: expected {start, end}")
        start, end = _instant(w["start"], "wants.start"), _instant(w["end"], "wants.end")
        if end <= start:
            raise ApiError(400, "bad_field", "wants: end must be after start")
        wants = Wants(start, end)
    return OpenWorkOrder(
        text=text,
        channel="portal",
        actor=actor,
        customer_id=customer_id,
        phone=phone,
        email=email,
        name=_str(data, "name"),
        site_id=site_id,
        address=address,
        skill=_str(data, "skill", max_len=64),
        priority=priority.upper() if priority else None,
        wants=wants,
        equipment_id=_str(data, "equipment_id", max_len=64),
    )


async def create_request(request: web.Request) -> web.Response:
    holder = await authorize(request)
    cmd = parse_request(await json_body(request), actor=f"api:{holder.name}")
    services = request.app[SERVICES]
    async with services.uow() as uow:
        try:
            wo = await open_work_order(uow, services.clock, zip_centroid, cmd)
        except RequestRefused as err:
            raise ApiError(422, err.code, str(err)) from None
        directory = Directory(await uow.company.load())
        record = await full_record(uow, wo, directory, services.settings.public_base_url)
        await uow.commit()
    return web.json_response(record, status=201)


def _cursor(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        decoded = base64.urlsafe_b64decode(value.encode() + b"==").decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        decoded = ""
    if not (decoded.isascii() and decoded.isdigit()) or len(decoded) > 12:
        raise ApiError(400, "bad_cursor", "cursor: not one this API gave out")
    return int(decoded)


def _make_cursor(seq: int) -> str:
    return base64.urlsafe_b64encode(str(seq).encode()).decode().rstrip("=")


def _no_nul(values: Any) -> None:
    if any("\x00" in v for v in values):
        raise ApiError(400, "bad_query", "a NUL character is not allowed")


def _filters(q: Any, zone: ZoneInfo) -> WorkOrderFilter:
    _no_nul(q.values())
    status, priority = q.get("status"), q.get("priority")
    if status is not None and status not in {s.value for s in Status}:
        raise ApiError(400, "bad_query", "status: not a work-order status")
    if priority is not None and priority not in PRIORITIES:
        raise ApiError(400, "bad_query", "priority: expected P1..P4")
    created_from = created_to = None
    if (day_text := q.get("date")) is not None:
        try:
            day = date.fromisoformat(day_text)
        except ValueError:
            raise ApiError(400, "bad_query", "date: expected YYYY-MM-DD") from None
        created_from = datetime.combine(day, time(0), zone)
        created_to = created_from + timedelta(days=1)
    return WorkOrderFilter(
        status=status,
        priority=priority,
        technician_id=q.get("technician"),
        customer_id=q.get("customer"),
        created_from=created_from,
        created_to=created_to,
    )


async def list_work_orders(request: web.Request) -> web.Response:
    await authorize(request)
    q = request.rel_url.query
    limit_text = q.get("limit", "50")
    if not (limit_text.isascii() and limit_text.isdigit()) or not 1 <= int(limit_text) <= 200:
        raise ApiError(400, "bad_query", "limit: expected 1..200")
    limit, after = int(limit_text), _cursor(q.get("cursor"))
    services = request.app[SERVICES]
    async with services.uow() as uow:
        directory = Directory(await uow.company.load())
        items = await uow.work_orders.find(
            _filters(q, directory.zone), after_seq=after, limit=limit + 1
        )
        more = len(items) > limit
        items = items[:limit]
        base = services.settings.public_base_url
        records = [await full_record(uow, wo, directory, base) for wo in items]
    return web.json_response(
        {"items": records, "next": _make_cursor(items[-1].seq) if more else None}
    )


async def get_work_order(request: web.Request) -> web.Response:
    await authorize(request)
    seq = parse_number(request.match_info["number"])
    if seq is None:
        raise ApiError(404, "not_found", "no such work order")
    services = request.app[SERVICES]
    async with services.uow() as uow:
        wo = await uow.work_orders.get(seq)
        if wo is None:
            raise ApiError(404, "not_found", f"no work order WO-{seq}")
        directory = Directory(await uow.company.load())
        record = await full_record(uow, wo, directory, services.settings.public_base_url)
    return web.json_response(record)


async def get_photo(request: web.Request) -> web.StreamResponse:
    await authorize(request)
    seq = parse_number(request.match_info["number"])
    photo_id = request.match_info["photo_id"]
    if seq is None or not (photo_id.isascii() and photo_id.isdigit()):
        raise ApiError(404, "not_found", "no such photo")
    services = request.app[SERVICES]
    async with services.uow() as uow:
        photo = next((p for p in await uow.work_orders.photos(seq) if p.id == int(photo_id)), None)
    if photo is None:
        raise ApiError(404, "not_found", "no such photo")
    path = (services.settings.media_dir / photo.path).resolve()
    if services.settings.media_dir.resolve() not in path.parents or not path.is_file():
        raise ApiError(404, "not_found", "the file is gone")
    return web.FileResponse(path, headers={"Content-Type": photo.content_type})


async def list_technicians(request: web.Request) -> web.Response:
    await authorize(request)
    async with request.app[SERVICES].uow() as uow:
        techs = (await uow.company.load()).technicians
    return web.json_response({"items": [technician_json(t) for t in techs], "next": None})


async def get_customer(request: web.Request) -> web.Response:
    await authorize(request)
    _no_nul([request.match_info["customer_id"]])
    async with request.app[SERVICES].uow() as uow:
        customer = await uow.company.customer(request.match_info["customer_id"])
    if customer is None:
        raise ApiError(404, "not_found", "no such customer")
    return web.json_response(customer_json(customer))


def setup(app: web.Application) -> None:
    r = app.router
    r.add_post("/api/v1/requests", create_request)
    r.add_get("/api/v1/work-orders", list_work_orders)
    r.add_get("/api/v1/work-orders/{number}", get_work_order)
    r.add_get("/api/v1/work-orders/{number}/photos/{photo_id}", get_photo)
    r.add_get("/api/v1/technicians", list_technicians)
    r.add_get("/api/v1/customers/{customer_id}", get_customer)
