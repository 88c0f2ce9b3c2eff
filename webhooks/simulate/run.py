"""One scenario day under one assignment policy, in a database of its own."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from dispatch.company import Company
from dispatch.policies import use_policy
from webhooks.simulate.kpis import Bar, compute_kpis, day_bars
from webhooks.simulate.product import open_product
from webhooks.simulate.scenario import Scenario
from webhooks.simulate.setting import local
from webhooks.simulate.world import Progress, Simulation

POLICIES = ("engine", "first_free", "nearest")


@dataclass(frozen=True, slots=True)
class PolicyRun:
    policy: str
    kpis: dict[str, Any]
    bars: tuple[Bar, ...]


def day_span(scenario: Scenario, company: Company) -> tuple[datetime, datetime]:
    """From the first request (or event) to the last shift end, or the last request."""
    times = [local(scenario, company, r.at) for r in scenario.requests] + [
        local(scenario, company, e.at) for e in scenario.events
    ]
    zone = ZoneInfo(company.settings.timezone)
    weekday = scenario.day.strftime("%a").lower()[:3]
    ends = [
        datetime.combine(scenario.day, t.shifts[weekday].end, zone).astimezone(UTC)
        for t in company.technicians
        if weekday in t.shifts
    ]
    return min(times), max([*ends, *times])


async def run_policy(
    scenario: Scenario,
    company: Company,
    policy: str,
    *,
    seed: int,
    db_url: str | None = None,
    progress: Progress | None = None,
) -> PolicyRun:
    start, end = day_span(scenario, company)
    with tempfile.TemporaryDirectory(prefix="callout-sim-") as tmp:
        url = db_url or f"sqlite+aiosqlite:///{Path(tmp) / 'day.db'}"
        async with open_product(url, company, start, Path(tmp) / "media") as product:
            with use_policy(policy):
                sim = Simulation(scenario, company, product, seed, progress)
                await sim.run(start, end)
            kpis = await compute_kpis(
                product.sessions, company, scenario.day, end, scenario.technicians.speed_kmh
            )
            bars = await day_bars(product.sessions, end)
    return PolicyRun(policy, kpis, tuple(bars))
