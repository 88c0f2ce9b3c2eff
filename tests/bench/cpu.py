"""The CPU a load phase costs, read from /proc (Linux): the product's processes, the
PostgreSQL server's processes on this machine, and the load generator (this process).

Divided by the requests answered, it tells a request that got dearer from a machine that got
slower: the same code's two web processes spent from 3.0 to 4.2 ms of CPU a request in
phases they answered in full, minutes apart (tests/bench/HISTORY.md, the twenty-sixth stop),
and two cores give 2,000 ms a second in all, so at 500 a second the whole request must fit
in 4 ms. Each phase of the load benchmark carries the figure, so a run's table says which of
the two it was without another run by hand.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")
DATABASE_COMMAND = "postgres"  # /proc/<pid>/comm of the server's every process
_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100  # /proc's CPU unit


def allowed_ms(rate: int) -> float:
    """The CPU a request may take, in all, for this machine's cores to keep up with `rate`."""
    return 1000 * (os.cpu_count() or 1) / rate


def available() -> bool:
    return (PROC / "self" / "stat").exists()


def process_seconds(pid: int) -> float | None:
    """User and system CPU seconds of `pid` so far, or None if it has gone. Another error
    (this process out of file descriptors, say) is raised: a reading it would leave out
    must not pass for a process that spent nothing."""
    try:
        stat = (PROC / str(pid) / "stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    # The command in parentheses may hold spaces; the fields after it are space-separated,
    # utime and stime the 12th and 13th of them (proc(5): fields 14 and 15).
    fields = stat.rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS


def database_pids() -> list[int]:
    """The PostgreSQL server's processes on this machine: the postmaster, its helpers and a
    backend for each connection."""
    pids: list[int] = []
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "comm").read_text().strip()
        except (FileNotFoundError, ProcessLookupError):
            continue  # gone since the listing
        if command == DATABASE_COMMAND:
            pids.append(int(entry.name))
    return pids


def _seconds(pids: Iterable[int]) -> dict[int, float]:
    found = {pid: process_seconds(pid) for pid in pids}
    return {pid: s for pid, s in found.items() if s is not None}


@dataclass(frozen=True)
class Reading:
    callout: dict[int, float]
    database: dict[int, float] | None
    generator: float


class Meter:
    """Reads the CPU of the product's processes (`pids`), of the local PostgreSQL server's if
    `database`, and of this process."""

    def __init__(self, pids: Sequence[int], *, database: bool = False) -> None:
        self.pids = tuple(pids)
        self.database = database

    def read(self) -> Reading | None:
        """None when /proc could not be read: at the top of a climb the generator may hold
        every file descriptor it is allowed (20,000 connections)."""
        try:
            return Reading(
                callout=_seconds(self.pids),
                database=_seconds(database_pids()) if self.database else None,
                generator=time.process_time(),
            )
        except OSError:
            return None


def _spent(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds spent between two readings: a process that was not there before (a new
    database backend) counts from its start; one that has gone since is not counted."""
    return sum(s - before.get(pid, 0.0) for pid, s in after.items())


def per_request(before: Reading | None, after: Reading | None, answered: int) -> dict[str, float]:
    """Milliseconds of CPU a request answered, by where they went, and in all (nothing if
    a reading is missing)."""
    if answered <= 0 or before is None or after is None:
        return {}
    spent = {"callout": _spent(before.callout, after.callout)}
    if before.database is not None and after.database is not None:
        spent["database"] = _spent(before.database, after.database)
    spent["generator"] = after.generator - before.generator
    spent["all"] = sum(spent.values())
    return {k: round(1000 * v / answered, 2) for k, v in spent.items()}
