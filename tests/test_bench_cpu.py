"""The load benchmark's CPU meter (`tests/bench/cpu.py`): what it reads from /proc is the
CPU a process really spent, it finds the PostgreSQL server's processes, and it divides what
was spent between two readings by the requests answered."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import text

from storage.db import make_engine
from tests.bench import cpu
from tests.databases import need_postgres

pytestmark = pytest.mark.skipif(not cpu.available(), reason="no /proc: the meter reads Linux's")

# Spins until it has spent `seconds` of its own CPU, says so, then waits to be stopped: what
# it spent does not depend on how fast the machine is.
BURN = """
import sys, time
while time.process_time() < float(sys.argv[1]):
    pass
print("spent", flush=True)
sys.stdin.read()
"""


@contextmanager
def _burning(seconds: float) -> Iterator[int]:
    proc = subprocess.Popen(
        [sys.executable, "-c", BURN, str(seconds)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == b"spent"
        yield proc.pid
    finally:
        proc.kill()
        proc.wait()


def test_a_process_that_spent_a_second_reads_about_a_second() -> None:
    with _burning(1.0) as busy, _burning(0.0) as idle:
        busy_s = cpu.process_seconds(busy)
        idle_s = cpu.process_seconds(idle)
    assert busy_s is not None and idle_s is not None
    assert busy_s >= 0.95  # whole clock ticks: at most a tick or two below what it spent
    assert idle_s < 0.5  # the interpreter's start alone
    assert cpu.process_seconds(busy) is None  # gone


def test_the_meter_reads_its_processes_and_this_one() -> None:
    with _burning(0.6) as pid:
        meter = cpu.Meter([pid])
        before = meter.read()
        assert before is not None
        while time.process_time() < before.generator + 0.05:  # this process spends some
            sum(range(10_000))
        after = meter.read()
    assert after is not None
    assert set(after.callout) == {pid}
    assert after.callout[pid] >= 0.55
    assert after.database is None
    assert after.generator >= before.generator + 0.05


def test_per_request_divides_what_was_spent_by_the_answered() -> None:
    before = cpu.Reading(callout={1: 10.0, 2: 20.0}, database={7: 5.0, 8: 1.0}, generator=3.0)
    after = cpu.Reading(
        # 1 spent 1 s, 2 spent 0.5 s; database backend 9 is new (counted from its start),
        # 8 has gone (not counted)
        callout={1: 11.0, 2: 20.5},
        database={7: 5.25, 9: 0.25},
        generator=3.1,
    )
    assert cpu.per_request(before, after, 500) == {
        "callout": 3.0,
        "generator": 0.2,
        "database": 1.0,
        "all": 4.2,
    }
    assert list(cpu.per_request(before, after, 500)) == ["callout", "database", "generator", "all"]
    assert cpu.per_request(before, after, 0) == {}
    without = cpu.Reading(callout={1: 10.0}, database=None, generator=1.0)
    assert "database" not in cpu.per_request(without, without, 10)


@pytest.mark.postgres
async def test_the_database_servers_processes_include_our_connections_backend(
    postgres_ready: tuple[str | None, str],
) -> None:
    problem, url = postgres_ready
    need_postgres(problem)
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            backend = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
            if backend not in cpu.database_pids():
                # A server in a container: its pids are not this machine's. CI's is local.
                need_postgres("the PostgreSQL server's processes are not this machine's")
            reading = cpu.Meter([], database=True).read()
    finally:
        await engine.dispose()
    assert reading is not None and reading.database is not None
    assert backend in reading.database


def test_no_reading_rather_than_a_wrong_one_when_out_of_file_descriptors() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    with _burning(0.0) as pid:
        meter = cpu.Meter([pid], database=True)
        assert meter.read() is not None
        listing = os.open("/proc/self/fd", os.O_RDONLY)  # its own fd, closed, is no hole
        try:
            in_use = {int(fd) for fd in os.listdir(listing)} - {listing}
        finally:
            os.close(listing)
        lowest_free = next(n for n in range(len(in_use) + 1) if n not in in_use)
        # A new descriptor takes the lowest free number, which must be under the limit.
        resource.setrlimit(resource.RLIMIT_NOFILE, (lowest_free, hard))
        try:
            reading = meter.read()
        finally:
            resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    assert reading is None
    assert cpu.per_request(reading, reading, 100) == {}
