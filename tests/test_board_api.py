"""The board over HTTP: logins, headers, the JSON, assigning with rules and overrides, events."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.board_repo import create_board_link
from storage.tables import DecisionRow, PhotoRow, WorkOrderRow
from storage.tokens import TokenRepository
from tests.board_support import (
    Client,
    login,
    make_token,
    vip_job,
)
from tests.channel_app import Product
from webhooks.board_auth import COOKIE, csrf_token

TUAN_PHONE = "+15125550104"


async def csrf_for(headers: dict[str, str]) -> str:
    return csrf_token(headers["Cookie"].split("=", 1)[1])


async def dispatcher(p: Product) -> dict[str, str]:
    return await login(p.client, await make_token(p.engine, p.clock.now(), "dispatcher", "D01"))


async def test_the_board_without_a_session_is_the_login_page_with_strict_headers(
    board_product: Product,
) -> None:
    response = await board_product.client.get("/board")
    assert response.status == 200
    text = await response.text()
    assert 'action="/board/login"' in text
    assert 'class="row"' not in text
    assert response.headers["X-Frame-Options"] == "DENY"
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp


async def test_a_dispatcher_token_logs_in_with_a_strict_httponly_secure_cookie(
    board_product: Product,
) -> None:
    p = board_product
    token = await make_token(p.engine, p.clock.now(), "dispatcher", "D01")
    response = await p.client.post("/board/login", data={"token": token}, allow_redirects=False)
    assert response.status == 303
    cookie = response.cookies[COOKIE]
    assert cookie["httponly"] and cookie["secure"]  # PUBLIC_BASE_URL is https
    assert cookie["samesite"] == "Strict"
    assert token not in cookie.value
    page = await p.client.get("/board", headers={"Cookie": f"{COOKIE}={cookie.value}"})
    text = await page.text()
    assert text.count('class="row"') == 12
    assert "nonce-" in page.headers["Content-Security-Policy"]
    assert f'content="{csrf_token(cookie.value)}"' in text


async def test_a_technician_token_is_refused_and_a_wrong_token_is_asked_again(
    board_product: Product,
) -> None:
    p = board_product
    tech = await make_token(p.engine, p.clock.now(), "technician", "T01")
    refused = await p.client.post("/board/login", data={"token": tech}, allow_redirects=False)
    assert refused.status == 403
    assert COOKIE not in refused.cookies
    assert "for dispatchers" in await refused.text()
    wrong = await p.client.post("/board/login", data={"token": "co_nope"}, allow_redirects=False)
    assert wrong.status == 401
    assert "unknown, expired or revoked" in await wrong.text()


async def test_a_one_time_link_logs_in_once_and_a_preview_fetch_does_not_spend_it(
    board_product: Product,
) -> None:
    p = board_product
    async with AsyncSession(p.engine) as s:
        code = await create_board_link(s, "D01", p.clock.now())
        await s.commit()
    url = f"/board/login/{code}"
    for _ in range(2):  # a chat app's link preview, then the dispatcher
        preview = await p.client.get(url)
        assert preview.status == 200
        assert 'id="open"' in await preview.text()
    first = await p.client.post(url, allow_redirects=False)
    assert first.status == 303
    assert COOKIE in first.cookies
    again = await p.client.post(url, allow_redirects=False)
    assert again.status == 410
    assert (await p.client.get(url)).status == 410


async def test_a_one_time_link_expires_after_15_minutes(board_product: Product) -> None:
    p = board_product
    async with AsyncSession(p.engine) as s:
        code = await create_board_link(s, "D01", p.clock.now())
        await s.commit()
    p.clock.advance(timedelta(minutes=15))
    response = await p.client.post(f"/board/login/{code}", allow_redirects=False)
    assert response.status == 410


async def test_the_json_needs_a_session_or_a_dispatchers_token(board_product: Product) -> None:
    p = board_product
    assert (await p.client.get("/api/v1/board")).status == 401
    tech = await make_token(p.engine, p.clock.now(), "technician", "T01")
    bearer = {"Authorization": f"Bearer {tech}"}
    assert (await p.client.get("/api/v1/board", headers=bearer)).status == 403
    admin = await make_token(p.engine, p.clock.now(), "admin", None)
    ok = await p.client.get("/api/v1/board", headers={"Authorization": f"Bearer {admin}"})
    assert ok.status == 200
    data = await ok.json()
    assert [t["id"] for t in data["technicians"]] == [f"T{i:02d}" for i in range(1, 13)]
    assert data["axis"] == [420, 1140]


async def test_the_queue_lists_flagged_jobs_oldest_sla_first_with_a_countdown(
    board_product: Product,
) -> None:
    p = board_product
    later = await vip_job(p, "walk-in freezer at pecan street grill is warm, this week")
    sooner = await vip_job(p, "walk-in cooler at the taqueria on south congress is warm, urgent")
    headers = await dispatcher(p)
    data = await (await p.client.get("/api/v1/board", headers=headers)).json()
    queue = {j["number"]: j for j in data["queue"]}
    assert {f"WO-{later}", f"WO-{sooner}"} <= set(queue)
    dues = [j["sla_due_at"] for j in data["queue"] if j["sla_due_at"]]
    assert dues == sorted(dues)
    job = queue[f"WO-{sooner}"]
    assert job["flag"].startswith("vip")
    assert job["sla_seconds_left"] > 0


async def test_assigning_needs_the_pages_csrf_header(board_product: Product) -> None:
    p = board_product
    seq = await vip_job(p)
    headers = await dispatcher(p)
    body = {"work_order": f"WO-{seq}", "technician": "T04"}
    refused = await p.client.post("/api/v1/board/assign", json=body, headers=headers)
    assert refused.status == 403
    assert (await refused.json())["error"] == "csrf"


async def test_assigning_from_the_board_tells_the_technician_and_clears_the_flag(
    board_product: Product,
) -> None:
    p = board_product
    seq = await vip_job(p)
    headers = await dispatcher(p)
    headers["X-CSRF-Token"] = await csrf_for(headers)
    body = {"work_order": f"WO-{seq}", "technician": "T04"}
    response = await p.client.post("/api/v1/board/assign", json=body, headers=headers)
    assert response.status == 200, await response.text()
    await p.deliver()
    assert any(f"WO-{seq}" in sms.body for sms in p.tw.sent_to(TUAN_PHONE))
    detail = await (await p.client.get(f"/api/v1/board/jobs/WO-{seq}", headers=headers)).json()
    record = detail["record"]
    assert record["status"] == "assigned"
    assert record["flag"] is None
    assert record["technician"]["id"] == "T04"
    assert any(
        e["actor"] == "dispatcher:D01" and e["channel"] == "board" for e in record["timeline"]
    )


async def test_a_broken_rule_is_shown_and_a_reason_overrides_it(board_product: Product) -> None:
    p = board_product
    seq = await vip_job(p)
    headers = await dispatcher(p)
    headers["X-CSRF-Token"] = await csrf_for(headers)
    body = {"work_order": f"WO-{seq}", "technician": "T01"}  # Maria: no refrigeration skill
    refused = await p.client.post("/api/v1/board/assign", json=body, headers=headers)
    assert refused.status == 409
    answer = await refused.json()
    assert answer["can_override"] is True
    assert "lacks the skill level" in answer["message"]
    body["override"] = "Maria did this unit's warranty work"
    done = await p.client.post("/api/v1/board/assign", json=body, headers=headers)
    assert done.status == 200, await done.text()
    async with AsyncSession(p.engine) as s:
        decision = (await s.scalars(select(DecisionRow).order_by(DecisionRow.id.desc()))).first()
        wo = (await s.scalars(select(WorkOrderRow).where(WorkOrderRow.seq == seq))).one()
    assert decision is not None and decision.kind == "override"
    assert decision.data["broken_rule"] == "skill"
    assert wo.technician_id == "T01"
    detail = await (await p.client.get(f"/api/v1/board/jobs/WO-{seq}", headers=headers)).json()
    [override] = detail["why"]["overrides"]
    assert override["reason"] == "Maria did this unit's warranty work"


async def test_a_job_shows_its_explanation_with_runners_up_and_excluded_rules(
    board_product: Product,
) -> None:
    p = board_product
    seq = await vip_job(p)
    headers = await dispatcher(p)
    detail = await (await p.client.get(f"/api/v1/board/jobs/WO-{seq}", headers=headers)).json()
    why = detail["why"]
    assert why["reason"] == "vip"
    assert why["chosen"]["name"] == "Tuan Nguyen"
    assert why["runners_up"] and all(c["factors"] for c in why["runners_up"])
    maria = next(e for e in why["excluded"] if e["technician"] == "T01")
    assert maria["label"] == "lacks the skill level"
    assert "refrigeration" in maria["detail"]
    assert (await p.client.get("/api/v1/board/jobs/WO-999999", headers=headers)).status == 404


async def test_the_event_stream_sends_a_new_version_when_anything_changes(
    board_product: Product,
) -> None:
    p = board_product
    headers = await dispatcher(p)
    client: Client = p.client
    async with client.get("/board/events", headers=headers) as stream:
        assert stream.headers["Content-Type"].startswith("text/event-stream")

        async def next_version() -> str:
            while True:
                line = (await stream.content.readline()).decode()
                if line.startswith("data: "):
                    return line.removeprefix("data: ").strip()

        first = await asyncio.wait_for(next_version(), 10)
        await vip_job(p)
        second = await asyncio.wait_for(next_version(), 10)
    assert second != first


async def test_names_are_escaped_in_the_page(board_product: Product) -> None:
    p = board_product
    async with AsyncSession(p.engine) as s:
        token = await TokenRepository(s).create(
            "<script>alert(1)</script>", p.clock.now(), role="admin"
        )
        await s.commit()
    page = await p.client.get("/board", headers=await login(p.client, token))
    text = await page.text()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "<script>alert(1)" not in text


async def test_logging_out_ends_the_session(board_product: Product) -> None:
    p = board_product
    headers = await dispatcher(p)
    assert (await p.client.get("/api/v1/board", headers=headers)).status == 200
    out = await p.client.post(
        "/board/logout",
        data={"csrf": await csrf_for(headers)},
        headers=headers,
        allow_redirects=False,
    )
    assert out.status == 303
    assert (await p.client.get("/api/v1/board", headers=headers)).status == 401
    assert (await p.client.get("/board/events", headers=headers)).status == 401


async def test_photos_are_served_to_a_logged_in_dispatcher_only(
    board_product: Product, tmp_path: Path
) -> None:
    p = board_product
    seq = await vip_job(p)
    (tmp_path / "media" / "wo").mkdir(parents=True)
    (tmp_path / "media" / "wo" / "unit.jpg").write_bytes(b"\xff\xd8\xff-not-really-a-jpeg")
    async with AsyncSession(p.engine) as s:
        wo_id = (await s.scalars(select(WorkOrderRow.id).where(WorkOrderRow.seq == seq))).one()
        s.add(
            PhotoRow(
                work_order_id=wo_id,
                path="wo/unit.jpg",
                content_type="image/jpeg",
                bytes=20,
                sha256="0" * 64,
                sent_by="customer:C001",
                channel="sms",
                created_at=p.clock.now(),
            )
        )
        await s.commit()
    headers = await dispatcher(p)
    detail = await (await p.client.get(f"/api/v1/board/jobs/WO-{seq}", headers=headers)).json()
    [photo] = detail["photos"]
    assert (await p.client.get(photo["url"])).status == 401
    served = await p.client.get(photo["url"], headers=headers)
    assert served.status == 200
    assert served.headers["Content-Type"] == "image/jpeg"
    assert await served.read() == b"\xff\xd8\xff-not-really-a-jpeg"
    assert (await p.client.get("/board/photos/999", headers=headers)).status == 404


async def test_a_refusal_that_no_reason_can_override_says_so(board_product: Product) -> None:
    p = board_product
    seq = await vip_job(p)
    async with AsyncSession(p.engine) as s:
        await s.execute(
            update(WorkOrderRow).where(WorkOrderRow.seq == seq).values(status="completed")
        )
        await s.commit()
    headers = await dispatcher(p)
    headers["X-CSRF-Token"] = await csrf_for(headers)
    body = {"work_order": f"WO-{seq}", "technician": "T04", "override": "please"}
    refused = await p.client.post("/api/v1/board/assign", json=body, headers=headers)
    assert refused.status == 409
    answer = await refused.json()
    assert answer == {
        "error": "refused",
        "message": f"WO-{seq} is completed: it can't be reassigned now.",
        "can_override": False,
    }
    body = {"work_order": f"WO-{seq}", "technician": "T99"}
    assert (await p.client.post("/api/v1/board/assign", json=body, headers=headers)).status == 404


async def test_boardlink_sends_a_one_time_link_that_logs_the_dispatcher_in(
    product: Product,
) -> None:
    status, twiml = await product.sms("+15125550190", "/boardlink")
    assert status == 200
    found = re.search(r"/board/login/([A-Za-z0-9_-]{40,})", twiml)
    assert found is not None, twiml
    page = await product.client.get(f"/board/login/{found[1]}")
    assert page.status == 200
