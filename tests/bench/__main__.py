"""`make bench`: every benchmark in tests/bench, one after the other, each merged into
bench-results.json under its own key. One that fails is reported and the others still run;
the exit status is 1 if any failed.

    python -m tests.bench                 # all
    python -m tests.bench load memory     # some, by name
"""

from __future__ import annotations

import json
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parents[2] / "bench-results.json"


def _choose() -> dict[str, Any]:
    from tests.bench import bench_choose

    result = bench_choose.run()
    print(
        f"choose: median {result['median_ms']:.2f} ms, p90 {result['p90_ms']:.2f} ms; "
        f"all qualified: median {result['all_qualified_median_ms']:.2f} ms, "
        f"p90 {result['all_qualified_p90_ms']:.2f} ms"
    )
    return dict(result)


def _intake() -> dict[str, Any]:
    from tests.bench import bench_intake

    result = bench_intake.run()
    print(
        f"intake: skill {result['skill_pct']}%, priority {result['priority_pct']}%, "
        f"street {result['street_pct']}%, zip {result['zip_pct']}%, "
        f"{result['messages_per_s']:.0f} messages/s"
    )
    return dict(result)


def _request() -> dict[str, Any]:
    from tests.bench import bench_request

    return bench_request.run()  # prints its lines as it goes


def _instructions() -> dict[str, Any]:
    from tests.bench import bench_instructions

    return bench_instructions.run()


def _load() -> dict[str, Any]:
    from tests.bench import bench_load

    return bench_load.run()  # prints its table as it goes


def _simulate() -> dict[str, Any]:
    from tests.bench import bench_simulate

    return bench_simulate.run()


def _floor() -> dict[str, Any]:
    from tests.bench import bench_floor

    return bench_floor.run()  # prints its lines as it goes


def _memory() -> dict[str, Any]:
    from tests.bench import bench_memory

    return bench_memory.run()


BENCHMARKS: dict[str, Callable[[], dict[str, Any]]] = {
    "choose": _choose,
    "intake": _intake,
    "request": _request,
    "instructions": _instructions,
    "load": _load,
    "memory": _memory,
    "floor": _floor,
    "simulate": _simulate,
}


def merge(key: str, value: dict[str, Any]) -> None:
    merged: dict[str, Any] = {}
    if RESULTS.exists():
        try:
            merged = json.loads(RESULTS.read_text())
        except json.JSONDecodeError:
            print(f"bench: {RESULTS.name} was not valid JSON; starting it afresh")
    merged[key] = value
    RESULTS.write_text(json.dumps(merged, indent=2, sort_keys=True) + "\n")


def main(argv: list[str]) -> int:
    names = argv or list(BENCHMARKS)
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        print(f"bench: unknown {', '.join(unknown)}; known: {', '.join(BENCHMARKS)}")
        return 2
    failed: list[str] = []
    for name in names:
        started = time.perf_counter()
        print(f"== {name}", flush=True)
        try:
            result = BENCHMARKS[name]()
        except Exception:  # one broken benchmark must not hide the others' figures
            traceback.print_exc()
            failed.append(name)
            continue
        merge(name, result)
        print(f"   ({time.perf_counter() - started:.0f} s)", flush=True)
    if failed:
        print(f"bench: failed: {', '.join(failed)}")
    print(f"bench: results in {RESULTS}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
