"""SQLite statements run on the loop's thread; BEGIN waits for another process's write lock on
aiosqlite's thread. While it waits the loop keeps serving, and a task cancelled while waiting
leaves a connection that still works (sqlite3 is never used from two threads at once).
Processes on one file take turns through an advisory writer lock held for each transaction,
which no way of ending a transaction, or a process, leaves behind."""

from __future__ import annotations

import asyncio
import fcntl
import os
import signal
import sqlite3
import sys
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.db import make_engine, session_factory


async def test_the_loop_serves_while_begin_waits_and_cancelling_the_wait_is_safe(
    tmp_path: Path,
) -> None:
    path = tmp_path / "inline.db"
    with sqlite3.connect(path) as setup:
        setup.execute("PRAGMA journal_mode=WAL")
        setup.execute("CREATE TABLE t (x INTEGER)")
    engine = make_engine(f"sqlite+aiosqlite:///{path}")
    sessions = session_factory(engine)
    try:
        for round_ in range(5):
            # Another process's writer, as far as SQLite can tell: a second connection.
            other = sqlite3.connect(path, timeout=30, isolation_level=None)
            other.execute("BEGIN IMMEDIATE")
            waiting, order = asyncio.Event(), list[str]()

            async def write(value: int, waiting: asyncio.Event, order: list[str]) -> None:
                try:
                    async with sessions() as s:
                        waiting.set()
                        await s.execute(text("INSERT INTO t VALUES (:x)"), {"x": value})
                        await s.commit()
                finally:
                    order.append("writer done")

            def commit_other(other: sqlite3.Connection, order: list[str]) -> None:
                other.execute("COMMIT")
                order.append("other committed")

            task = asyncio.create_task(write(round_, waiting, order))
            await waiting.wait()
            # The loop runs other work while the writer waits on the file lock.
            ticks = 0
            for _ in range(20):
                await asyncio.sleep(0)
                ticks += 1
            assert ticks == 20 and not task.done()
            if round_ % 2 == 0:
                task.cancel()  # give up waiting: the connection must stay usable
                # Its clean-up (rollback, close) runs while the BEGIN still waits on the
                # thread: it must queue behind it, not touch sqlite3 from this thread.
                asyncio.get_running_loop().call_later(0.2, commit_other, other, order)
                await asyncio.gather(task, return_exceptions=True)
            else:
                commit_other(other, order)  # the lock goes: the waiting write goes through
                await task
                assert order == ["other committed", "writer done"]
            other.close()
            async with sessions() as s:
                assert (await s.execute(text("SELECT 1"))).scalar_one() == 1
        async with sessions() as s:
            values = sorted((await s.execute(text("SELECT x FROM t"))).scalars())
        assert values == [1, 3], "the cancelled writes left nothing, the others landed"
    finally:
        await engine.dispose()


def _writer_lock_taken(probe: int) -> bool:
    """Whether some connection holds the advisory writer lock (flock is per open file, so a
    descriptor of our own competes with the engines' as another process's would)."""
    try:
        fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    fcntl.flock(probe, fcntl.LOCK_UN)
    return False


async def test_processes_on_one_file_take_turns_on_the_advisory_writer_lock(
    tmp_path: Path,
) -> None:
    """Two engines stand in for two processes (a web and a worker): the lock is held from
    BEGIN to the end of the transaction, whichever way it ends, and the second writer waits
    for it, then goes through; a writer that gives up waiting leaves nothing held."""
    path = tmp_path / "two.db"
    with sqlite3.connect(path) as setup:
        setup.execute("PRAGMA journal_mode=WAL")
        setup.execute("CREATE TABLE t (x INTEGER)")
    first = make_engine(f"sqlite+aiosqlite:///{path}")
    second = make_engine(f"sqlite+aiosqlite:///{path}")
    probe = os.open(f"{path}-writer", os.O_RDWR | os.O_CREAT)
    a, b = session_factory(first), session_factory(second)

    async def write(sessions: async_sessionmaker[AsyncSession], value: int) -> None:
        async with sessions() as s:
            await s.execute(text("INSERT INTO t VALUES (:x)"), {"x": value})
            await s.commit()

    async def spin() -> None:
        for _ in range(20):
            await asyncio.sleep(0)

    try:
        assert not _writer_lock_taken(probe)
        order: list[str] = []
        async with a() as s:
            await s.execute(text("INSERT INTO t VALUES (1)"))
            assert _writer_lock_taken(probe)
            waiting = asyncio.create_task(write(b, 2))
            waiting.add_done_callback(lambda _: order.append("second wrote"))
            await spin()
            assert not waiting.done(), "the second writer waits for the first"
            await s.commit()
            order.append("first committed")
        await waiting
        assert order == ["first committed", "second wrote"]
        assert not _writer_lock_taken(probe)

        with pytest.raises(OperationalError):  # a failed statement, then ROLLBACK
            async with a() as s:
                await s.execute(text("INSERT INTO missing VALUES (1)"))
        assert not _writer_lock_taken(probe)

        holding, release = asyncio.Event(), asyncio.Event()

        async def hold() -> None:
            async with a() as s:
                await s.execute(text("INSERT INTO t VALUES (3)"))
                holding.set()
                await release.wait()
                await s.commit()

        holder = asyncio.create_task(hold())
        await holding.wait()
        gave_up = asyncio.create_task(write(b, 4))  # gives up while it waits
        await spin()
        gave_up.cancel()
        release.set()  # its BEGIN still runs on its thread once the first commits, then
        await asyncio.gather(gave_up, return_exceptions=True)  # its clean-up rolls back
        await holder
        for _ in range(500):
            if not _writer_lock_taken(probe):
                break
            await asyncio.sleep(0.01)
        assert not _writer_lock_taken(probe)
        await write(b, 5)
        async with b() as s:
            values = sorted((await s.execute(text("SELECT x FROM t"))).scalars())
        assert values == [1, 2, 3, 5]
    finally:
        os.close(probe)
        await first.dispose()
        await second.dispose()


HOLDER = """
import asyncio, sys
from sqlalchemy import text
from storage.db import make_engine

async def main() -> None:
    engine = make_engine(f"sqlite+aiosqlite:///{sys.argv[1]}")
    async with engine.begin() as conn:
        await conn.execute(text("INSERT INTO t VALUES (1)"))
        print("holding", flush=True)
        await asyncio.Event().wait()

asyncio.run(main())
"""


async def test_a_process_killed_in_its_transaction_leaves_no_lock_behind(tmp_path: Path) -> None:
    """kill -9 in the middle of a write: the kernel drops the advisory lock with the process,
    SQLite rolls its write back, and the next process writes at once."""
    path = tmp_path / "killed.db"
    with sqlite3.connect(path) as setup:
        setup.execute("PRAGMA journal_mode=WAL")
        setup.execute("CREATE TABLE t (x INTEGER)")
    holder = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        HOLDER,
        str(path),
        cwd=Path(__file__).resolve().parent.parent,
        stdout=asyncio.subprocess.PIPE,
    )
    probe = os.open(f"{path}-writer", os.O_RDWR | os.O_CREAT)
    engine = make_engine(f"sqlite+aiosqlite:///{path}")
    try:
        assert holder.stdout is not None
        assert await asyncio.wait_for(holder.stdout.readline(), 60) == b"holding\n"
        assert _writer_lock_taken(probe)
        holder.send_signal(signal.SIGKILL)
        await holder.wait()
        assert not _writer_lock_taken(probe)
        async with session_factory(engine)() as s:
            await s.execute(text("INSERT INTO t VALUES (2)"))
            await s.commit()
            values = list((await s.execute(text("SELECT x FROM t"))).scalars())
        assert values == [2], "the killed process's write is gone, ours landed"
    finally:
        if holder.returncode is None:
            holder.kill()
            await holder.wait()
        os.close(probe)
        await engine.dispose()
