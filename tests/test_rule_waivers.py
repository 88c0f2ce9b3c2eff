"""When nobody fits every rule: the engine's suggestions outside territory, `/approve` as
the override that names the rule, and a baseline policy that checks a yes by its own rules.

The demo company has nobody for appliance work in the south: T06 (north, central) and T10
(east, north) know appliances, nobody who covers the south does.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from dispatch.assignment import accept, assign
from dispatch.clock import FixedClock
from dispatch.events import JobAssigned, JobFlagged, OfferMade
from dispatch.manual import approve
from dispatch.policies import use_policy
from storage.tables import DecisionRow, OfferRow, WorkOrderRow
from tests.conftest import UowFactory
from tests.test_replan_scenarios import new_job, timeline

pytestmark = pytest.mark.usefixtures("demo_company")

SOUTH = ("C003", "S011")  # 1806 Berkeley Ave, 78745: the south territory; not a VIP
APPLIANCE_PEOPLE = {"T06", "T10"}


async def south_appliance_job(uow: UowFactory, clock: FixedClock) -> int:
    customer, site = SOUTH
    return await new_job(uow, clock, customer, site, "appliance", "P3", "dryer won't heat")


async def test_nobody_in_territory_flags_with_suggestions_that_waive_it(
    uow: UowFactory, clock: FixedClock, engine: AsyncEngine
) -> None:
    seq = await south_appliance_job(uow, clock)
    async with uow() as u:
        events = await assign(u, clock, seq)
        await u.commit()
    [flagged] = [e for e in events if isinstance(e, JobFlagged)]
    assert flagged.reason == "no_feasible_technician"
    assert flagged.waived == "territory"
    assert set(flagged.suggestions) == APPLIANCE_PEOPLE
    assert (await timeline(engine, seq))[-1].startswith(
        "no_feasible_technician; suggestions outside their territory: "
    )
    async with AsyncSession(engine) as s:
        wo = (await s.scalars(select(WorkOrderRow).where(WorkOrderRow.seq == seq))).one()
        offers = list(await s.scalars(select(OfferRow).where(OfferRow.work_order_id == wo.id)))
    assert wo.status == "ready" and wo.technician_id is None
    assert offers == []  # nothing goes out without a person deciding


async def test_approve_sends_the_first_suggestion_as_an_override_in_their_day(
    uow: UowFactory, clock: FixedClock, engine: AsyncEngine
) -> None:
    seq = await south_appliance_job(uow, clock)
    async with uow() as u:
        [flagged] = [e for e in await assign(u, clock, seq) if isinstance(e, JobFlagged)]
        await u.commit()
    async with uow() as u:
        outcome = await approve(u, clock, seq, actor="dispatcher:D01", channel="telegram")
        await u.commit()
    assert outcome.ok, outcome.message
    [assigned] = [e for e in outcome.events if isinstance(e, JobAssigned)]
    assert assigned.technician_id == flagged.suggestions[0]
    async with AsyncSession(engine) as s:
        wo = (await s.scalars(select(WorkOrderRow).where(WorkOrderRow.seq == seq))).one()
        override = (
            await s.scalars(
                select(DecisionRow).where(
                    DecisionRow.work_order_id == wo.id, DecisionRow.kind == "override"
                )
            )
        ).one()
    assert (wo.status, wo.technician_id) == ("assigned", flagged.suggestions[0])
    assert wo.planned_start is not None  # in the technician's plan, not floating
    assert override.data["broken_rule"] == "territory"
    assert override.actor == "dispatcher:D01"


async def test_a_baselines_offer_is_taken_by_its_own_rules_not_the_engines(
    uow: UowFactory, clock: FixedClock, engine: AsyncEngine
) -> None:
    """`nearest` checks only the trade, so it offers the south job outside territory; the
    yes must then hold. Checked against the engine's rules instead, it was withdrawn and
    offered to the same technician again, round after round (issue 7's compare)."""
    seq = await south_appliance_job(uow, clock)
    with use_policy("nearest"):
        async with uow() as u:
            [offer] = [e for e in await assign(u, clock, seq) if isinstance(e, OfferMade)]
            await u.commit()
        assert offer.technician_id in APPLIANCE_PEOPLE
        async with uow() as u:
            outcome = await accept(u, clock, seq, offer.technician_id, channel="sms")
            await u.commit()
    assert outcome.ok, outcome.message
    async with AsyncSession(engine) as s:
        wo = (await s.scalars(select(WorkOrderRow).where(WorkOrderRow.seq == seq))).one()
        statuses = list(
            await s.scalars(select(OfferRow.status).where(OfferRow.work_order_id == wo.id))
        )
    assert (wo.status, wo.technician_id) == ("assigned", offer.technician_id)
    assert statuses == ["accepted"]
