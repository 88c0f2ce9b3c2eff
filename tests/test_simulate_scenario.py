"""A scenario file is checked whole before anything runs; each problem names its field."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import yaml

from webhooks.simulate import main, simulate
from webhooks.simulate.scenario import ScenarioError, load_scenario

SMALL = Path(__file__).parent / "data" / "sim_small.yaml"
COMPANY = Path(__file__).parent.parent / "webhooks" / "demo" / "company.yaml"


def write_variant(tmp_path: Path, change: dict[str, object]) -> Path:
    data = yaml.safe_load(SMALL.read_text(encoding="utf-8"))
    data["company"] = str(COMPANY)
    for dotted, value in change.items():
        target = data
        *parts, last = dotted.split(".")
        for part in parts:
            target = target[int(part)] if part.isdigit() else target[part]
        if last.isdigit():
            target[int(last)] = value
        else:
            target[last] = value
    path = tmp_path / "scenario.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def test_the_small_scenario_loads_with_its_company_relative_to_the_file() -> None:
    scenario = load_scenario(SMALL)
    assert scenario.company_path.resolve() == COMPANY.resolve()
    assert len(scenario.requests) == 6 and scenario.seed == 11
    assert scenario.technicians.reply_minutes == (1.0, 4.0)


def test_a_bad_time_is_named_by_its_path_and_nothing_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_variant(tmp_path, {"requests.3.at": "9am"})
    db = tmp_path / "sim.db"
    code = main([str(path), "--db", f"sqlite+aiosqlite:///{db}", "--quiet"])
    assert code == 2
    assert "requests[3].at: expected HH:MM" in capsys.readouterr().err
    assert not db.exists()


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    path = write_variant(
        tmp_path,
        {
            "requests.0.channel": "fax",
            "requests.1.true_minutes": -5,
            "technicians.accept_probability": 1.5,
            "customers.confirm_probability": "often",
            "requests.2.from": "not an email",
        },
    )
    with pytest.raises(ScenarioError) as err:
        load_scenario(path)
    assert set(err.value.problems) == {
        "requests[0].channel: expected one of sms, telegram, portal",
        "requests[1].true_minutes: expected a positive whole number",
        "technicians.accept_probability: expected a probability between 0 and 1",
        "customers.confirm_probability: expected a probability between 0 and 1",
        "requests[2].from: expected an email address",
    }


def test_an_unknown_technician_in_an_event_is_refused_before_the_day_runs(
    tmp_path: Path,
) -> None:
    path = write_variant(tmp_path, {"events.0.technician": "T99"})
    db = tmp_path / "sim.db"
    with pytest.raises(ScenarioError, match=r"events\[0\]\.technician: unknown technician T99"):
        asyncio.run(simulate(path, ("engine",), db_url=f"sqlite+aiosqlite:///{db}"))
    assert not db.exists()


def test_requests_out_of_time_order_and_unknown_fields_are_named(tmp_path: Path) -> None:
    path = write_variant(tmp_path, {"requests.4.at": "07:00", "requests.4.colour": "red"})
    with pytest.raises(ScenarioError) as err:
        load_scenario(path)
    assert "requests[4].at: before the previous request (08:05)" in err.value.problems
    assert "requests[4].colour: unknown field" in err.value.problems


def test_a_missing_company_file_is_named(tmp_path: Path) -> None:
    path = write_variant(tmp_path, {"company": "nowhere.yaml"})
    with pytest.raises(ScenarioError, match="company: no such file"):
        load_scenario(path)
