"""Benchmark: the instructions one SMS webhook costs the web process, counted by callgrind.

CPU time on a shared machine moves by 10-15% from one run to the next, more than most
changes worth making; an instruction count does not (the same code on the same input counts
the same, whatever else the machine is doing). The request benchmark's server runs under
`valgrind --tool=callgrind` with counting off; WARMUP signed SMS build its caches, then
counting is switched on for REQUESTS more (each a new work order, as in the request
benchmark) and the counts dumped. About 50 times slower than the plain server, so fewer
requests than the request benchmark's. Skipped, saying so, where valgrind is not installed.

It counts twice: on a new database, and in the load benchmark's steady state, where the
request costs what it costs at the load's top rates. For that the plain server first opens
STEADY_FILL work orders (the demo's twelve technicians' days all full, most jobs flagged
after the later days are searched, as in the load's 300/s phase), then the server under
callgrind counts on the same database.

The steady state is counted on PostgreSQL too, when a server answers: the web process
alone, for the load's target on PostgreSQL. The database server's processes do a quarter
to a third of that request's work (the load bench's CPU reading) and are not counted: they
are the server's, not this process's, and run outside valgrind.

    python -m tests.bench instructions     # prints, merges {"instructions": ...}
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import aiohttp

from tests.bench import bench_company, bench_load, bench_request, bench_server

WARMUP = 50
REQUESTS = 100


def _totals(dump: Path) -> int:
    """The instruction count in one callgrind dump ("totals:" or "summary:" line)."""
    for line in dump.read_text().splitlines():
        if line.startswith(("totals:", "summary:")):
            return int(line.split()[1])
    raise ValueError(f"{dump}: no totals line")


async def _send(port: int, numbers: range, phones: list[str]) -> int:
    ok = 0
    async with aiohttp.ClientSession() as http:
        for n in numbers:
            ok += 200 <= await bench_server.send_new_problem(http, port, n, phones) < 300
    return ok


STEADY_FILL = 4_000  # work orders opened before the steady-state count
FILL_IN_FLIGHT = 8


async def _fill(port: int, numbers: range, phones: list[str]) -> int:
    """Many new work orders quickly: a few requests in flight, as fast as answered."""
    gate = asyncio.Semaphore(FILL_IN_FLIGHT)
    async with aiohttp.ClientSession() as http:

        async def one(n: int) -> bool:
            async with gate:
                return 200 <= await bench_server.send_new_problem(http, port, n, phones) < 300

        return sum(await asyncio.gather(*(one(n) for n in numbers)))


def measure(folder: Path, *, fill: int = 0, database_url: str | None = None) -> dict[str, Any]:
    """With `fill`, that many work orders are opened first by the plain server. On SQLite in
    `folder` unless `database_url` names another database (a new one)."""
    url = database_url or f"sqlite+aiosqlite:///{folder / 'instructions.db'}"
    env = bench_request.prepared(url, folder)
    # String hashes are random per process by default, and with them the order of sets and
    # the work of dict lookups: two runs of the same code differed by up to 1.5%.
    env["PYTHONHASHSEED"] = "0"
    phones = bench_company.customer_phones(bench_request.CUSTOMERS)
    if fill:
        with bench_request.server(env) as (port, _):
            filled = asyncio.run(_fill(port, range(fill), phones))
        if filled != fill:
            raise AssertionError(f"instructions: {filled}/{fill} answered while filling")
        if url.startswith("postgresql") and asyncio.run(bench_load.without_autovacuum(url)):
            asyncio.run(bench_load.analyze(url))  # as the load bench does before each rate
    out = folder / "callgrind.out"
    under = ("valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}")
    first = fill + WARMUP
    with bench_request.server(env, under=under, start_limit=900) as (port, proc):
        warmed = asyncio.run(_send(port, range(fill, first), phones))
        before = set(folder.glob("callgrind.out*"))
        subprocess.run(["callgrind_control", "-i", "on", str(proc.pid)], check=True)
        ok = asyncio.run(_send(port, range(first, first + REQUESTS), phones))
        subprocess.run(["callgrind_control", "-d", str(proc.pid)], check=True)
        dumps = sorted(set(folder.glob("callgrind.out*")) - before)
    if warmed != WARMUP or ok != REQUESTS or len(dumps) != 1:
        raise AssertionError(
            f"instructions: {warmed}/{WARMUP} warm-up and {ok}/{REQUESTS} requests answered, "
            f"{len(dumps)} dumps"
        )
    total = _totals(dumps[0])
    return {
        "requests": REQUESTS,
        "warmup": WARMUP,
        "work_orders_before": fill,
        "instructions_per_request": total // REQUESTS,
    }


def run() -> dict[str, Any]:
    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        print("instructions: valgrind not installed, skipped")
        return {"skipped": "valgrind not installed"}
    with tempfile.TemporaryDirectory(prefix="callout-instructions-") as tmp:
        result = measure(Path(tmp))
    print(
        f"instructions: {result['instructions_per_request'] / 1e6:.2f} M a signed SMS in the "
        f"web process on SQLite (callgrind, {REQUESTS} requests after {WARMUP})"
    )
    with tempfile.TemporaryDirectory(prefix="callout-instructions-") as tmp:
        steady = measure(Path(tmp), fill=STEADY_FILL)
    print(
        f"instructions: {steady['instructions_per_request'] / 1e6:.2f} M in the load's steady "
        f"state ({STEADY_FILL:,} work orders opened first)"
    )
    found: dict[str, Any] = {**result, "steady_state": steady}
    base = bench_load.postgres_url()
    if base is None:
        print("instructions: PostgreSQL not answering, its count skipped")
        return found
    with (
        bench_load.postgres_database(base, "callout_bench_instructions") as url,
        tempfile.TemporaryDirectory(prefix="callout-instructions-pg-") as tmp,
    ):
        on_pg = measure(Path(tmp), fill=STEADY_FILL, database_url=url)
    print(
        f"instructions: {on_pg['instructions_per_request'] / 1e6:.2f} M in the web process on "
        f"PostgreSQL in the load's steady state (the database server's own not counted)"
    )
    return {**found, "postgres_steady_state": on_pg}
