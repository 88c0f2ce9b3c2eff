"""Dispatchers steer by SMS: /assign (ids, fuzzy names, overrides), /reassign, /unassign,
/bump, /cancel, /approve, /note and /new, each with its unknown-argument answers."""

from __future__ import annotations

import pytest

from tests.channel_app import Product
from tests.dispatcher_chat import (
    CUSTOMER,
    DANA,
    cooler_job,
    outbox_to,
    say,
    snapshot,
    timeline,
    wo_row,
)

VIP = "+15125550120"
VIP_REQUEST = "walk-in cooler at 310 E 6th St is warm, please check today"


async def test_assign_by_id_puts_the_job_in_the_technicians_day(product: Product) -> None:
    p = product
    seq = await cooler_job(p)  # offered to T11 Sofia
    assert await say(p, DANA, f"/assign WO-{seq} T04") == (
        f"Tuan Nguyen can't take WO-{seq}: outside their territory (does not cover south). "
        f"To override: /assign WO-{seq} T04 because <reason>"
    )
    assert await say(p, DANA, f"/assign {seq} t11") == f"WO-{seq} assigned to Sofia Alvarez."
    row = await wo_row(p, seq)
    assert (row.status, row.technician_id) == ("assigned", "T11")
    assert row.planned_start is not None
    events = await timeline(p, seq)
    assert events[-1].actor == "dispatcher:D01" and events[-1].channel == "sms"
    assert events[-1].text.endswith("assigned to T11 by dispatcher:D01")
    [update] = await outbox_to(p, CUSTOMER, "update")
    assert "Sofia Alvarez will take care of it" in update.payload["text"]


async def test_a_refused_assignment_is_overridden_with_a_reason(product: Product) -> None:
    p = product
    seq = await cooler_job(p)
    refused = await say(p, DANA, f"/assign {seq} maria")
    assert refused.startswith(f"Maria Lopez can't take WO-{seq}: lacks the skill level")
    assert (await wo_row(p, seq)).technician_id is None
    done = await say(p, DANA, f"/assign {seq} maria because the customer asked for her")
    assert done == f"WO-{seq} assigned to Maria Lopez."
    row = await wo_row(p, seq)
    assert (row.status, row.technician_id) == ("assigned", "T01")
    last = (await timeline(p, seq))[-1]
    assert last.text.endswith("overriding skill: the customer asked for her")
    why = await say(p, DANA, f"/why {seq}")
    assert "Overrode: lacks the skill level. Reason: the customer asked for her" in why


async def test_an_ambiguous_name_asks_which_technician(product: Product) -> None:
    p = product
    seq = await cooler_job(p)
    before = await snapshot(p)
    asked = await say(p, DANA, f"/assign {seq} mar")
    assert asked.startswith('"mar" could be T01 Maria Lopez, T10 Marcus Reed. Which one?')
    assert f"/assign {seq} T01 to T01 Maria Lopez" in asked
    assert await snapshot(p) == before


@pytest.mark.parametrize("command", ["assign", "reassign"])
async def test_assign_names_an_unknown_work_order_or_technician(
    product: Product, command: str
) -> None:
    p = product
    seq = await cooler_job(p)
    before = await snapshot(p)
    assert await say(p, DANA, f"/{command} 9999 T03") == (
        "No work order WO-9999. /queue lists the open ones."
    )
    assert await say(p, DANA, f"/{command} {seq} T77") == (
        'No technician matches "T77". /techs lists them.'
    )
    assert await say(p, DANA, f"/{command} {seq}") == (
        f"Which technician? For example: /{command} {seq} T03 (or a name)."
    )
    assert await snapshot(p) == before


async def test_reassign_moves_the_job_and_tells_the_first_technician(product: Product) -> None:
    p = product
    seq = await cooler_job(p)
    await say(p, DANA, f"/assign {seq} T11")
    moved = await say(p, DANA, f"/reassign {seq} tuan because he is closer today")
    assert moved == f"WO-{seq} assigned to Tuan Nguyen."
    assert (await wo_row(p, seq)).technician_id == "T04"
    told = [m.payload["text"] for m in await outbox_to(p, "+15125550111", "message")]
    assert f"WO-{seq} was taken off your plan: reassigned to T04 by dispatcher:D01." in told


async def test_unassign_puts_the_job_back_in_the_queue(product: Product) -> None:
    p = product
    seq = await cooler_job(p)
    await say(p, DANA, f"/assign {seq} T11")
    assert await say(p, DANA, f"/unassign {seq}") == f"WO-{seq} is back in the queue."
    row = await wo_row(p, seq)
    assert (row.status, row.technician_id) == ("ready", None)
    assert row.flag_reason == "unassigned by dispatcher:D01"
    assert (await say(p, DANA, "/queue")).splitlines()[1].startswith(f"WO-{seq} P2 ready")


async def test_bump_makes_it_p1_with_the_p1_deadline(product: Product) -> None:
    p = product
    seq = await cooler_job(p)
    assert await say(p, DANA, f"/bump WO-{seq}") == f"WO-{seq} is now P1."
    row = await wo_row(p, seq)
    assert row.priority == "P1" and row.status == "offered"
    assert row.sla_due_at is not None and row.sla_due_at.hour == 15  # gold P1: 2 h after 13:00Z
    assert any(e.text == "bumped to P1 by dispatcher:D01" for e in await timeline(p, seq))


async def test_cancel_cancels_and_withdraws_the_offer(product: Product) -> None:
    p = product
    seq = await cooler_job(p)
    assert await say(p, DANA, f"/cancel {seq} customer fixed it") == f"WO-{seq} is cancelled."
    row = await wo_row(p, seq)
    assert row.status == "cancelled"
    assert (await timeline(p, seq))[-1].text.endswith("customer fixed it")
    [withdrawn] = await outbox_to(p, "+15125550111", "message")
    assert "withdrawn: the job was cancelled" in withdrawn.payload["text"]


async def test_approve_accepts_the_engines_suggestion_for_a_flagged_job(product: Product) -> None:
    p = product
    await say(p, VIP, VIP_REQUEST)
    flagged = await wo_row(p, 1001)
    assert flagged.flag_reason is not None and flagged.flag_reason.startswith("vip")
    approved = await say(p, DANA, "/approve WO-1001")
    assert approved.startswith("WO-1001 assigned to ")
    row = await wo_row(p, 1001)
    assert row.status == "assigned" and row.flag_reason is None


async def test_note_is_added_to_the_timeline(product: Product) -> None:
    p = product
    seq = await cooler_job(p)
    assert await say(p, DANA, f"/note {seq} gate code 4411, ask for Ray") == (
        f"Note added to WO-{seq}."
    )
    last = (await timeline(p, seq))[-1]
    assert (last.kind, last.text, last.actor) == (
        "note",
        "gate code 4411, ask for Ray",
        "dispatcher:D01",
    )
    assert await say(p, DANA, f"/note {seq}") == (
        f"What should the note say? For example: /note WO-{seq} gate code 4411"
    )


@pytest.mark.parametrize("command", ["unassign", "bump", "cancel", "approve", "note"])
async def test_an_unknown_work_order_is_named_and_nothing_changes(
    product: Product, command: str
) -> None:
    p = product
    await cooler_job(p)
    before = await snapshot(p)
    assert await say(p, DANA, f"/{command} wo9999 text") == (
        "No work order WO-9999. /queue lists the open ones."
    )
    assert await snapshot(p) == before


async def test_new_logs_a_phone_call_through_the_customers_intake(product: Product) -> None:
    p = product
    answer = await say(p, DANA, "/new (512) 555-0126 walk-in cooler at Manchaca is warm, today")
    assert answer.startswith("Logged for +15125550126: WO-1001: got it. Commercial refrigeration")
    row = await wo_row(p, 1001)
    assert row.customer_id == "C007" and row.status == "offered"
    await p.deliver()
    [confirmation] = p.tw.sent_to(CUSTOMER)
    assert confirmation.body.startswith("WO-1001: got it.")


async def test_new_for_an_unknown_caller_asks_them_by_sms(product: Product) -> None:
    p = product
    answer = await say(p, DANA, "/new 737-555-0199 kitchen sink leaking at 12 Elm St 78704")
    assert answer == (
        "Logged WO-1001 for +17375550199. The customer was asked by SMS: "
        "Thanks for reaching out! What name should we put this under?"
    )
    await p.deliver()
    [question] = p.tw.sent_to("+17375550199")
    assert question.body.startswith("Thanks for reaching out!")


async def test_new_without_a_phone_or_a_request_changes_nothing(product: Product) -> None:
    p = product
    before = await snapshot(p)
    assert (await say(p, DANA, "/new no heat")).startswith("Usage: /new PHONE")
    assert (await say(p, DANA, "/new 5125550126")).startswith("What did +15125550126 say?")
    assert (await say(p, DANA, "/new +15125550126 hi")).startswith("Nothing logged")
    assert (await say(p, DANA, "/new +15125550103 no heat")) == (
        "+15125550103 is a technician (T03), not a customer."
    )
    assert await snapshot(p) == before
    assert await outbox_to(p, CUSTOMER) == []
