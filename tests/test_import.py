"""`callout import`: upsert by id, idempotent, and nothing written when the file is bad."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.tables import Base, TechnicianRow
from tests.conftest import DEMO_COMPANY
from tests.test_company_file import BAD_FILES, Break, valid_company
from webhooks.cli import main


async def row_counts(engine: AsyncEngine) -> dict[str, int]:
    counts = {}
    async with engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            counts[table.name] = (
                await conn.execute(select(func.count()).select_from(table))
            ).scalar_one()
    return counts


async def snapshot(engine: AsyncEngine) -> list[tuple[Any, ...]]:
    rows = []
    async with engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            if table.name in {"identities", "api_tokens"}:
                continue  # they carry the import time
            result = await conn.execute(select(table))
            rows += sorted((table.name, *map(repr, r)) for r in result)
    return rows


async def run_import(monkeypatch: pytest.MonkeyPatch, url: str, path: Path) -> int:
    """The real command, in a thread: it runs its own event loop."""
    monkeypatch.setenv("DATABASE_URL", url)
    return await asyncio.to_thread(main, ["import", str(path)])


async def test_importing_the_demo_twice_changes_nothing_the_second_time(
    engine: AsyncEngine,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert await run_import(monkeypatch, database_url, DEMO_COMPANY) == 0
    first_out = capsys.readouterr().out
    assert "technicians: 12 new" in first_out
    assert "site S023: placed at its ZIP centroid" in first_out
    first_counts, first_rows = await row_counts(engine), await snapshot(engine)
    assert first_counts["technicians"] == 12 and first_counts["sites"] == 45
    assert first_counts["equipment"] == 40 and first_counts["customers"] == 30

    assert await run_import(monkeypatch, database_url, DEMO_COMPANY) == 0
    second_out = capsys.readouterr().out
    assert " 0 new, 0 updated" in second_out and "new, 1 updated" not in second_out
    assert await row_counts(engine) == first_counts
    assert await snapshot(engine) == first_rows


async def test_changing_one_skill_updates_exactly_that_technician(
    engine: AsyncEngine,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert await run_import(monkeypatch, database_url, DEMO_COMPANY) == 0
    before = await snapshot(engine)
    capsys.readouterr()
    changed = DEMO_COMPANY.read_text().replace(
        "skills: {plumbing: 3, general_handyman: 2}", "skills: {plumbing: 3, general_handyman: 3}"
    )
    assert changed != DEMO_COMPANY.read_text()
    path = tmp_path / "changed.yaml"
    path.write_text(changed)
    assert await run_import(monkeypatch, database_url, path) == 0
    out = capsys.readouterr().out
    assert "technicians: 0 new, 1 updated, 11 unchanged" in out
    assert "updated" not in out.replace("technicians: 0 new, 1 updated", "").replace(
        " 0 updated", ""
    )
    after = await snapshot(engine)
    difference = set(before) ^ set(after)
    stamps = {row for row in difference if row[:2] == ("sequences", "'company_version'")}
    assert len(stamps) == 2, "a changed import gives the company a new version stamp"
    difference -= stamps
    assert {row[0] for row in difference} == {"technicians"}
    assert {row[1] for row in difference} == {"'T02'"}
    async with engine.connect() as conn:
        skills = (
            await conn.execute(select(TechnicianRow.skills).where(TechnicianRow.id == "T02"))
        ).scalar_one()
    assert skills == {"plumbing": 3, "general_handyman": 3}


@pytest.mark.parametrize(("break_it", "path"), BAD_FILES)
async def test_a_bad_file_names_the_key_and_writes_nothing(
    engine: AsyncEngine,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    break_it: Break,
    path: str,
) -> None:
    good = tmp_path / "good.yaml"
    good.write_text(yaml.safe_dump(valid_company()))
    assert await run_import(monkeypatch, database_url, good) == 0
    before = await snapshot(engine)
    data = valid_company()
    break_it(data)
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(data))
    capsys.readouterr()
    assert await run_import(monkeypatch, database_url, bad) == 2
    assert f"{path}: " in capsys.readouterr().err
    assert await snapshot(engine) == before
