"""The report: JSON for machines, a side-by-side table for people, a progress bar meanwhile."""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from datetime import datetime
from typing import Any, TextIO
from zoneinfo import ZoneInfo

from webhooks.simulate.world import Progress

ROWS = (
    ("requests", "requests"),
    ("work_orders", "work orders"),
    ("auto_assigned_pct", "auto-assigned %"),
    ("flagged_pct", "flagged %"),
    ("sla_met_pct", "SLA met %"),
    ("unqualified_arrivals", "unqualified arrivals"),
    ("mean_response_minutes", "mean response min"),
    ("p90_response_minutes", "p90 response min"),
    ("drive_km_total", "drive km"),
    ("drive_minutes_total", "drive min"),
    ("utilization_pct", "utilization %"),
    ("fairness_stdev_hours", "fairness stdev h"),
    ("bumped_jobs", "bumped jobs"),
    ("reassignments", "reassignments"),
    ("declined_offers", "declined offers"),
    ("unserved", "unserved"),
)


def report_json(scenario: str, seed: int, policies: Mapping[str, Mapping[str, Any]]) -> str:
    """Same inputs, same bytes: keys sorted, no timestamps."""
    body = {"scenario": scenario, "seed": seed, "policies": dict(policies)}
    return json.dumps(body, indent=2, sort_keys=True) + "\n"


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.2f}".rstrip("0").rstrip(".") if value % 1 else f"{value:.0f}"
    return str(value)


def table(policies: Mapping[str, Mapping[str, Any]]) -> str:
    names = list(policies)
    width = max(len(label) for _, label in ROWS)
    cols = [max(len(n), 10) for n in names]
    lines = ["KPI".ljust(width) + "".join(f"  {n:>{w}}" for n, w in zip(names, cols, strict=True))]
    lines.append("-" * len(lines[0]))
    for key, label in ROWS:
        cells = (_cell(policies[n].get(key, "")) for n in names)
        lines.append(
            label.ljust(width) + "".join(f"  {c:>{w}}" for c, w in zip(cells, cols, strict=True))
        )
    for n in names:
        reasons = policies[n].get("flag_reasons") or {}
        if reasons:
            listed = ", ".join(f"{k} {v}" for k, v in reasons.items())
            lines.append(f"{n} flagged: {listed}")
        for item in policies[n].get("unserved_why", []):
            lines.append(f"{n} unserved: {item['work_order']} {item['status']}: {item['why']}")
    return "\n".join(lines)


def progress_bar(label: str, zone: ZoneInfo, out: TextIO = sys.stderr, width: int = 30) -> Progress:
    """A text bar redrawn in place, only when the percentage changes. Into a file or a CI log
    (not a terminal) it writes a whole line every tenth instead of a hundred redraws."""
    shown = [-1]
    step = 1 if out.isatty() else 10

    def draw(fraction: float, at: datetime) -> None:
        pct = int(max(0.0, min(1.0, fraction)) * 100) // step * step
        if pct == shown[0]:
            return
        shown[0] = pct
        filled = pct * width // 100
        bar = "#" * filled + "-" * (width - filled)
        line = f"{label:<10} [{bar}] {pct:3d}% {at.astimezone(zone):%H:%M}"
        if step == 1:
            out.write(f"\r{line}" + ("\n" if pct == 100 else ""))
        else:
            out.write(f"{line}\n")
        out.flush()

    return draw
