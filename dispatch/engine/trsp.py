"""The TRSP benchmark (Pillac, Guéret & Medaglia 2013) as planning data.

Reads an instance file into workers (skills as {s: 1}), jobs and the depot; reads release
dates; scores a solution with its own, independent implementation of the published model
(not the engine's code, so it checks the engine); and writes the benchmark's solution JSON.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dispatch.engine.model import Depot, Job, Point, Route, Window, Worker

TOLERANCE = 1e-6  # on window ends, as the benchmark's checker
_ROW = re.compile(
    r"^\s*(\d+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+\[([^\]]*)\]\s*\[([^\]]*)\]\s*\[([^\]]*)\]"
)


@dataclass(frozen=True, slots=True)
class Node:
    """One line of the instance: the depot (0), a technician's home (1..K) or a request."""

    id: int
    x: float
    y: float
    tws: float
    twe: float
    service: float
    skills: frozenset[int]
    tools: frozenset[int]
    parts: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Instance:
    name: str
    n_technicians: int
    nodes: tuple[Node, ...]  # indexed by node id
    workers: tuple[Worker, ...]  # id = str(home node id)
    jobs: tuple[Job, ...]  # id = str(request node id)
    depot: Depot

    @property
    def short_name(self) -> str:
        return self.name.split(".")[0]


@dataclass(frozen=True, slots=True)
class Score:
    """What the checker finds: the total working time, or why the solution is infeasible."""

    objective: float
    used: int  # technicians with at least one stop
    served: int
    errors: tuple[str, ...]

    @property
    def feasible(self) -> bool:
        return not self.errors


def _ints(text: str) -> list[int]:
    return [int(v) for v in text.replace(",", " ").split()]


def parse_instance(text: str) -> Instance:
    lines = text.splitlines()
    name = lines[0].strip()
    k = 0
    nodes: list[Node] = []
    for i, line in enumerate(lines):
        if line.startswith("CREW COUNT"):
            k = int(lines[i + 1].split()[0])
        m = _ROW.match(line)
        if m is None:
            continue
        nid, x, y, tws, twe, serv = m.group(1, 2, 3, 4, 5, 6)
        nodes.append(
            Node(
                int(nid),
                float(x),
                float(y),
                float(tws),
                float(twe),
                float(serv),
                frozenset(_ints(m.group(7))),
                frozenset(_ints(m.group(8))),
                tuple(_ints(m.group(9))),
            )
        )
    if not k or [n.id for n in nodes] != list(range(len(nodes))):
        raise ValueError("not a TRSP instance: missing crew count or node ids out of order")
    d = nodes[0]
    depot = Depot(Point(d.x, d.y), Window(d.tws, d.twe))
    workers = tuple(
        Worker(
            id=str(n.id),
            start=Point(n.x, n.y),
            end=Point(n.x, n.y),
            shift=Window(n.tws, n.twe),
            skills={str(s): 1 for s in sorted(n.skills)},
            tools=frozenset(str(t) for t in n.tools),
            stock={str(p): q for p, q in enumerate(n.parts)},
        )
        for n in nodes[1 : k + 1]
    )
    jobs = tuple(
        Job(
            id=str(n.id),
            at=Point(n.x, n.y),
            window=Window(n.tws, n.twe),
            duration=n.service,
            skills={str(s): 1 for s in sorted(n.skills)},
            tools=frozenset(str(t) for t in n.tools),
            parts={str(p): q for p, q in enumerate(n.parts) if q},
        )
        for n in nodes[k + 1 :]
    )
    return Instance(name, k, tuple(nodes), workers, jobs, depot)


def load_instance(path: str | Path) -> Instance:
    return parse_instance(Path(path).read_text(encoding="ascii"))


def parse_release_dates(text: str) -> dict[int, float]:
    """Request id -> release time; static requests (-1 in the file) map to -1."""
    out: dict[int, float] = {}
    for line in text.splitlines()[4:]:  # the reference reader skips exactly four lines
        parts = line.split()
        if len(parts) >= 2:
            out[int(parts[0])] = float(parts[1])
    return out


def load_release_dates(path: str | Path) -> dict[int, float]:
    return parse_release_dates(Path(path).read_text(encoding="ascii"))


def check(
    inst: Instance, routes: Mapping[int, Sequence[int]], unserved: Sequence[int] = ()
) -> Score:
    """Score routes (technician id -> stops, 0 = depot) exactly as the published model."""
    nodes = inst.nodes
    k = inst.n_technicians
    requests = set(range(k + 1, len(nodes)))
    errors: list[str] = []
    seen: set[int] = set()
    total = 0.0
    used = 0
    for tech, stops in routes.items():
        if not 1 <= tech <= k:
            errors.append(f"technician {tech} unknown")
            continue
        if not stops:
            continue
        used += 1
        home = nodes[tech]
        spare = list(home.parts)
        restocked = False
        t = home.tws
        prev = home
        waiting = 0.0
        slack = math.inf
        for sid in stops:
            if sid != 0 and sid not in requests:
                errors.append(f"stop {sid} of technician {tech} is not a request")
                break
            node = nodes[sid]
            if sid == 0:
                if restocked:
                    errors.append(f"technician {tech} visits the depot twice")
                restocked = True
            else:
                if sid in seen:
                    errors.append(f"request {sid} served twice")
                seen.add(sid)
                if not node.skills <= home.skills:
                    errors.append(f"request {sid}: technician {tech} lacks a skill")
                if not restocked:
                    if not node.tools <= home.tools:
                        errors.append(f"request {sid}: technician {tech} lacks a tool")
                    spare = [s - q for s, q in zip(spare, node.parts, strict=True)]
                    if min(spare, default=0) < 0:
                        errors.append(f"request {sid}: technician {tech} out of spare parts")
            a = max(t, prev.tws) + prev.service + math.hypot(node.x - prev.x, node.y - prev.y)
            if a > node.twe + TOLERANCE:
                errors.append(f"node {sid}: arrival {a:.4f} after window end {node.twe}")
            slack = min(slack, node.twe - a + waiting)
            waiting += max(0.0, node.tws - a)
            t = a
            prev = node
        a = max(t, prev.tws) + prev.service + math.hypot(home.x - prev.x, home.y - prev.y)
        if a > home.twe + TOLERANCE:
            errors.append(f"technician {tech} home at {a:.4f}, after {home.twe}")
        slack = min(slack, home.twe - a + waiting)
        total += max(a, home.tws) - (home.tws + min(slack, waiting))
    missing = requests - seen - set(unserved)
    if missing:
        errors.append(f"{len(missing)} requests neither served nor listed unserved")
    return Score(total, used, len(seen), tuple(errors))


def routes_of(plan_routes: Sequence[Route]) -> dict[int, list[int]]:
    """Engine routes -> technician id -> stops in the benchmark's ids (0 = depot)."""
    return {
        int(r.worker.id): [0 if j is None else int(j.id) for j in r.jobs]
        for r in plan_routes
        if r.jobs
    }


def solution_json(
    inst: Instance, routes: Mapping[int, Sequence[int]], unserved: Sequence[int] = ()
) -> dict[str, Any]:
    score = check(inst, routes, unserved)
    return {
        "instance": inst.name,
        "objective": round(score.objective, 6),
        "routes": [{"technician": t, "stops": list(s)} for t, s in sorted(routes.items()) if s],
        "unserved": sorted(unserved),
    }


def write_solution(
    path: str | Path,
    inst: Instance,
    routes: Mapping[int, Sequence[int]],
    unserved: Sequence[int] = (),
) -> None:
    Path(path).write_text(json.dumps(solution_json(inst, routes, unserved), indent=1) + "\n")


def read_solution(path: str | Path) -> tuple[dict[int, list[int]], list[int]]:
    data = json.loads(Path(path).read_text())
    routes = {int(r["technician"]): [int(s) for s in r["stops"]] for r in data["routes"]}
    return routes, [int(u) for u in data.get("unserved", [])]


def read_bks(path: str | Path) -> dict[str, float]:
    """Instance name (full and short) -> best-known total working time."""
    out: dict[str, float] = {}
    for line in Path(path).read_text().splitlines()[1:]:
        cols = line.split("\t")
        if len(cols) >= 2:
            out[cols[0]] = float(cols[1])
            out[cols[0].split(".")[0]] = float(cols[1])
    return out
