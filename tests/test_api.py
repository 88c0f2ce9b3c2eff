"""HTTP API v1 over real HTTP on loopback, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.databases import work_orders_given_up

Client = TestClient[web.Request, web.Application]
pytestmark = pytest.mark.usefixtures("demo_company")


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def post_request(client: Client, token: str, body: dict[str, Any]) -> dict[str, Any]:
    response = await client.post("/api/v1/requests", json=body, headers=auth(token))
    assert response.status == 201, await response.text()
    data: dict[str, Any] = await response.json()
    return data


async def test_portal_request_for_a_known_customer_opens_a_ready_work_order(
    client: Client, api_token: str
) -> None:
    record = await post_request(
        client,
        api_token,
        {
            "text": "Walk-in freezer alarm",
            "phone": "(512) 555-0120",
            "site_id": "S001",
            "skill": "refrigeration",
            "priority": "P2",
            "equipment_id": "E001",
        },
    )
    assert record["number"] == "WO-1001"
    assert record["status"] == "ready"
    assert record["customer"] == {
        "id": "C001",
        "name": "Lone Star Restaurant Group",
        "phone": "+15125550120",
    }
    assert record["site"]["id"] == "S001"
    assert record["equipment"]["id"] == "E001"
    # Gold contract: P2 answered within 4 hours of 07:00 Austin time.
    assert record["created_at"] == "2026-11-30T07:00:00-06:00"
    assert record["sla_due_at"] == "2026-11-30T11:00:00-06:00"
    assert [e["kind"] for e in record["timeline"]] == ["created", "status"]
    assert record["timeline"][1]["text"] == "new → ready"
    for key in ("photos", "parts", "time_entries"):
        assert record[key] == []
    assert record["signoff"] is None and record["invoice"] is None


async def test_unknown_caller_becomes_a_customer_and_the_address_a_site(
    client: Client, api_token: str
) -> None:
    record = await post_request(
        client,
        api_token,
        {
            "text": "Dryer makes a grinding noise",
            "phone": "512-867-5309",
            "name": "Jo Park",
            "address": "4406 Duval St, Austin TX 78751",
            "skill": "appliance",
            "wants": {"start": "2026-12-01T08:00:00-06:00", "end": "2026-12-01T12:00:00-06:00"},
        },
    )
    assert record["customer"]["name"] == "Jo Park"
    assert record["customer"]["phone"] == "+15128675309"
    assert record["site"]["address"] == "4406 Duval St, Austin TX 78751"
    assert record["site"]["lat"] == pytest.approx(30.31, abs=0.05)  # ZIP centroid of 78751
    assert record["wants"] == {
        "start": "2026-12-01T08:00:00-06:00",
        "end": "2026-12-01T12:00:00-06:00",
    }
    # Standard contract for a walk-in customer: P3 within 72 hours.
    assert record["sla_due_at"] == "2026-12-03T07:00:00-06:00"
    customer = await client.get(
        f"/api/v1/customers/{record['customer']['id']}", headers=auth(api_token)
    )
    assert (await customer.json())["sites"][0]["zip"] == "78751"


async def test_a_request_without_category_waits_for_information(
    client: Client, api_token: str
) -> None:
    record = await post_request(
        client, api_token, {"text": "something is wrong", "customer_id": "C002"}
    )
    assert record["status"] == "needs_info"
    assert record["timeline"][-1]["text"].startswith("new → needs_info: missing skill")


async def test_work_orders_list_filters_and_pages(client: Client, api_token: str) -> None:
    for i in range(5):
        await post_request(
            client,
            api_token,
            {
                "text": f"job {i}",
                "customer_id": "C001",
                "site_id": "S001",
                "skill": "hvac",
                "priority": "P1" if i % 2 else "P3",
            },
        )
    seen: list[str] = []
    url: str | None = "/api/v1/work-orders?limit=2"
    while url:
        page = await (await client.get(url, headers=auth(api_token))).json()
        assert len(page["items"]) <= 2
        seen += [item["number"] for item in page["items"]]
        url = f"/api/v1/work-orders?limit=2&cursor={page['next']}" if page["next"] else None
    assert seen == [f"WO-{1001 + i}" for i in range(5)]
    p1 = await (await client.get("/api/v1/work-orders?priority=P1", headers=auth(api_token))).json()
    assert [x["number"] for x in p1["items"]] == ["WO-1002", "WO-1004"]
    today = await (
        await client.get(
            "/api/v1/work-orders?date=2026-11-30&status=ready", headers=auth(api_token)
        )
    ).json()
    assert len(today["items"]) == 5
    other_day = await (
        await client.get("/api/v1/work-orders?date=2026-11-29", headers=auth(api_token))
    ).json()
    assert other_day == {"items": [], "next": None}
    one = await (await client.get("/api/v1/work-orders/WO-1003", headers=auth(api_token))).json()
    assert one["description"] == "job 2"


async def test_technicians_and_customers_are_listed(client: Client, api_token: str) -> None:
    techs = await (await client.get("/api/v1/technicians", headers=auth(api_token))).json()
    assert [t["id"] for t in techs["items"]] == [f"T{i:02d}" for i in range(1, 13)]
    maria = techs["items"][0]
    assert maria["skills"] == {"hvac": 3, "electrical": 2}
    assert maria["van_stock"]["CAP-455"] == 4
    customer = await (await client.get("/api/v1/customers/C001", headers=auth(api_token))).json()
    assert customer["vip"] is True
    assert [s["id"] for s in customer["sites"]] == ["S001", "S002", "S003", "S004"]


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer nope"},
        {"Authorization": "Basic abc"},
        {"Authorization": "Bearer "},
    ],
    ids=["none", "wrong", "basic", "empty"],
)
async def test_no_or_wrong_token_is_401(client: Client, headers: dict[str, str]) -> None:
    for method, path in [
        ("GET", "/api/v1/work-orders"),
        ("POST", "/api/v1/requests"),
        ("GET", "/api/v1/technicians"),
        ("GET", "/api/v1/customers/C001"),
        ("GET", "/api/v1/work-orders/WO-1001"),
    ]:
        response = await client.request(method, path, headers=headers, json={"text": "x"})
        assert response.status == 401
        assert (await response.json())["error"] == "unauthorized"


async def test_unknown_work_order_and_customer_are_404(client: Client, api_token: str) -> None:
    for path in [
        "/api/v1/work-orders/WO-9999",
        "/api/v1/work-orders/garbage",
        "/api/v1/customers/C999",
    ]:
        response = await client.get(path, headers=auth(api_token))
        assert response.status == 404
        assert (await response.json())["error"] == "not_found"


async def test_body_over_one_mebibyte_is_413(client: Client, api_token: str) -> None:
    body = json.dumps({"text": "x" * (1024 * 1024 + 10), "customer_id": "C001"})
    response = await client.post(
        "/api/v1/requests",
        data=body,
        headers={**auth(api_token), "Content-Type": "application/json"},
    )
    assert response.status == 413
    assert (await response.json())["error"] == "too_large"


MALFORMED: list[bytes] = [
    b"",
    b"{",
    b"not json",
    b"[]",
    b"42",
    b'"text"',
    b"null",
    b'{"text": 5, "customer_id": "C001"}',
    b'{"text": "", "customer_id": "C001"}',
    b'{"customer_id": "C001"}',
    b'{"text": "x"}',
    b'{"text": "x", "customer_id": "C001", "phone": "5125550120"}',
    b'{"text": "x", "phone": "call me"}',
    b'{"text": "x", "email": "not-an-email"}',
    b'{"text": "x", "customer_id": "C001", "priority": "P9"}',
    b'{"text": "x", "customer_id": "C001", "wants": "tomorrow"}',
    b'{"text": "x", "customer_id": "C001", "wants": {"start": "2026-12-01", "end": "x"}}',
    b'{"text": "x", "customer_id": "C001", "wants": {"start": "2026-12-01T10:00:00-06:00",'
    b' "end": "2026-12-01T09:00:00-06:00"}}',
    b'{"text": "x", "customer_id": "C001", "site_id": "S001", "address": "1 Main St"}',
    b'{"text": "x", "customer_id": "C001", "surprise": true}',
    b'{"text": "x", "customer_id": ["C001"]}',
    b'{"text": "x", "customer_id": "C001", "skill": {"id": "hvac"}}',
    b'{"text": "\\ud800", "customer_id": "C001"}',
    b"\xff\xfe\x00garbage",
    b'{"text": "x", "customer_id": "C001"' + b"]" * 10,
    b"[" * 100000,
]


async def test_malformed_bodies_are_400_never_500(client: Client, api_token: str) -> None:
    assert len(MALFORMED) >= 20
    for body in MALFORMED:
        response = await client.post(
            "/api/v1/requests",
            data=body,
            headers={**auth(api_token), "Content-Type": "application/json"},
        )
        assert response.status == 400, (body[:80], await response.text())
        assert set(await response.json()) == {"error", "message"}
    listing = await (await client.get("/api/v1/work-orders", headers=auth(api_token))).json()
    assert listing["items"] == []


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"text": "x", "customer_id": "C999"}, "unknown_customer"),
        ({"text": "x", "customer_id": "C001", "site_id": "S999"}, "unknown_site"),
        ({"text": "x", "customer_id": "C001", "skill": "astrology"}, "unknown_skill"),
        (
            {"text": "x", "customer_id": "C001", "site_id": "S001", "equipment_id": "E040"},
            "unknown_equipment",
        ),
    ],
)
async def test_references_to_unknown_things_are_422_and_change_nothing(
    client: Client, api_token: str, body: dict[str, Any], code: str
) -> None:
    response = await client.post("/api/v1/requests", json=body, headers=auth(api_token))
    assert response.status == 422
    assert (await response.json())["error"] == code
    listing = await (await client.get("/api/v1/work-orders", headers=auth(api_token))).json()
    assert listing["items"] == []


async def test_bad_query_parameters_are_400(client: Client, api_token: str) -> None:
    for query in [
        "status=lost",
        "priority=P0",
        "date=yesterday",
        "limit=0",
        "limit=x",
        "cursor=%%%",
        "cursor=bm9wZQ",
    ]:
        response = await client.get(f"/api/v1/work-orders?{query}", headers=auth(api_token))
        assert response.status == 400, query


async def test_health_and_metrics(client: Client) -> None:
    health = await client.get("/healthz")
    assert health.status == 200
    assert await health.json() == {"ok": True, "database": "up"}
    metrics = await client.get("/metrics")
    assert metrics.status == 200
    assert "callout_outbox_depth" in await metrics.text()


async def test_a_request_the_database_gives_up_answers_busy_and_keeps_nothing(
    client: Client, api_token: str, engine: AsyncEngine
) -> None:
    """PostgreSQL gives a transaction up for a concurrent one's (a deadlock, SQLSTATE
    40P01): the portal gets 503 with Retry-After, not a 500, and no work order is left."""
    body = {"text": "Walk-in freezer alarm", "phone": "(512) 555-0120", "site_id": "S001"}
    async with work_orders_given_up(engine, 1):
        response = await client.post("/api/v1/requests", json=body, headers=auth(api_token))
    assert response.status == 503 and response.headers["Retry-After"] == "1"
    assert (await response.json())["error"] == "busy"
    async with engine.connect() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM work_orders"))).scalar_one() == 0
