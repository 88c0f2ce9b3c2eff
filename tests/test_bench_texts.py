"""The benchmarks' own inputs, kept honest. The load benchmark counts on every text opening
a new work order of a known skill: if intake changed its reading of them, the bench would
measure a cheaper path (a follow-up added to the open work order) or fail. The simulate
benchmark counts on its day being a valid one of 60 requests and 12 technicians."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from bot.intake import parse_message
from storage.company_file import load_company_file
from tests.bench.bench_company import SKILLS, new_problem_text
from tests.bench.bench_simulate import sixty_request_day
from webhooks.simulate.scenario import check_against_company, load_scenario

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


def test_the_simulate_bench_day_is_a_valid_day_of_sixty_requests_and_twelve_technicians(
    tmp_path: Path,
) -> None:
    scenario = load_scenario(sixty_request_day(tmp_path))
    company = load_company_file(scenario.company_path).company
    check_against_company(scenario, {t.id for t in company.technicians})
    assert len(scenario.requests) == 60 and len(company.technicians) == 12
    senders = [r.sender for r in scenario.requests]
    assert len(set(senders)) == len(senders) - 2  # only the demo day's own two repeat senders
