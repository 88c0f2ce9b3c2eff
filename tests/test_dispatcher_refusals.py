"""Only dispatchers run dispatcher commands: a technician or a customer who tries one gets a
polite refusal, and nothing changes."""

from __future__ import annotations

import pytest

from bot.dispatcher import is_dispatcher_command
from tests.channel_app import Product
from tests.dispatcher_chat import (
    CUSTOMER,
    KEISHA,
    REFUSAL,
    cooler_job,
    outbox_to,
    say,
    snapshot,
)

COMMANDS = [
    "/board",
    "/queue",
    "/queue 2",
    "/sla",
    "/techs",
    "/wo {n}",
    "/why WO-{n}",
    "/where T03",
    "/assign {n} T03",
    "/assign {n} maria because I said so",
    "/reassign wo{n} T04",
    "/unassign {n}",
    "/bump {n}",
    "/approve {n}",
    "/note {n} sneaky",
    "/new +15125550133 my furnace is broken at 4 Oak St 78704",
    "/boardlink",
]


@pytest.mark.parametrize("phone", [KEISHA, CUSTOMER], ids=["technician", "customer"])
async def test_others_get_a_polite_refusal_and_nothing_changes(
    product: Product, phone: str
) -> None:
    p = product
    seq = await cooler_job(p)  # the customer now has an open work order to add text to
    before = await snapshot(p)
    outbox_before = len(await outbox_to(p, "+15125550133"))
    for command in COMMANDS:
        assert await say(p, phone, command.format(n=seq)) == REFUSAL, command
    assert await snapshot(p) == before
    assert len(await outbox_to(p, "+15125550133")) == outbox_before


def test_only_dispatcher_commands_are_recognised_as_such() -> None:
    for command in COMMANDS:
        assert is_dispatcher_command(command.format(n=1042)), command
    for ordinary in (
        "/help",
        "/start",
        "/cancel 1042",
        "CANCEL WO-1042",
        "/new my sink leaks",
        "board the windows up",
        "A 1042",
        "/jobs",
        "hello",
    ):
        assert not is_dispatcher_command(ordinary), ordinary
