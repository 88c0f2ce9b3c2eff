"""Fuzzed HTTP API: request bodies, list queries, work-order numbers and tokens; never a 500."""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import quote, urlencode

from hypothesis import strategies as st

from storage.db import session_factory
from storage.uow import SqlUnitOfWork
from tests.channel_app import Product
from tests.test_abuse_support import (
    assert_allowed,
    fuzz,
    json_values,
    phones,
    short_texts,
    texts,
)

_made: list[tuple[Product, str]] = []  # (the product of the running test, its token)


async def token(p: Product) -> str:
    """One API token per test, made on its first case."""
    if not _made or _made[0][0] is not p:
        async with SqlUnitOfWork(session_factory(p.engine)) as uow:
            made = await uow.tokens.create("fuzz", p.clock.now())
            await uow.commit()
        _made[:] = [(p, made)]
    return _made[0][1]


auth_kinds = st.sampled_from(["good", "good", "good", "none", "wrong", "scheme"])


async def headers(p: Product, kind: str) -> dict[str, str]:
    if kind == "good":
        return {"Authorization": f"Bearer {await token(p)}"}
    if kind == "wrong":
        return {"Authorization": "Bearer not-a-token"}
    if kind == "scheme":
        return {"Authorization": f"Basic {await token(p)}"}
    return {}


# Digits of any script, and ones str.isdigit() takes but int() does not ("²", "①").
digit_runs = st.text(alphabet="0123456789٣۴０²①", min_size=1, max_size=12)
maybe_text = texts | json_values


# --- POST /api/v1/requests -----------------------------------------------------------------

request_bodies = st.fixed_dictionaries(
    {},
    optional={
        "text": st.sampled_from(["walk-in freezer alarm", "garage door stuck"]) | maybe_text,
        # Rarely a valid customer: a work order (intake, the engine) costs 100 times a refusal.
        "customer_id": st.sampled_from(["C007", "C999", "", " "]) | maybe_text,
        "phone": phones | json_values,
        "email": st.sampled_from(["a@example.com", "x@y"]) | maybe_text,
        "name": maybe_text,
        "site_id": st.sampled_from(["S001", "S018", "nope"]) | maybe_text,
        "address": maybe_text,
        "skill": st.sampled_from(["hvac", "plumbing", "??"]) | maybe_text,
        "priority": st.sampled_from(["P1", "p2", "P9"]) | maybe_text,
        "wants": st.fixed_dictionaries(
            {
                "start": st.sampled_from(["2026-11-30T09:00:00-06:00", "2026-13-01"]) | texts,
                "end": st.sampled_from(["2026-11-30T11:00:00-06:00", "yesterday"]) | texts,
            }
        )
        | json_values,
        "equipment_id": st.sampled_from(["E001", "E999"]) | maybe_text,
    },
    # Unknown keys now and then.
).flatmap(lambda d: st.dictionaries(short_texts, json_values, max_size=1).map(lambda x: x | d))


def encode(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")


request_cases = st.tuples(
    auth_kinds,
    request_bodies.map(encode)
    | json_values.map(encode)
    | st.binary(max_size=500)
    | st.just(b'{"text": "\\ud800 lone", "phone": "+15125550126"}'),
)


async def post_request(p: Product, case: tuple[str, bytes]) -> None:
    """Any body, any auth: 201, 400, 401 or 422."""
    kind, body = case
    response = await p.client.post(
        "/api/v1/requests",
        data=body,
        headers={**await headers(p, kind), "Content-Type": "application/json"},
    )
    assert_allowed(response.status, case)
    if kind != "good":
        assert response.status == 401, case
    if response.status >= 400:
        data = await response.json()
        assert set(data) == {"error", "message"}, data


test_post_request, test_post_request_postgres = fuzz(request_cases)(post_request)


# --- GET /api/v1/work-orders ---------------------------------------------------------------

query_values = (
    st.sampled_from(
        ["new", "ready", "offered", "P1", "P4", "2026-11-30", "T01", "C007", "50", "0", "201"]
    )
    | digit_runs
    | digit_runs.map(lambda t: base64.urlsafe_b64encode(t.encode()).decode().rstrip("="))
    | texts
)
queries = st.dictionaries(
    st.sampled_from(["status", "priority", "date", "technician", "customer", "limit", "cursor"])
    | short_texts,
    query_values,
    max_size=5,
).map(urlencode) | texts.map(lambda t: quote(t, safe="=&;+%"))


async def list_work_orders(p: Product, case: tuple[str, str]) -> None:
    """Any query string: 200 with a page, 400 or 401."""
    kind, query = case
    response = await p.client.get(f"/api/v1/work-orders?{query}", headers=await headers(p, kind))
    assert_allowed(response.status, case)
    if response.status == 200:
        assert set(await response.json()) == {"items", "next"}


test_list_work_orders, test_list_work_orders_postgres = fuzz(st.tuples(auth_kinds, queries))(
    list_work_orders
)


# --- GET /api/v1/work-orders/{number} ------------------------------------------------------

numbers = (
    st.sampled_from(["WO-1001", "1001", "wo1001", "WO-0", "WO-999999999", "WO-" + "9" * 30])
    | digit_runs
    | digit_runs.map(lambda t: "WO-" + t)
    | texts.filter(bool)
)


async def get_work_order(p: Product, case: tuple[str, str]) -> None:
    """Any number: 200, 401 or 404."""
    kind, number = case
    response = await p.client.get(
        f"/api/v1/work-orders/{quote(number, safe='')}", headers=await headers(p, kind)
    )
    assert response.status in (200, 401, 404), (case, response.status)


test_get_work_order, test_get_work_order_postgres = fuzz(st.tuples(auth_kinds, numbers))(
    get_work_order
)
