"""Benchmark: the floor under the load targets. A request's SQL alone, with none of its work.

The request benchmark counts the statements one new work order costs (about 16 on either
database, in two transactions: the payload stored first, then everything it causes). This
one sends that many statements a request, and nothing else, through the same engine the
server uses (`storage.db.make_engine`: SQLAlchemy's asyncio layer, asyncpg or the SQLite
driver of `storage/sqlite_inline.py`, BEGIN IMMEDIATE and the writer lock on SQLite), from
one process and from two, CONCURRENCY requests in flight in each, for SECONDS: no HTTP, no
intake, no planning, no object built from a row. Each request is one INSERT in its own
transaction, then STATEMENTS - 1 in a second one, alternating an INSERT and a SELECT by an
indexed key, on a table of the bench's own.

What it answers: the most requests a second the statements of a request allow on this
machine, before any of the product's own work. If that is near a target, no saving in the
Python around the statements can reach the target; only fewer statements a request can.

    python -m tests.bench floor          # prints, merges {"floor": ...}
"""

from __future__ import annotations

import asyncio
import multiprocessing
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

SECONDS = 5.0
CONCURRENCY = 8
STATEMENTS = 16  # the request benchmark's statements a request, BEGINs left out
FEWER = (8, 4)  # on PostgreSQL, two processes: what a leaner request would allow
TABLE = "bench_floor"  # the statements below name it


@dataclass(frozen=True)
class Floor:
    processes: int
    statements: int
    requests: int
    seconds: float
    per_s: float
    client_cpu_ms: float  # the bench processes' CPU a request (the database server's not in it)


async def _create(url: str) -> None:
    from sqlalchemy import text

    from storage.db import make_engine

    engine = make_engine(url)
    try:
        async with engine.begin() as conn:
            key = "INTEGER" if url.startswith("sqlite") else "SERIAL"
            await conn.execute(text("DROP TABLE IF EXISTS bench_floor"))
            await conn.execute(
                text(f"CREATE TABLE bench_floor (id {key} PRIMARY KEY, k VARCHAR(40), v TEXT)")
            )
            await conn.execute(text("CREATE INDEX bench_floor_k ON bench_floor (k)"))
    finally:
        await engine.dispose()


async def _requests(url: str, tag: str, statements: int, until: float) -> tuple[int, float]:
    """Requests done before `until` (time.monotonic), and this process's CPU seconds."""
    from sqlalchemy import text

    from storage.db import make_engine

    insert = text("INSERT INTO bench_floor (k, v) VALUES (:k, 'a new work order, say')")
    select = text("SELECT id, k, v FROM bench_floor WHERE k = :k")
    engine = make_engine(url)
    done = 0
    cpu = time.process_time()

    async def loop(lane: int) -> None:
        nonlocal done
        n = 0
        while time.monotonic() < until:
            key = f"{tag}-{lane}-{n}"
            async with engine.begin() as conn:
                await conn.execute(insert, {"k": key})
            async with engine.begin() as conn:
                for i in range(statements - 1):
                    await conn.execute(select if i % 2 else insert, {"k": key})
            n += 1
            done += 1

    try:
        await asyncio.gather(*(loop(lane) for lane in range(CONCURRENCY)))
    finally:
        await engine.dispose()
    return done, time.process_time() - cpu


def _warm() -> None:
    import storage.db  # noqa: F401  (imported before the clock starts)


def _settle(_: int) -> None:
    time.sleep(0.3)  # long enough that every process of the pool takes one


def _process(args: tuple[str, str, int, float]) -> tuple[int, float]:
    url, tag, statements, until = args
    return asyncio.run(_requests(url, tag, statements, until))


def inserts_a_request(statements: int) -> int:
    """The rows one request adds: the first transaction's, then every other statement's."""
    return 1 + statements // 2


def measure(
    url: str, processes: int, statements: int = STATEMENTS, seconds: float = SECONDS
) -> Floor:
    asyncio.run(_create(url))
    context = multiprocessing.get_context("spawn")
    with context.Pool(processes, initializer=_warm) as pool:
        # The clock starts once every process is up: spawning and importing are not counted.
        pool.map(_settle, range(processes), chunksize=1)
        started = time.monotonic()
        until = started + seconds
        lanes = [(url, f"p{i}", statements, until) for i in range(processes)]
        done = pool.map(_process, lanes, chunksize=1)
        seconds = time.monotonic() - started
    requests = sum(n for n, _ in done)
    cpu = sum(c for _, c in done)
    return Floor(
        processes=processes,
        statements=statements,
        requests=requests,
        seconds=round(seconds, 2),
        per_s=round(requests / seconds, 1),
        client_cpu_ms=round(cpu * 1000 / max(requests, 1), 2),
    )


def _line(label: str, f: Floor) -> str:
    return (
        f"  {label:<10} {f.processes} process{'es' if f.processes > 1 else '  '}  "
        f"{f.per_s:>7.0f} requests/s  ({f.statements} statements a request, "
        f"{f.client_cpu_ms:.2f} ms CPU a request in the bench's processes)"
    )


def run() -> dict[str, Any]:
    from tests.bench.bench_load import postgres_database, postgres_url

    print(
        f"floor: {STATEMENTS} statements a request and nothing else, {CONCURRENCY} in flight "
        f"a process, {SECONDS:.0f} s each:"
    )
    result: dict[str, Any] = {"statements": STATEMENTS, "concurrency": CONCURRENCY}
    with tempfile.TemporaryDirectory(prefix="callout-floor-") as tmp:
        for processes in (1, 2):
            url = f"sqlite+aiosqlite:///{Path(tmp) / f'floor-{processes}.db'}"
            floor = measure(url, processes)
            result[f"sqlite_{processes}"] = asdict(floor)
            print(_line("sqlite", floor), flush=True)
    base = postgres_url()
    if base is None:
        print("  postgres: not answering, skipped")
        return result
    with postgres_database(base, "callout_bench_floor") as url:
        for processes in (1, 2):
            floor = measure(url, processes)
            result[f"postgres_{processes}"] = asdict(floor)
            print(_line("postgres", floor), flush=True)
        # What a request of fewer statements would allow (the target is 500 a second).
        for statements in FEWER:
            floor = measure(url, 2, statements)
            result[f"postgres_2_{statements}_statements"] = asdict(floor)
            print(_line("postgres", floor), flush=True)
    return result


if __name__ == "__main__":
    import sys

    from tests.bench.__main__ import main

    sys.exit(main(["floor"]))
