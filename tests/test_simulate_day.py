"""A small scenario day through the real pipeline: deterministic for a seed, and its KPIs
are what the database says (recomputed here with plain SQL, not the simulator's code)."""

from __future__ import annotations

import asyncio
import json
import math
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from storage.company_file import load_company_file
from tests.sim_recount import arrivals_in, recount_sla
from tests.sim_recount import at as _at
from webhooks.simulate import Simulated, simulate
from webhooks.simulate.run import day_span
from webhooks.simulate.scenario import load_scenario

SMALL = Path(__file__).parent / "data" / "sim_small.yaml"
COMPANY = Path(__file__).parent.parent / "webhooks" / "demo" / "company.yaml"


@dataclass(frozen=True)
class Day:
    first: Simulated
    again: Simulated
    other_seed: Simulated
    db: Path


@pytest.fixture(scope="module")
def day(tmp_path_factory: pytest.TempPathFactory) -> Day:
    folder = tmp_path_factory.mktemp("sim")
    db = folder / "first.db"

    def run(seed: int | None, url: str | None = None) -> Simulated:
        return asyncio.run(simulate(SMALL, ("engine",), seed=seed, db_url=url))

    return Day(
        first=run(None, f"sqlite+aiosqlite:///{db}"),
        again=run(None),
        other_seed=run(12345),
        db=db,
    )


def kpis(s: Simulated) -> dict[str, Any]:
    return s.runs["engine"].kpis


def test_the_same_seed_gives_byte_identical_reports(day: Day) -> None:
    assert day.first.report(("engine",)) == day.again.report(("engine",))
    body = json.loads(day.first.report(("engine",)))
    assert body["seed"] == 11 and set(body["policies"]) == {"engine"}


def test_another_seed_gives_another_day(day: Day) -> None:
    assert kpis(day.first) != kpis(day.other_seed)  # the day itself, not just the seed field


def test_every_request_reaches_the_product_and_jobs_get_done(day: Day) -> None:
    k = kpis(day.first)
    assert k["requests"] == 6
    assert k["work_orders"] == 6
    assert k["unserved"] < k["work_orders"]
    assert k["drive_km_total"] > 0 and k["utilization_pct"] > 0


def _km(a: tuple[float, float], b: tuple[float, float]) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * 6371.0088 * math.asin(math.sqrt(h))


def test_kpis_match_an_independent_count_from_the_database(day: Day) -> None:
    k = kpis(day.first)
    db = sqlite3.connect(day.db)
    try:
        orders = db.execute(
            "SELECT id, created_at, sla_due_at, site_id FROM work_orders ORDER BY seq"
        ).fetchall()
        arrivals = arrivals_in(db)
        declined = db.execute("SELECT count(*) FROM offers WHERE status = 'declined'").fetchone()
        sites = {sid: (lat, lon) for sid, lat, lon in db.execute("SELECT id, lat, lon FROM sites")}
        work = db.execute(
            "SELECT started_at, ended_at FROM time_entries WHERE kind = 'work'"
        ).fetchall()
        requests = db.execute(
            "SELECT count(*) FROM inbound_messages WHERE external_id LIKE 'req-%'"
        ).fetchone()
    finally:
        db.close()
    assert k["requests"] == requests[0]
    assert k["work_orders"] == len(orders)
    assert k["declined_offers"] == declined[0]
    response = [
        (arrivals[wo_id][0][0] - _at(created)).total_seconds() / 60
        for wo_id, created, _, _ in orders
        if wo_id in arrivals
    ]
    assert k["mean_response_minutes"] == pytest.approx(sum(response) / len(response), abs=0.05)
    scenario = load_scenario(SMALL)
    _, day_end = day_span(scenario, load_company_file(COMPANY).company)
    sla = recount_sla(day.db, scenario.day, day_end)
    assert sla.due > 0
    assert k["sla_met_pct"] == pytest.approx(sla.pct, abs=0.05)
    assert k["unqualified_arrivals"] == sla.unqualified_arrivals == 0

    company = load_company_file(COMPANY).company
    place = {t.id: (t.home.lat, t.home.lon) for t in company.technicians if t.home}
    km = 0.0
    visits = sorted(
        (at, tech, sites[site]) for i, _, _, site in orders for at, tech in arrivals.get(i, [])
    )
    for _, tech, site in visits:
        km += _km(place[tech], site) * company.assignment.detour_factor
        place[tech] = site
    assert k["drive_km_total"] == pytest.approx(km, abs=0.05)
    assert k["drive_minutes_total"] == pytest.approx(km / 40 * 60, abs=0.1)

    worked = sum((_at(end) - _at(start)).total_seconds() / 60 for start, end in work if end)
    monday = datetime(2026, 11, 30)
    shift = sum(
        (
            monday.replace(hour=r.end.hour, minute=r.end.minute)
            - monday.replace(hour=r.start.hour, minute=r.start.minute)
        ).total_seconds()
        / 60
        for t in company.technicians
        if (r := t.shifts.get("mon")) is not None
        and not any(lv.start <= monday.date() <= lv.end for lv in t.leave)
    )
    assert k["utilization_pct"] == pytest.approx(100 * worked / shift, abs=0.05)
