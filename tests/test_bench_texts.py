"""The load benchmark counts on every text opening a new work order of a known skill: if
intake changed its reading of them, the bench would measure a cheaper path (a follow-up
added to the open work order) or fail. This keeps its texts honest against intake."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from bot.intake import parse_message
from storage.company_file import load_company_file
from tests.bench.bench_company import SKILLS, new_problem_text

DEMO = Path(__file__).resolve().parents[1] / "webhooks" / "demo" / "company.yaml"


def test_every_load_text_says_new_problem_and_names_its_skill() -> None:
    company = load_company_file(DEMO).company
    at = datetime(2026, 12, 3, 15, 0, tzinfo=UTC)
    misread = []
    for i in range(len(SKILLS) * 40):
        text = new_problem_text(i)
        u = parse_message(company, text, at=at)
        if not (u.says_new_problem and u.skill == SKILLS[i % len(SKILLS)]):
            misread.append((text, u.says_new_problem, u.skill))
    assert misread == []
