"""The floor benchmark does the work it reports: every request it counts sent its statements
and left its rows (a bench that counted requests it did not make would flatter the floor)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tests.bench.bench_floor import TABLE, inserts_a_request, measure


def test_every_counted_request_left_its_rows_on_sqlite(tmp_path: Path) -> None:
    db = tmp_path / "floor.db"
    floor = measure(f"sqlite+aiosqlite:///{db}", processes=2, statements=6, seconds=0.3)
    with sqlite3.connect(db) as conn:
        (rows,) = conn.execute(f"SELECT count(*) FROM {TABLE}").fetchone()  # noqa: S608
    assert floor.requests > 0
    assert inserts_a_request(6) == 4  # one, then statements 1, 3 and 5 of the other five
    assert rows == floor.requests * inserts_a_request(6)
    assert floor.processes == 2 and floor.statements == 6
