"""Benchmark: how long a scenario day of 60 requests and 12 technicians takes to simulate
under the engine (issue 7: under 60 s).

The day is the bundled demo day (45 requests) with 15 more from new senders: the demo day's
ten new-customer requests again, later in the day from other phones and Telegram users, and
the first five of them a third time. Each added request runs the whole conversation (name,
address), opens a work order and goes to the engine, as the demo day's own do.

    python -m tests.bench simulate
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from webhooks.simulate import simulate

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "webhooks" / "demo"
EXTRA = 15


def _later(hhmm: str, minutes: int) -> str:
    return (datetime.strptime(hhmm, "%H:%M") + timedelta(minutes=minutes)).strftime("%H:%M")


def sixty_request_day(folder: Path) -> Path:
    """Write the 60-request scenario (and the demo company beside it) into `folder`."""
    day: dict[str, Any] = yaml.safe_load((DEMO / "day.yaml").read_text(encoding="utf-8"))
    strangers = [r for r in day["requests"] if len(r.get("answers", ())) == 2]
    added: list[dict[str, Any]] = []
    for n in range(EXTRA):
        r = dict(strangers[n % len(strangers)])
        r["at"] = _later(r["at"], 47 if n < len(strangers) else 89)
        r["from"] = f"(512) 555-{170 + n:04d}" if r["channel"] == "sms" else f"{r['from']}_{n}"
        added.append(r)
    day["requests"] = sorted(day["requests"] + added, key=lambda r: str(r["at"]))
    shutil.copy(DEMO / "company.yaml", folder / "company.yaml")
    path = folder / "day60.yaml"
    path.write_text(yaml.safe_dump(day, sort_keys=False), encoding="utf-8")
    return path


def run() -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="callout-bench-sim-") as tmp:
        path = sixty_request_day(Path(tmp))
        started = time.perf_counter()
        result = asyncio.run(simulate(path, ("engine",)))
        seconds = time.perf_counter() - started
    kpis = result.runs["engine"].kpis
    figures = {
        "requests": kpis["requests"],
        "work_orders": kpis["work_orders"],
        "technicians": len(result.technicians),
        "seconds": round(seconds, 1),
        "sla_met_pct": kpis["sla_met_pct"],
        "unserved": kpis["unserved"],
    }
    print(
        f"simulate: {figures['requests']} requests, {figures['technicians']} technicians, "
        f"{figures['work_orders']} work orders in {figures['seconds']} s (target: under 60 s)"
    )
    return figures
