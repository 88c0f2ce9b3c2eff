"""A dispatcher on Telegram: the same commands, a button to pick among similar names, and
alerts in the chat."""

from __future__ import annotations

from datetime import timedelta

from bot.sla_sweep import sweep_sla
from tests.channel_app import Product
from tests.dispatcher_chat import cooler_job, outbox_to, wo_row
from webhooks.app import SERVICES

DANA_TG = 190190


async def test_a_dispatcher_on_telegram_assigns_with_a_button(product: Product) -> None:
    p, tg = product, product.tg
    await p.telegram(tg.make_update_contact(DANA_TG, "15125550190", first_name="Dana"))
    seq = await cooler_job(p)
    await p.telegram(tg.make_update_text(DANA_TG, f"/assign {seq} mar because customer asked"))
    await p.deliver()
    [asked] = [m for m in tg.messages_to(DANA_TG) if "reply_markup" in m]
    assert asked["text"] == '"mar" could be T01 Maria Lopez, T10 Marcus Reed. Which one?'
    buttons = [b for row in asked["reply_markup"]["inline_keyboard"] for b in row]
    assert [b["text"] for b in buttons] == ["T01 Maria Lopez", "T10 Marcus Reed"]
    assert buttons[0]["callback_data"] == f"/assign {seq} T01 because customer asked"
    await p.telegram(
        tg.make_update_callback(DANA_TG, buttons[0]["callback_data"], asked["message_id"])
    )
    await p.deliver()
    assert tg.last_message_to(DANA_TG)["text"] == f"WO-{seq} assigned to Maria Lopez."
    assert (await wo_row(p, seq)).technician_id == "T01"


async def test_sla_alerts_reach_a_dispatcher_in_their_telegram_chat(product: Product) -> None:
    p, tg = product, product.tg
    await p.telegram(tg.make_update_contact(DANA_TG, "15125550190", first_name="Dana"))
    seq = await cooler_job(p)
    p.clock.advance(timedelta(hours=2))
    app = p.client.app
    assert app is not None
    services = app[SERVICES]
    async with services.bot_uows() as uow:
        assert await sweep_sla(uow, services.bot_deps()) == 1
        await uow.commit()
    assert [m.recipient for m in await outbox_to(p, str(DANA_TG), "alert")] == [str(DANA_TG)]
    await p.deliver()
    assert tg.last_message_to(DANA_TG)["text"].startswith(f"SLA at risk WO-{seq}: 50% used")
