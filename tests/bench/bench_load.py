"""Benchmark: signed Twilio SMS webhooks against `callout serve --no-worker`, open loop.

Each request is a new text from one of 970 generated customers (plus the demo's 30) that
says it is a new problem ("another problem: the toilet keeps running all night"), the skills
in rotation, so each runs intake, opens a new work order and queues an offer or a flag; a
text that said nothing of the kind would be added to the customer's open work order, a much
cheaper path. After each rate the work orders in the database are counted: if fewer than
NEW_SHARE of the answered requests opened one, the benchmark fails. Rates climb until the
server saturates (under 80% of the offered rate, or p99 over 5 s); the same load generator
against a bare aiohttp app gives the ceiling. SQLite with one web process, then SQLite as
the Procfile runs it (one web process and `callout worker` beside it, sending the offers
to a Twilio double), then PostgreSQL (if it answers) with two web processes, the load split
between them.

    python -m tests.bench.bench_load       # prints a table, merges {"load": ...}
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from tests.bench import bench_company, bench_server, cpu, loadgen
from tests.bench.bench_server import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    Built,
    environment,
    form_request,
    new_problem,
    post,
    servers,
    sms_form,
)

DEFAULT_RATES = (
    "2,5,10,25,50,75,100,125,150,200,300,500,750,1000,1500,2000,3000,4000,5000,7500,10000,"
    "15000,20000"
)
RATES = tuple(int(r) for r in os.environ.get("CALLOUT_BENCH_RATES", DEFAULT_RATES).split(","))
SECONDS = 5.0
CUSTOMERS = 970  # plus the demo's 30: 1,000 (intake cost grows with it)
NEW_SHARE = 0.95  # of the answered requests, at least this many must open a work order
TIMEOUT = 15.0  # a request slower than this counts as an error
RESULTS = Path(__file__).resolve().parents[2] / "bench-results.json"
POSTGRES_ADMIN = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"

Request = Callable[[int], Built]  # the n-th request, encoded and signed
Counter = Callable[[], Awaitable[int]]  # work orders in the database now


@dataclass(frozen=True)
class Phase:
    rate: int
    sent: int
    ok: int
    errors: int
    throughput: float
    p50_ms: float
    p99_ms: float
    failures: str  # "status×count" of the errors; 0 is a timeout or a refused connection
    new_work_orders: int | None = None  # opened during the phase (None: not counted, bare)
    # ms of CPU a request answered: the product's processes, the database server's (on
    # PostgreSQL), the generator's, and all (tests/bench/cpu.py); empty where /proc is not
    cpu_ms: dict[str, float] = field(default_factory=dict)

    @property
    def saturated(self) -> bool:
        return self.throughput < 0.8 * self.rate or self.p99_ms > 5000

    def as_dict(self) -> dict[str, float | str | dict[str, float] | None]:
        return {
            "rate": self.rate,
            "sent": self.sent,
            "ok": self.ok,
            "errors": self.errors,
            "throughput": self.throughput,
            "p50_ms": self.p50_ms,
            "p99_ms": self.p99_ms,
            "failures": self.failures,
            "new_work_orders": self.new_work_orders,
            "cpu_ms_a_request": self.cpu_ms or None,
        }


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1)


async def phase(rate: int, request: Request, counter: itertools.count[int]) -> Phase:
    """Open loop (`loadgen`): request i leaves at start + i/rate whatever happened to the
    earlier ones; latency counts from that planned moment (no coordinated omission). The
    requests are encoded and signed before the phase starts: the generator shares the
    server's cores."""
    total = int(rate * SECONDS)
    raws = [
        loadgen.encode(b.url, b.body, b.headers)
        for b in (request(next(counter)) for _ in range(total))
    ]
    got = await loadgen.open_loop(raws, rate, TIMEOUT)
    return Phase(
        rate=rate,
        sent=total,
        ok=len(got.latencies),
        errors=sum(got.failed.values()),
        throughput=round(len(got.latencies) / got.elapsed, 1),
        p50_ms=round(statistics.median(got.latencies), 1) if got.latencies else 0.0,
        p99_ms=_percentile(got.latencies, 0.99),
        failures=" ".join(f"{k}×{v}" for k, v in sorted(got.failed.items())),
    )


async def _settle(ports: list[int], limit: float = 120) -> None:
    """Wait until the servers answer /healthz quickly again (the backlog is drained)."""
    deadline = time.monotonic() + limit
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            started = time.perf_counter()
            try:
                for port in ports:
                    async with http.get(f"http://127.0.0.1:{port}/healthz") as r:
                        await r.read()
            except aiohttp.ClientError:
                pass
            if time.perf_counter() - started < 0.1:
                return
            await asyncio.sleep(0.5)


async def _rows(database_url: str, sql: str) -> list[tuple[Any, ...]]:
    from sqlalchemy import text

    from storage.db import make_engine

    engine = make_engine(database_url)
    try:
        async with engine.connect() as conn:
            return [tuple(row) for row in await conn.execute(text(sql))]
    finally:
        await engine.dispose()


async def count_work_orders(database_url: str) -> int:
    return int((await _rows(database_url, "SELECT count(*) FROM work_orders"))[0][0])


async def outbox_by_status(database_url: str) -> dict[str, int]:
    rows = await _rows(database_url, "SELECT status, count(*) FROM outbox GROUP BY status")
    return {str(status): int(n) for status, n in rows}


async def without_autovacuum(database_url: str) -> bool:
    """Whether the PostgreSQL server runs without autovacuum (this machine's does)."""
    from storage.db import make_engine
    from storage.migrate import autovacuum_off

    engine = make_engine(database_url)
    try:
        return await autovacuum_off(engine)
    finally:
        await engine.dispose()


async def analyze(database_url: str) -> None:
    """What autovacuum does to a table once a tenth of it has changed: fresh statistics.
    The load grows the database from nothing to thousands of rows in a minute or two;
    planned on the empty tables' estimates, the day read joined every live offer to
    every booked work order (about 2.7 ms of the server's time against 0.5 ms)."""
    from sqlalchemy import text

    from storage.db import make_engine

    engine = make_engine(database_url).execution_options(isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text("ANALYZE"))
    finally:
        await engine.dispose()


def check_new_work_orders(label: str, ok: int, new: int | None) -> list[str]:
    """Why the figure is not honest, if it is not: too few requests opened a work order."""
    if new is None or new >= NEW_SHARE * ok:
        return []
    return [
        f"{label}: only {new} of {ok} answered requests opened a new work order "
        f"(at least {NEW_SHARE:.0%} must); the rest took a cheaper path"
    ]


def sms_request(ports: list[int]) -> Request:
    """A new problem from customer n, to the servers in turn. 970 customers and 8 skills:
    a customer's texts go round the skills, not the same one each time."""
    phones = bench_company.customer_phones(CUSTOMERS)

    def build(n: int) -> Built:
        return new_problem(ports[n % len(ports)], n, phones)

    return build


def bare_request(port: int) -> Request:
    def build(n: int) -> Built:
        form = sms_form(f"SM{n:032d}", "+15125550126", bench_company.new_problem_text(n))
        return form_request(f"http://127.0.0.1:{port}/", form)

    return build


WARMUP = 20  # requests per server before measuring: the first ones build caches


async def warm_up(request: Request, ports: list[int], counter: itertools.count[int]) -> None:
    """Each process builds its company cache and intake model on its first messages (about
    half a second); a deployment pays that once, not per rate, so it is not measured."""
    async with aiohttp.ClientSession() as http:
        for _ in range(WARMUP * len(ports)):
            await post(http, request(next(counter)))
    await _settle(ports)


async def climb(
    request: Request,
    ports: list[int],
    label: str,
    orders: Counter | None = None,
    between: Callable[[], Awaitable[object]] | None = None,
    meter: cpu.Meter | None = None,
) -> list[Phase]:
    """With `orders`, the work orders each phase opened are counted once its backlog is
    drained (a request the generator gave up on may still have opened one). `between`
    runs before each phase. With `meter`, each phase's CPU a request answered."""
    phases: list[Phase] = []
    counter = itertools.count()
    await warm_up(request, ports, counter)
    for rate in RATES:
        if between is not None:
            await between()
        before = None if orders is None else await orders()
        cpu_before = meter.read() if meter is not None else None
        result = await phase(rate, request, counter)
        if meter is not None:
            await asyncio.sleep(0)  # the phase's connections, closed, let go of their sockets
            result = replace(result, cpu_ms=cpu.per_request(cpu_before, meter.read(), result.ok))
        await _settle(ports)
        if orders is not None and before is not None:
            result = replace(result, new_work_orders=await orders() - before)
        phases.append(result)
        print(f"  {label:<22} {_row(result)}", flush=True)
        if result.saturated:
            break
    return phases


def _row(p: Phase) -> str:
    return (
        f"{p.rate:>5}/s  {p.throughput:>7.1f}/s  p50 {p.p50_ms:>8.1f} ms  "
        f"p99 {p.p99_ms:>8.1f} ms  errors {p.errors}/{p.sent} {p.failures}"
        + ("" if p.new_work_orders is None else f"  new work orders {p.new_work_orders}/{p.ok}")
        + (f"  CPU {_cpu(p.cpu_ms, p.rate)}" if p.cpu_ms else "")
    )


def _cpu(ms: dict[str, float], rate: int) -> str:
    parts = ", ".join(f"{k} {v:.2f}" for k, v in ms.items() if k != "all")
    return f"{ms['all']:.2f} ms a request ({parts}; the cores allow {cpu.allowed_ms(rate):.2f})"


BARE_APP = """
import sys
from aiohttp import web
async def ok(request):
    await request.read()
    return web.Response(text="<Response/>", content_type="text/xml")
app = web.Application()
app.router.add_route("*", "/{tail:.*}", ok)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None)
"""


def ceiling() -> list[Phase]:
    port = bench_server.free_port()
    proc = subprocess.Popen([sys.executable, "-c", BARE_APP, str(port)], start_new_session=True)
    try:
        asyncio.run(bench_server.wait_healthy(port, proc))
        meter = cpu.Meter([proc.pid]) if cpu.available() else None
        return asyncio.run(climb(bare_request(port), [port], "bare aiohttp", meter=meter))
    finally:
        bench_server.stop(proc)


def against(
    database_url: str,
    folder: Path,
    processes: int,
    label: str,
    *,
    analyzed: bool = False,
    worker: bool = False,
) -> list[Phase]:
    """`analyzed`: ANALYZE before each rate, standing in for the autovacuum the server lacks.
    `worker`: `callout worker` runs beside the web processes, as the Procfile has it, and
    sends the outbox to the Twilio double; on SQLite the two take turns on the one writer."""
    env = environment(database_url, folder / "media")
    company = bench_company.write(folder / "company.yaml", CUSTOMERS)
    bench_server.prepare(env, company)
    with ExitStack() as stack:
        pids: list[int] = []
        if worker:
            env["TWILIO_API_BASE_URL"] = stack.enter_context(twilio_double(env))
            sender = bench_server.spawn([*bench_server.CALLOUT, "worker"], env)
            stack.callback(bench_server.stop, sender)
            pids.append(sender.pid)
        running = stack.enter_context(servers(env, processes))
        ports = [port for port, _ in running]
        pids += [pid for _, pid in running]
        # The server's processes are read from /proc only when it runs on this machine.
        local = database_url.startswith("postgresql") and urlsplit(database_url).hostname in {
            "127.0.0.1",
            "localhost",
            "::1",
        }
        meter = cpu.Meter(pids, database=local) if cpu.available() else None

        async def orders() -> int:
            return await count_work_orders(database_url)

        async def fresh_statistics() -> None:
            await analyze(database_url)

        between = fresh_statistics if analyzed else None
        return asyncio.run(climb(sms_request(ports), ports, label, orders, between, meter))


TWILIO_DOUBLE = """
import asyncio, sys
from tests.doubles.twilio_api import TwilioDouble
async def main():
    port, sid, token = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    async with TwilioDouble(account_sid=sid, auth_token=token, port=port):
        print("ready", flush=True)
        await asyncio.Event().wait()
try:
    asyncio.run(main())
except KeyboardInterrupt:
    pass
"""


@contextmanager
def twilio_double(env: dict[str, str]) -> Iterator[str]:
    """The Twilio REST double of the tests, in a process of its own; yields its base URL."""
    port = bench_server.free_port()
    proc = subprocess.Popen(
        [sys.executable, "-c", TWILIO_DOUBLE, str(port), ACCOUNT_SID, AUTH_TOKEN],
        env=env,
        cwd=bench_server.ROOT,
        stdout=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        assert proc.stdout is not None
        if proc.stdout.readline().strip() != b"ready":
            raise RuntimeError(f"the Twilio double did not start ({proc.wait(5)})")
        yield f"http://127.0.0.1:{port}"
    finally:
        bench_server.stop(proc)


def postgres_url() -> str | None:
    from tests.databases import POSTGRES_URL, postgres_problem

    if postgres_problem() is not None:
        return None
    return POSTGRES_URL


@contextmanager
def postgres_database(base: str, prefix: str) -> Iterator[str]:
    """A fresh database on the server `base` points at, dropped after."""
    from tests.databases import create_postgres_database, drop_postgres_database

    url = f"{base.rpartition('/')[0]}/{prefix}_{os.getpid()}"
    asyncio.run(create_postgres_database(url))
    try:
        yield url
    finally:
        asyncio.run(drop_postgres_database(url))


def summary(phases: list[Phase]) -> dict[str, Any]:
    """The README's row: the best throughput, where it saturated, p50/p99 at 100 a second."""
    at_100 = next((p for p in phases if p.rate == 100), None)
    saturated = next((p for p in phases if p.saturated), None)
    return {
        "best_per_s": max((p.throughput for p in phases), default=0.0),
        "saturated_at_rate": None if saturated is None else saturated.rate,
        "p50_ms_at_100": None if at_100 is None else at_100.p50_ms,
        "p99_ms_at_100": None if at_100 is None else at_100.p99_ms,
    }


def short_phases(label: str, phases: list[Phase]) -> list[str]:
    return [
        why
        for p in phases
        for why in check_new_work_orders(f"{label} at {p.rate}/s", p.ok, p.new_work_orders)
    ]


def run() -> dict[str, Any]:
    result: dict[str, Any] = {
        "seconds_per_rate": SECONDS,
        "customers": CUSTOMERS + 30,
        "every_request_new_work_order": True,
    }
    print("load: signed SMS webhooks, open loop, rate → achieved, latency, errors")
    with tempfile.TemporaryDirectory(prefix="callout-load-") as tmp:
        folder = Path(tmp)
        sqlite = against(f"sqlite+aiosqlite:///{folder / 'load.db'}", folder, 1, "sqlite, 1 web")
        result["sqlite_1_web"] = [p.as_dict() for p in sqlite]
        result["sqlite_1_web_summary"] = summary(sqlite)
    short = short_phases("sqlite, 1 web", sqlite)
    with tempfile.TemporaryDirectory(prefix="callout-load-worker-") as tmp:
        folder = Path(tmp)
        url = f"sqlite+aiosqlite:///{folder / 'load.db'}"
        paired = against(url, folder, 1, "sqlite, web + worker", worker=True)
        outbox = asyncio.run(outbox_by_status(url))
    print(f"  sqlite, web + worker: the outbox at the end {outbox}", flush=True)
    result["sqlite_web_and_worker"] = [p.as_dict() for p in paired]
    result["sqlite_web_and_worker_summary"] = summary(paired)
    result["sqlite_web_and_worker_outbox"] = outbox
    short += short_phases("sqlite, web + worker", paired)
    bare = ceiling()
    result["bare_aiohttp"] = [p.as_dict() for p in bare]
    result["bare_aiohttp_summary"] = summary(bare)
    best = max((p.throughput for p in sqlite), default=0.0)
    top = max((p.throughput for p in bare), default=0.0)
    result["sqlite_best_per_s"] = best
    result["bare_best_per_s"] = top
    result["sqlite_to_bare_ratio"] = round(best / top, 4) if top else 0.0
    base = postgres_url()
    if base is None:
        print("  postgres: not answering, skipped")
    else:
        try:
            phases, analyzed = _postgres(base)
        except Exception as err:  # keep the SQLite figures; say why PostgreSQL has none
            print(f"  postgres: failed: {err}")
            result["postgres_error"] = str(err)[:500]
        else:
            best = max((p.throughput for p in phases), default=0.0)
            result["postgres_analyzed_before_each_rate"] = analyzed  # autovacuum was off
            result["postgres_2_web"] = [p.as_dict() for p in phases]
            result["postgres_2_web_summary"] = summary(phases)
            result["postgres_best_per_s"] = best
            result["postgres_to_bare_ratio"] = round(best / top, 4) if top else 0.0
            short += short_phases("postgres, 2 web", phases)
    if short:
        # Figures from requests that did not open a work order flatter the server: refuse them.
        raise AssertionError("load: " + "; ".join(short))
    return result


def _postgres(base: str) -> tuple[list[Phase], bool]:
    """The phases, and whether the bench analyzed the database (the server would not)."""
    with (
        postgres_database(base, "callout_bench") as url,
        tempfile.TemporaryDirectory(prefix="callout-load-pg-") as tmp,
    ):
        # A deployment's server analyzes tables as they change (autovacuum, on by default).
        # This machine's runs with it off, so the bench does that part itself.
        off = asyncio.run(without_autovacuum(url))
        if off:
            print("  postgres: autovacuum is off on this server; ANALYZE before each rate")
        return against(url, Path(tmp), 2, "postgres, 2 web", analyzed=off), off


def main() -> None:
    result = run()
    merged: dict[str, object] = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    merged["load"] = result
    RESULTS.write_text(json.dumps(merged, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
