"""Intake quality on realistic texts about the demo company, labeled by dispatcher judgement."""

from __future__ import annotations

import pytest
import yaml

from dispatch.company import Company
from tests.bench.bench_intake import ROOT, evaluate, load_demo_company, load_labeled

ROWS = load_labeled()


@pytest.fixture(scope="module")
def demo() -> Company:
    return load_demo_company()


@pytest.fixture(scope="module")
def scores(demo: Company) -> dict[str, float]:
    return evaluate(demo, ROWS)


def test_the_labeled_set_is_large_and_covers_the_demo_day() -> None:
    assert len(ROWS) >= 160
    day = yaml.safe_load((ROOT / "webhooks" / "demo" / "day.yaml").read_text(encoding="utf-8"))
    texts = {row["text"] for row in ROWS}
    assert all(request["text"] in texts for request in day["requests"])
    assert all(
        set(row) >= {"text", "from", "at", "skill", "priority", "street", "zip"} for row in ROWS
    )


def test_labels_use_the_demo_companys_skills_and_priorities(demo: Company) -> None:
    skills = {skill.id for skill in demo.skills} | {None}
    assert {row["skill"] for row in ROWS} <= skills
    assert {row["priority"] for row in ROWS} <= {"P1", "P2", "P3", "P4"}


def test_category_is_right_at_least_nine_times_in_ten(scores: dict[str, float]) -> None:
    assert scores["skill_pct"] >= 90.0


def test_priority_is_right_at_least_nine_times_in_ten(scores: dict[str, float]) -> None:
    assert scores["priority_pct"] >= 90.0


def test_streets_are_read_exactly_and_never_invented(scores: dict[str, float]) -> None:
    assert scores["street_pct"] >= 95.0
    assert scores["street_none_pct"] >= 95.0


def test_zips_are_read_exactly_and_never_invented(scores: dict[str, float]) -> None:
    assert scores["zip_pct"] >= 95.0
    assert scores["zip_none_pct"] >= 95.0
