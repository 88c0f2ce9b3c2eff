"""Dispatchers read the day by SMS: /board, /queue, /sla, /wo, /why, /techs, /where, /help."""

from __future__ import annotations

from datetime import timedelta

from dispatch.workorder import Status
from storage.db import session_factory
from storage.uow import SqlUnitOfWork
from tests.channel_app import Product
from tests.dispatcher_chat import CARLOS, DANA, answer, cooler_job, say

VIP = "+15125550120"  # C001 Lone Star Restaurant Group: VIP, so its jobs are flagged
VIP_REQUEST = "walk-in cooler at 310 E 6th St is warm, please check today"


async def test_the_board_shows_every_technician_on_one_phone_screen(product: Product) -> None:
    p = product
    seq = await cooler_job(p)
    board = await say(p, DANA, "/board")
    lines = board.splitlines()
    assert lines[0].startswith("Board Mon 30 Nov 07:00: 1 jobs, queue 0")
    assert len(lines) == 1 + 12 + 1 and max(len(line) for line in lines) <= 60
    assert f"T11 Sofia (1): {seq} 08:11?" in lines  # offered, planned at 08:11
    assert "T09 Amanda: on leave" in lines and "T12 Ben: no shift today" in lines
    assert await say(p, CARLOS, "board") == board  # the slash is optional by SMS


async def test_the_queue_lists_flagged_and_unassigned_jobs_in_pages(product: Product) -> None:
    p = product
    assert await say(p, DANA, "/queue") == "Queue is empty: nothing flagged or unassigned."
    await say(p, VIP, VIP_REQUEST)
    queue = await say(p, DANA, "/queue")
    assert queue.splitlines()[0] == "Queue (1):"
    assert queue.splitlines()[1].startswith("WO-1001 P2 ready due 11:00: vip")
    for i in range(9):  # ten in all: two pages
        await say(p, f"+1737555{i:04d}", f"my kitchen sink is leaking at {100 + i} Elm St 78704")
    first = await say(p, DANA, "/queue")
    assert first.splitlines()[0].startswith("Queue (")
    assert first.splitlines()[-1] == "Page 1/2, more: /queue 2"
    second = await say(p, DANA, "/queue 2")
    assert second.splitlines()[-1] == "Page 2/2"
    assert not set(first.splitlines()[1:-1]) & set(second.splitlines()[1:-1])


async def test_sla_lists_at_risk_and_breached_oldest_first(product: Product) -> None:
    p = product
    assert await say(p, DANA, "/sla") == "SLA: nothing at risk or breached."
    first = await cooler_job(p)
    p.clock.advance(timedelta(hours=1))
    await say(p, VIP, VIP_REQUEST)
    p.clock.advance(timedelta(hours=3, minutes=30))  # the first is late, the second at 87%
    lines = (await say(p, DANA, "/sla")).splitlines()
    assert lines[0] == "SLA: 1 breached, 1 at risk"
    assert lines[1].startswith(f"WO-{first} P2 LATE since 11:00 offered")
    assert lines[2].startswith("WO-1002 P2 due 12:00 (80%) ready unassigned")


async def test_wo_shows_the_record_and_why_shows_the_explanation(product: Product) -> None:
    p = product
    seq = await cooler_job(p)
    record = await say(p, DANA, f"/wo WO-{seq}")
    assert record.startswith(f"WO-{seq} P2 offered, Commercial refrigeration")
    assert "Customer: Bluebonnet Senior Living, +15125550126" in record
    assert "Tech: offered to T11 Sofia, planned 08:11-09:41" in record
    assert "SLA due 11:00" in record
    why = await say(p, DANA, f"/why wo{seq}")
    assert why.splitlines()[0] == f"WO-{seq} offer by engine at 07:00"
    assert "Chosen T11 Sofia: score" in why
    assert "Excluded, lacks the skill level: T01 T02 T03" in why
    assert "Excluded, not working today: T09 T12" in why


async def test_wo_and_why_of_an_unknown_work_order_say_so(product: Product) -> None:
    p = product
    for command in ("/wo 9999", "/why WO-9999"):
        assert await say(p, DANA, command) == "No work order WO-9999. /queue lists the open ones."
    assert await say(p, DANA, "/wo") == "Which work order? For example: /wo WO-1042"


async def test_techs_lists_the_team_in_one_sms(product: Product) -> None:
    _, twiml = await product.sms(DANA, "/techs")
    assert twiml.count("<Message>") == 1 and "(1/" not in twiml
    lines = answer(twiml).splitlines()
    assert lines[0] == "Technicians (12):"
    assert "T01 Maria Lopez 07-16" in lines
    assert "T09 Amanda Pierce: on leave" in lines
    assert len(lines) == 13


async def test_where_says_home_or_the_site_of_the_job_under_way(product: Product) -> None:
    p = product
    home = await say(p, DANA, "/where T03")
    assert home.startswith("T03 Keisha Brooks has no job under way: last known location is home.")
    assert "https://maps.google.com/?q=" in home
    seq = await cooler_job(p)
    await say(p, "+15125550111", f"A {seq}")  # Sofia accepts
    async with SqlUnitOfWork(session_factory(p.engine)) as uow:
        wo = await uow.work_orders.get(seq, lock=True)
        assert wo is not None
        wo.transition(Status.EN_ROUTE, p.clock.now(), actor="technician:T11")
        await uow.work_orders.save(wo)
        await uow.commit()
    there = await say(p, DANA, "/where sofia")
    assert there.startswith(
        f"T11 Sofia Alvarez is driving to the site of WO-{seq} (en route): 6800 Manchaca Rd"
    )


async def test_where_an_unknown_or_ambiguous_technician_asks_again(product: Product) -> None:
    p = product
    assert await say(p, DANA, "/where zorro") == 'No technician matches "zorro". /techs lists them.'
    assert await say(p, DANA, "/where mar") == (
        '"mar" could be T01 Maria Lopez, T10 Marcus Reed. Which one?\n'
        "Reply /where T01 to T01 Maria Lopez, /where T10 to T10 Marcus Reed."
    )


async def test_help_and_unknown_commands(product: Product) -> None:
    p = product
    assert (await say(p, DANA, "/help")).startswith("Dispatcher: /board, /queue")
    assert (await say(p, DANA, "HELP")).startswith("Dispatcher: /board, /queue")
    assert (
        await say(p, DANA, "/frobnicate") == "Unknown command /frobnicate. Send /help for the list."
    )
    link = await say(p, DANA, "/boardlink")
    assert link.startswith(
        "Your board link (one use, 15 minutes): https://callout.example/board/login/"
    )


async def test_why_and_approve_when_only_the_territory_stands_in_the_way(
    product: Product,
) -> None:
    """Nobody who covers the south repairs appliances: the flag suggests who could go
    anyway, /why says the suggestions break the territory, /approve is the override."""
    p = product
    south_home = "+15125550138"  # C019 Carlos Mendoza, one site in 78744
    await say(p, south_home, "my dryer stopped heating, no rush")
    why = await say(p, DANA, "/why WO-1001")
    assert "Nobody chosen: no_feasible_technician" in why
    assert "Nobody fits every rule. Suggested, outside their territory;" in why
    assert "Runner-up T06 Priya" in why or "Runner-up T10" in why
    approved = await say(p, DANA, "/approve WO-1001")
    assert approved.startswith("WO-1001 assigned to "), approved
    why = await say(p, DANA, "/why WO-1001")
    assert "Overrode: outside their territory." in why
