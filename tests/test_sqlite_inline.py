"""SQLite statements run on the loop's thread; BEGIN waits for another process's write lock on
aiosqlite's thread. While it waits the loop keeps serving, and a task cancelled while waiting
leaves a connection that still works (sqlite3 is never used from two threads at once)."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from sqlalchemy import text

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
