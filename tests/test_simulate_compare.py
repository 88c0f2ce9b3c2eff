"""The bundled demo day under the three policies (the slowest simulator test: three whole days
through the product). The engine should beat the baselines a company uses without it."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from webhooks.simulate import Simulated, simulate
from webhooks.simulate.run import POLICIES

DEMO_DAY = Path(__file__).parent.parent / "webhooks" / "demo" / "day.yaml"


@pytest.fixture(scope="module")
def compared() -> Simulated:
    return asyncio.run(simulate(DEMO_DAY, POLICIES))


def test_the_compare_report_has_every_policy_with_the_same_kpis(compared: Simulated) -> None:
    body = json.loads(compared.report(POLICIES))
    assert body["seed"] == 7 and body["scenario"] == str(DEMO_DAY)
    assert list(body["policies"]) == list(POLICIES)
    keys = set(body["policies"]["engine"])
    assert all(set(k) == keys for k in body["policies"].values())
    assert all(k["requests"] == 45 for k in body["policies"].values())


@pytest.mark.xfail(
    strict=True,
    reason="demo day, seed 7: SLA met engine 100%, first_free 100%, nearest 96.9%. A tie "
    "with first_free (which ignores territory and certifications) is not more; issue 7",
)
def test_the_engine_meets_more_slas_than_both_baselines(compared: Simulated) -> None:
    sla = {name: run.kpis["sla_met_pct"] for name, run in compared.runs.items()}
    assert sla["engine"] > sla["first_free"], sla
    assert sla["engine"] > sla["nearest"], sla


def test_the_engine_drives_fewer_km_than_both_baselines(compared: Simulated) -> None:
    km = {name: run.kpis["drive_km_total"] for name, run in compared.runs.items()}
    assert km["engine"] < km["first_free"], km
    assert km["engine"] < km["nearest"], km
