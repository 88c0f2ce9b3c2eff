"""`callout simulate SCENARIO.yaml`: replay a scenario day through the real pipeline
(simulation.md) and report the day's KPIs, for one policy or all three side by side."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from storage.company_file import CompanyFileError, load_company_file
from webhooks.simulate.report import progress_bar, report_json, table
from webhooks.simulate.run import POLICIES, PolicyRun, run_policy
from webhooks.simulate.scenario import ScenarioError, check_against_company, load_scenario

__all__ = ["Simulated", "main", "simulate"]


@dataclass(frozen=True, slots=True)
class Simulated:
    scenario: str
    seed: int
    runs: dict[str, PolicyRun]
    seconds: dict[str, float]  # wall time per policy, for the timing line only
    technicians: tuple[str, ...]
    timezone: str

    def report(self, policies: tuple[str, ...]) -> str:
        kpis: dict[str, Any] = {name: self.runs[name].kpis for name in policies}
        return report_json(self.scenario, self.seed, kpis)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="callout simulate", description=__doc__)
    p.add_argument("scenario", type=Path, help="the scenario file (YAML)")
    p.add_argument("--policy", choices=POLICIES, default="engine")
    p.add_argument("--compare", action="store_true", help="run all three policies")
    p.add_argument("--report", type=Path, help="write the report as JSON here")
    p.add_argument("--seed", type=int, help="override the scenario's seed")
    p.add_argument("--chart", type=Path, help="PNG of each technician's day, engine vs first_free")
    p.add_argument("--db", help="database URL (default: a temporary SQLite file)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def _db_for(url: str | None, policy: str, several: bool) -> str | None:
    """One database per policy: with several runs a SQLite file gets the policy's name."""
    if url is None or not several:
        return url
    if not url.startswith("sqlite"):
        raise ValueError("--db with several policies needs a SQLite URL (one file per policy)")
    stem, dot, ext = url.rpartition(".")
    return f"{stem}-{policy}.{ext}" if dot and "/" not in ext else f"{url}-{policy}"


async def simulate(
    scenario_path: Path,
    policies: tuple[str, ...],
    *,
    seed: int | None = None,
    db_url: str | None = None,
    show_progress: bool = False,
) -> Simulated:
    """Check the scenario whole (nothing runs if it is invalid), then run the day under each
    policy, each in a fresh database."""
    scenario = load_scenario(scenario_path)
    company = load_company_file(scenario.company_path).company
    check_against_company(scenario, {t.id for t in company.technicians})
    used_seed = scenario.seed if seed is None else seed
    zone = ZoneInfo(company.settings.timezone)
    runs: dict[str, PolicyRun] = {}
    seconds: dict[str, float] = {}
    for name in policies:
        began = time.perf_counter()
        runs[name] = await run_policy(
            scenario,
            company,
            name,
            seed=used_seed,
            db_url=_db_for(db_url, name, len(policies) > 1),
            progress=progress_bar(name, zone) if show_progress else None,
        )
        seconds[name] = time.perf_counter() - began
    return Simulated(
        str(scenario_path),
        used_seed,
        runs,
        seconds,
        tuple(t.id for t in company.technicians),
        company.settings.timezone,
    )


def main(argv: list[str]) -> int:
    ns = _parser().parse_args(argv)
    shown: tuple[str, ...] = POLICIES if ns.compare else (ns.policy,)
    wanted = shown
    if ns.chart is not None:
        wanted = tuple(dict.fromkeys([*shown, "engine", "first_free"]))
    try:
        done = asyncio.run(
            simulate(ns.scenario, wanted, seed=ns.seed, db_url=ns.db, show_progress=not ns.quiet)
        )
    except (ScenarioError, CompanyFileError, ValueError) as err:
        print(f"callout simulate: {err}", file=sys.stderr)
        return 2
    print(table({name: done.runs[name].kpis for name in shown}))
    timing = ", ".join(f"{n} {s:.1f} s" for n, s in done.seconds.items())
    print(f"simulated in {timing}", file=sys.stderr)
    if ns.report is not None:
        ns.report.write_text(done.report(shown), encoding="utf-8")
    if ns.chart is not None:
        from webhooks.simulate.chart import gantt

        gantt(
            ns.chart,
            done.runs["engine"].bars,
            done.runs["first_free"].bars,
            technicians=done.technicians,
            timezone=done.timezone,
        )
    return 0
