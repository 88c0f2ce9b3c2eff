"""Benchmark: intake accuracy on the labeled messages and parsing throughput.

The labeled set (tests/data/intake_labeled.jsonl) holds texts about the bundled demo company,
labeled by what a dispatcher would decide. Accuracy is exact agreement per field; street and
ZIP are scored separately on messages that have one (found exactly) and on those that have
none (nothing invented). Lines marked `"holdout": true` were written and labeled after the
parser was tuned and were never tuned on, so their figures show how it does on unseen texts;
keep it that way (when tuning on them, drop the mark and add fresh holdout lines).

    python -m tests.bench.bench_intake        # prints and merges {"intake": ...} into
                                              # bench-results.json at the repository root
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from bot.intake import IntakeModel, parse_message
from bot.intake.batch import CustomerDirectory, parse_jsonl
from dispatch.company import Company
from storage.company_file import load_company_file

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "bench-results.json"
DEMO_COMPANY = ROOT / "webhooks" / "demo" / "company.yaml"
LABELED = ROOT / "tests" / "data" / "intake_labeled.jsonl"
FIELDS = ("skill", "priority", "street", "zip")
THROUGHPUT_ROUNDS = 5


def load_labeled(path: Path = LABELED) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def load_demo_company() -> Company:
    return load_company_file(DEMO_COMPANY).company


def _share(hits: int, total: int) -> float:
    return round(100.0 * hits / total, 1) if total else 100.0


def evaluate(company: Company, rows: Iterable[dict[str, object]]) -> dict[str, float]:
    """Percentages of agreement with the labels, per field."""
    directory = CustomerDirectory(company)
    hits = dict.fromkeys(FIELDS, 0)
    present = {"street": [0, 0], "zip": [0, 0]}  # [hits, total] where the label has a value
    absent = {"street": [0, 0], "zip": [0, 0]}  # where it has none
    count = 0
    for row in rows:
        count += 1
        customer = directory.find(str(row["from"]))
        at = datetime.fromisoformat(str(row["at"]))
        understood = parse_message(company, str(row["text"]), at=at, customer=customer)
        got = {
            "skill": understood.skill,
            "priority": understood.priority,
            "street": understood.street,
            "zip": understood.zip,
        }
        for field in FIELDS:
            hits[field] += got[field] == row[field]
        for field in ("street", "zip"):
            bucket = present if row[field] is not None else absent
            bucket[field][0] += got[field] == row[field]
            bucket[field][1] += 1
    return {
        "messages": float(count),
        "skill_pct": _share(hits["skill"], count),
        "priority_pct": _share(hits["priority"], count),
        "street_pct": _share(*present["street"]),
        "street_none_pct": _share(*absent["street"]),
        "zip_pct": _share(*present["zip"]),
        "zip_none_pct": _share(*absent["zip"]),
    }


def throughput(company: Company, rows: list[dict[str, object]]) -> dict[str, float]:
    """Messages per second through the `callout parse --jsonl` path: first pass and warm."""
    lines = [json.dumps({k: row[k] for k in ("text", "from", "at")}) for row in rows]
    now = datetime.now(UTC)
    fresh = load_demo_company()  # a new company object: the first pass builds its model
    started = time.perf_counter()
    for _ in parse_jsonl(fresh, lines, now=now):
        pass
    first = time.perf_counter() - started
    started = time.perf_counter()
    for _ in range(THROUGHPUT_ROUNDS):
        for _ in parse_jsonl(company, lines, now=now):
            pass
    warm = time.perf_counter() - started
    return {
        "first_pass_per_s": round(len(lines) / first, 1),
        "messages_per_s": round(THROUGHPUT_ROUNDS * len(lines) / warm, 1),
    }


def run() -> dict[str, float]:
    company = load_demo_company()
    IntakeModel.for_company(company)
    rows = load_labeled()
    result = evaluate(company, rows)
    holdout = [row for row in rows if row.get("holdout")]
    if holdout:
        for key, value in evaluate(company, holdout).items():
            result[f"holdout_{key}"] = value
    result.update(throughput(company, rows))
    return result


def main() -> None:
    result = run()
    print(
        f"intake: {int(result['messages'])} labeled messages: skill {result['skill_pct']}%, "
        f"priority {result['priority_pct']}%, street {result['street_pct']}% "
        f"(none where none {result['street_none_pct']}%), zip {result['zip_pct']}% "
        f"(none where none {result['zip_none_pct']}%)"
    )
    if "holdout_messages" in result:
        print(
            f"  holdout ({int(result['holdout_messages'])} texts never tuned on): "
            f"skill {result['holdout_skill_pct']}%, priority {result['holdout_priority_pct']}%, "
            f"street {result['holdout_street_pct']}%, zip {result['holdout_zip_pct']}%"
        )
    print(
        f"  throughput: {result['messages_per_s']:.0f} messages/s warm, "
        f"{result['first_pass_per_s']:.0f} messages/s on the first pass (model build included)"
    )
    merged: dict[str, object] = {}
    if RESULTS.exists():
        merged = json.loads(RESULTS.read_text())
    merged["intake"] = result
    RESULTS.write_text(json.dumps(merged, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
