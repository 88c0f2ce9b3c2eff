"""`callout bench trsp`: the engine's planner on the TRSP benchmark (Pillac et al. 2013).

Plans each instance with `dispatch.engine.plan.plan_day` (the product's planner), checks and
scores the result with the independent evaluator in `dispatch.engine.trsp`, writes the
benchmark's solution JSON per instance and a summary, and prints the gap to the best known.
`--dynamic P` also replays the release dates through the online path; `--peer ortools` runs
OR-Tools routing on the same instances for comparison.
"""

from __future__ import annotations

import argparse
import json
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

from dispatch.engine.online import simulate
from dispatch.engine.plan import plan_day
from dispatch.engine.travel import euclidean
from dispatch.engine.trsp import (
    Instance,
    check,
    load_instance,
    load_release_dates,
    read_bks,
    routes_of,
    write_solution,
)


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="callout bench trsp", description=__doc__)
    ap.add_argument("instances", nargs="+", type=Path, help="TRSP instance files")
    ap.add_argument("--seconds", type=float, default=30.0, help="time per instance")
    ap.add_argument("--out", type=Path, default=Path("bench-out/trsp"))
    ap.add_argument("--dynamic", type=int, metavar="RD", help="replay dyn/<I>_rd_<RD>.txt")
    ap.add_argument("--bks", type=Path, help="bks.tsv (default: two folders up)")
    ap.add_argument("--jobs", type=int, default=2, help="instances planned in parallel")
    ap.add_argument("--peer", choices=("ortools", "none"), default="none")
    ap.add_argument("--seed", type=int, default=1)
    return ap


def _gap(value: float | None, bks: float | None) -> float | None:
    if value is None or not bks:
        return None
    return 100.0 * (value - bks) / bks


def run_one(path: Path, args: argparse.Namespace, bks: dict[str, float]) -> dict[str, Any]:
    """Plan one instance (and its dynamic replay and peer, if asked): a summary row."""
    inst = load_instance(path)
    best = bks.get(inst.name)
    t0 = time.perf_counter()
    plan = plan_day(
        inst.workers, inst.jobs, euclidean, inst.depot, seconds=args.seconds, seed=args.seed
    )
    secs = time.perf_counter() - t0
    routes = routes_of(plan.routes)
    unserved = [int(u.job.id) for u in plan.unassigned]
    score = check(inst, routes, unserved)
    args.out.mkdir(parents=True, exist_ok=True)
    write_solution(args.out / f"{inst.name}.json", inst, routes, unserved)
    row: dict[str, Any] = {
        "instance": inst.name,
        "objective": score.objective,
        "best_known": best,
        "gap_pct": _gap(score.objective, best) if score.feasible else None,
        "seconds": secs,
        "served": score.served,
        "requests": len(inst.jobs),
        "technicians_used": score.used,
        "iterations": plan.iterations,
        "feasible": score.feasible and not unserved,
        "errors": list(score.errors),
    }
    if args.dynamic is not None:
        row.update(_dynamic(inst, path, args, score.objective))
    if args.peer == "ortools":
        from webhooks.bench_trsp_ortools import solve_ortools

        peer_routes, dropped = solve_ortools(inst, args.seconds)
        peer = check(inst, peer_routes, dropped)
        row["peer"] = {
            "solver": "ortools",
            "objective": peer.objective,
            "served": peer.served,
            "gap_pct": _gap(peer.objective, best) if peer.feasible and not dropped else None,
            "errors": list(peer.errors),
        }
    return row


def _dynamic(
    inst: Instance, path: Path, args: argparse.Namespace, offline: float
) -> dict[str, Any]:
    rd_file = path.parent / "dyn" / f"{inst.name}_rd_{args.dynamic}.txt"
    release = load_release_dates(rd_file)
    jobs = [replace(j, release=release.get(int(j.id), -1.0)) for j in inst.jobs]
    t0 = time.perf_counter()
    res = simulate(inst.workers, jobs, euclidean, inst.depot, seconds=args.seconds, seed=args.seed)
    unserved = [int(j.id) for j in res.unserved]
    score = check(inst, routes_of(res.routes), unserved)
    write_solution(
        args.out / f"{inst.name}_rd_{args.dynamic}.json", inst, routes_of(res.routes), unserved
    )
    return {
        "online_objective": score.objective,
        "online_served": score.served,
        "online_feasible": score.feasible and not unserved,
        "online_ratio": score.objective / offline if offline else None,
        "online_seconds": time.perf_counter() - t0,
        "online_inserted": res.inserted,
        "online_errors": list(score.errors),
    }


def _fmt(v: float | None, digits: int = 2) -> str:
    return "-" if v is None else f"{v:.{digits}f}"


def _table(rows: list[dict[str, Any]], dynamic: bool, peer: bool) -> list[str]:
    head = f"{'instance':<20}{'objective':>12}{'best known':>12}{'gap %':>8}"
    head += f"{'seconds':>9}{'served':>8}"
    if dynamic:
        head += f"{'online':>12}{'on/off':>8}{'served':>8}"
    if peer:
        head += f"{'ortools':>12}{'gap %':>8}{'served':>8}"
    out = [head]
    for r in rows:
        line = (
            f"{r['instance']:<20}{r['objective']:>12.2f}{_fmt(r['best_known']):>12}"
            f"{_fmt(r['gap_pct']):>8}{r['seconds']:>9.1f}{r['served']:>4}/{r['requests']:<3}"
        )
        if dynamic:
            line += (
                f"{r['online_objective']:>12.2f}{_fmt(r['online_ratio'], 3):>8}"
                f"{r['online_served']:>4}/{r['requests']:<3}"
            )
        if peer:
            p = r["peer"]
            line += (
                f"{p['objective']:>12.2f}{_fmt(p['gap_pct']):>8}{p['served']:>4}/{r['requests']:<3}"
            )
        out.append(line)
    return out


def _mean(values: list[float | None]) -> float | None:
    vals = [v for v in values if v is not None]
    return sum(vals) / len(vals) if vals else None


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    bks_path = args.bks or args.instances[0].resolve().parent.parent / "bks.tsv"
    bks = read_bks(bks_path) if bks_path.exists() else {}
    with ProcessPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        futures = [pool.submit(run_one, p, args, bks) for p in args.instances]
        rows = [f.result() for f in futures]
    dynamic = args.dynamic is not None
    peer = args.peer != "none"
    for line in _table(rows, dynamic, peer):
        print(line)
    summary: dict[str, Any] = {
        "seconds_per_instance": args.seconds,
        "instances": len(rows),
        "all_feasible": all(r["feasible"] for r in rows),
        "mean_gap_pct": _mean([r["gap_pct"] for r in rows]),
        "rows": rows,
    }
    print(f"mean gap {_fmt(summary['mean_gap_pct'])} %  all served: {summary['all_feasible']}")
    if dynamic:
        summary["mean_online_ratio"] = _mean([r["online_ratio"] for r in rows])
        print(f"mean online/offline {_fmt(summary['mean_online_ratio'], 3)}")
    if peer:
        summary["mean_peer_gap_pct"] = _mean([r["peer"]["gap_pct"] for r in rows])
        print(f"ortools mean gap {_fmt(summary['mean_peer_gap_pct'])} % (fully served instances)")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    return 0 if summary["all_feasible"] else 1


if __name__ == "__main__":
    import sys

    raise SystemExit(main(sys.argv[1:]))
