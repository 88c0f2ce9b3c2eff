"""Benchmark: resident memory of one web process holding a big day.

200 technicians and 10,000 open work orders (generated company, bulk-inserted through the
repositories) on SQLite; `callout serve --no-worker` then serves every page of the work-order
list, single work orders, technicians, the board, and a few inbound texts. Target: < 300 MB.

    python -m tests.bench.bench_memory     # prints, merges {"memory": ...}
"""

from __future__ import annotations

import asyncio
import json
import random
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp

from dispatch.workorder import Status, WorkOrder
from storage.db import make_engine, session_factory
from storage.uow import SqlUnitOfWork
from tests.bench import bench_company
from tests.bench.bench_server import (
    DEMO_NOW,
    SMS_PATH,
    callout,
    environment,
    prepare,
    rss_mib,
    servers,
    signature,
    sms_form,
)

TECHNICIANS = 200
CUSTOMERS = 170
WORK_ORDERS = 10_000
TARGET_MB = 300.0
SKILLS = ("hvac", "plumbing", "electrical", "appliance", "garage_door")
RESULTS = Path(__file__).resolve().parents[2] / "bench-results.json"


async def insert_work_orders(database_url: str, count: int) -> None:
    """Open work orders (ready, needs info, assigned) spread over the generated customers."""
    rng = random.Random(bench_company.SEED)
    now = datetime.fromisoformat(DEMO_NOW)
    engine = make_engine(database_url)
    try:
        sessions = session_factory(engine)
        for start in range(0, count, 1000):
            async with SqlUnitOfWork(sessions) as uow:
                for i in range(start, min(count, start + 1000)):
                    customer = rng.randrange(CUSTOMERS)
                    status = rng.choice((Status.READY, Status.NEEDS_INFO, Status.ASSIGNED))
                    wo = WorkOrder(
                        seq=await uow.work_orders.next_seq(),
                        customer_id=f"G{customer:05d}",
                        site_id=f"GS{customer:05d}",
                        description=bench_company.request_text(i),
                        created_at=now - timedelta(minutes=rng.randrange(60 * 24 * 14)),
                        priority=rng.choice(("P2", "P3", "P3", "P4")),
                        skill=rng.choice(SKILLS),
                        status=status,
                        technician_id=(
                            f"X{rng.randrange(TECHNICIANS - 12):03d}"
                            if status is Status.ASSIGNED
                            else None
                        ),
                        source_channel="sms",
                    )
                    wo.record(wo.created_at, "created", "bench")
                    await uow.work_orders.add(wo)
                await uow.commit()
    finally:
        await engine.dispose()


async def exercise(port: int, token: str) -> dict[str, Any]:
    """The reads a board and an integration make, then a few texts; statuses are counted."""
    base = f"http://127.0.0.1:{port}"
    auth = {"Authorization": f"Bearer {token}"}
    statuses: dict[str, int] = {}
    timings: dict[str, float] = {}
    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(timeout=timeout) as http:

        async def get(label: str, url: str) -> Any:
            started = time.perf_counter()
            async with http.get(base + url, headers=auth) as r:
                body = await r.read()
                key = f"{label} {r.status}"
                statuses[key] = statuses.get(key, 0) + 1
            timings[label] = max(timings.get(label, 0.0), time.perf_counter() - started)
            return json.loads(body) if body.startswith(b"{") else None

        cursor: str | None = None
        for _ in range(WORK_ORDERS // 200 + 2):
            page = await get(
                "list", "/api/v1/work-orders?limit=200" + (f"&cursor={cursor}" if cursor else "")
            )
            cursor = page.get("next") if page else None
            if not cursor:
                break
        for seq in random.Random(1).sample(range(1001, 1001 + WORK_ORDERS), 100):
            await get("work_order", f"/api/v1/work-orders/WO-{seq}")
        await get("technicians", "/api/v1/technicians")
        for _ in range(3):
            await get("board", "/api/v1/board")
        for n in range(10):  # demo customers, who have no open work order: new ones
            form = sms_form(f"SM{n:032d}", f"+1512555012{n}", bench_company.request_text(n))
            started = time.perf_counter()
            async with http.post(
                base + SMS_PATH, data=form, headers={"X-Twilio-Signature": signature(form)}
            ) as r:
                await r.read()
                key = f"sms {r.status}"
                statuses[key] = statuses.get(key, 0) + 1
            timings["sms"] = max(timings.get("sms", 0.0), time.perf_counter() - started)
    return {"statuses": statuses, "slowest_s": {k: round(v, 2) for k, v in timings.items()}}


def run() -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="callout-memory-") as tmp:
        folder = Path(tmp)
        url = f"sqlite+aiosqlite:///{folder / 'memory.db'}"
        env = environment(url, folder / "media")
        company = bench_company.write(folder / "company.yaml", CUSTOMERS, TECHNICIANS)
        prepare(env, company)
        started = time.perf_counter()
        asyncio.run(insert_work_orders(url, WORK_ORDERS))
        insert_s = time.perf_counter() - started
        token = callout(env, "token", "create", "bench-memory").strip().splitlines()[-1]
        with servers(env, 1) as [(port, pid)]:
            idle, _ = rss_mib(pid)
            exercised = asyncio.run(exercise(port, token))
            current, peak = rss_mib(pid)
    result: dict[str, Any] = {
        "technicians": TECHNICIANS,
        "open_work_orders": WORK_ORDERS,
        "insert_s": round(insert_s, 1),
        "rss_idle_mb": idle,
        "rss_after_mb": current,
        "rss_peak_mb": peak,
        "target_mb": TARGET_MB,
        "within_target": peak < TARGET_MB,
        **exercised,
    }
    print(
        f"memory: {TECHNICIANS} technicians, {WORK_ORDERS} open work orders: RSS idle {idle} MB, "
        f"after the reads and texts {current} MB, peak {peak} MB (target < {TARGET_MB:.0f} MB)"
    )
    print(f"  responses {exercised['statuses']}; slowest {exercised['slowest_s']}")
    return result


def main() -> None:
    result = run()
    merged: dict[str, object] = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    merged["memory"] = result
    RESULTS.write_text(json.dumps(merged, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
