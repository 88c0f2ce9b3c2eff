"""The SLA KPI recounted from a simulated day's database with plain SQL, not the simulator's
code: a work order counts when its SLA fell due by the end of the day or it was reached, and
it is met when someone holding every certification its trade and equipment require (valid
that day) reached it by the due time."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path


@dataclass(frozen=True)
class SlaCount:
    due: int
    met: int
    unqualified_arrivals: int

    @property
    def pct(self) -> float:
        return 100 * self.met / self.due if self.due else 0.0


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def arrivals_in(db: sqlite3.Connection) -> dict[int, list[tuple[datetime, str]]]:
    """Each work order's arrivals on site, in order: when, and which technician."""
    arrivals: dict[int, list[tuple[datetime, str]]] = {}
    for wo_id, when, actor, data in db.execute(
        "SELECT work_order_id, at, actor, data FROM timeline_events "
        "WHERE kind = 'status' ORDER BY id"
    ):
        if json.loads(data).get("to") == "on_site":
            arrivals.setdefault(wo_id, []).append((at(when), actor.split(":")[1]))
    return arrivals


def recount_sla(db_path: Path, day: date, end: datetime) -> SlaCount:
    db = sqlite3.connect(db_path)
    try:
        held = {
            tech: {
                g["id"]
                for g in json.loads(grants)
                if g.get("expires") is None or date.fromisoformat(g["expires"]) >= day
            }
            for tech, grants in db.execute("SELECT id, certifications FROM technicians")
        }
        skill_needs = {
            sid: set(json.loads(req)["certifications"])
            for sid, req in db.execute("SELECT id, requires FROM skills")
        }
        kit_needs = {
            eid: set(json.loads(req)["certifications"])
            for eid, req in db.execute("SELECT id, requires FROM equipment")
        }
        arrivals = arrivals_in(db)
        due = met = unqualified = 0
        for wo_id, sla_due, skill, kit in db.execute(
            "SELECT id, sla_due_at, skill_id, equipment_id FROM work_orders"
        ):
            needed = skill_needs.get(skill, set()) | kit_needs.get(kit, set())
            came = arrivals.get(wo_id, [])
            fit = [when for when, tech in came if needed <= held.get(tech, set())]
            unqualified += len(came) - len(fit)
            if sla_due is None or (at(sla_due) > end and not came):
                continue
            due += 1
            met += bool(fit) and fit[0] <= at(sla_due)
    finally:
        db.close()
    return SlaCount(due, met, unqualified)
