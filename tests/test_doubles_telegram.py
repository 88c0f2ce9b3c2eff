"""The Telegram double answers python-telegram-bot like the real Bot API."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import aiohttp
import pytest
from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    Update,
)
from telegram.error import BadRequest, Forbidden, InvalidToken, NetworkError, RetryAfter

from tests.doubles import TelegramDouble

if TYPE_CHECKING:
    from tests.doubles.fixtures import ReceivedPosts

pytest_plugins = ["tests.doubles.fixtures"]

CHAT = 4242
ACCEPT = InlineKeyboardMarkup([[InlineKeyboardButton("Accept", callback_data="offer:7:yes")]])


async def test_send_message_with_inline_keyboard_is_echoed_and_recorded(
    telegram_double: TelegramDouble, telegram_bot: Bot
) -> None:
    message = await telegram_bot.send_message(CHAT, "New job", reply_markup=ACCEPT)

    assert message.text == "New job"
    assert message.from_user is not None
    assert message.from_user.is_bot
    assert message.reply_markup == ACCEPT
    call = telegram_double.calls("sendMessage")[-1]
    assert (call.chat_id, call.text, call.ok) == (CHAT, "New job", True)
    assert call.reply_markup == ACCEPT.to_dict()


async def test_message_ids_increase_per_chat_across_user_and_bot(
    telegram_double: TelegramDouble, telegram_bot: Bot
) -> None:
    first = await telegram_bot.send_message(CHAT, "one")
    inbound = telegram_double.make_update_text(CHAT, "hello")
    second = await telegram_bot.send_message(CHAT, "two")
    elsewhere = await telegram_bot.send_message(CHAT + 1, "other chat")

    assert [first.message_id, inbound["message"]["message_id"], second.message_id] == [1, 2, 3]
    assert elsewhere.message_id == 1
    assert [m["text"] for m in telegram_double.messages_to(CHAT)] == ["one", "two"]


async def test_reply_keyboard_requesting_location_is_accepted_but_not_echoed(
    telegram_double: TelegramDouble, telegram_bot: Bot
) -> None:
    keyboard = ReplyKeyboardMarkup([[KeyboardButton("Share location", request_location=True)]])

    message = await telegram_bot.send_message(CHAT, "Where are you?", reply_markup=keyboard)

    assert message.reply_markup is None
    sent = telegram_double.calls("sendMessage")[-1].reply_markup
    assert sent is not None
    assert sent["keyboard"][0][0]["request_location"] is True


async def test_html_is_turned_into_entities_and_bad_html_is_refused(telegram_bot: Bot) -> None:
    message = await telegram_bot.send_message(CHAT, "<b>Boiler</b> &amp; pump", parse_mode="HTML")

    assert message.text == "Boiler & pump"
    assert [(e.type, e.offset, e.length) for e in message.entities] == [("bold", 0, 6)]
    with pytest.raises(BadRequest, match=r"(?i)parse entities"):
        await telegram_bot.send_message(CHAT, "pressure <2 bar", parse_mode="HTML")


async def test_markdown_v2_needs_reserved_characters_escaped(telegram_bot: Bot) -> None:
    message = await telegram_bot.send_message(CHAT, r"*ETA* 10\.30", parse_mode="MarkdownV2")

    assert message.text == "ETA 10.30"
    with pytest.raises(BadRequest, match=r"(?i)reserved"):
        await telegram_bot.send_message(CHAT, "ETA 10.30", parse_mode="MarkdownV2")


async def test_callback_data_longer_than_64_bytes_is_refused(telegram_bot: Bot) -> None:
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data="d" * 65)]])

    with pytest.raises(BadRequest, match=r"(?i)button_data_invalid"):
        await telegram_bot.send_message(CHAT, "choose", reply_markup=markup)


async def test_edit_replaces_text_drops_keyboard_and_refuses_a_no_op(
    telegram_double: TelegramDouble, telegram_bot: Bot
) -> None:
    offer = await telegram_bot.send_message(CHAT, "Job 7?", reply_markup=ACCEPT)

    edited = await telegram_bot.edit_message_text("Job 7: accepted", CHAT, offer.message_id)

    assert isinstance(edited, Message)
    assert edited.edit_date is not None
    assert telegram_double.messages_to(CHAT)[-1]["text"] == "Job 7: accepted"
    assert "reply_markup" not in telegram_double.messages_to(CHAT)[-1]
    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await telegram_bot.edit_message_text("Job 7: accepted", CHAT, offer.message_id)
    with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
        await telegram_bot.edit_message_reply_markup(CHAT, 999, reply_markup=ACCEPT)


async def test_edit_reply_markup_swaps_the_keyboard(
    telegram_double: TelegramDouble, telegram_bot: Bot
) -> None:
    offer = await telegram_bot.send_message(CHAT, "Job 7?", reply_markup=ACCEPT)
    done = InlineKeyboardMarkup([[InlineKeyboardButton("Done", callback_data="done:7")]])

    await telegram_bot.edit_message_reply_markup(CHAT, offer.message_id, reply_markup=done)

    assert telegram_double.last_message_to(CHAT)["reply_markup"] == done.to_dict()


async def test_callback_query_can_be_answered_once(
    telegram_double: TelegramDouble, telegram_bot: Bot
) -> None:
    offer = await telegram_bot.send_message(CHAT, "Job 7?", reply_markup=ACCEPT)
    update = telegram_double.make_update_callback(CHAT, "offer:7:yes", offer.message_id)
    query_id = update["callback_query"]["id"]

    assert await telegram_bot.answer_callback_query(query_id, text="Booked")
    assert telegram_double.answered_callbacks[query_id]["text"] == "Booked"
    with pytest.raises(BadRequest, match=r"(?i)query id is invalid"):
        await telegram_bot.answer_callback_query(query_id)


async def test_photo_update_is_downloadable_through_get_file(
    telegram_double: TelegramDouble, telegram_bot: Bot
) -> None:
    update = telegram_double.make_update_photo(CHAT, b"JPEG bytes", caption="leak")
    largest = update["message"]["photo"][-1]

    file = await telegram_bot.get_file(largest["file_id"])
    content = await file.download_as_bytearray()

    assert bytes(content) == b"JPEG bytes"
    assert file.file_path is not None
    assert file.file_path.startswith(telegram_double.url)


async def test_bot_uploads_photo_and_document_and_sends_location(
    telegram_double: TelegramDouble, telegram_bot: Bot
) -> None:
    photo = await telegram_bot.send_photo(
        CHAT, b"PNG bytes", caption="<i>site</i>", parse_mode="HTML"
    )
    document = await telegram_bot.send_document(CHAT, b"%PDF-1.7", filename="invoice-7.pdf")
    location = await telegram_bot.send_location(CHAT, 51.5072, -0.1276)

    assert photo.caption == "site"
    assert document.document is not None
    assert document.document.file_name == "invoice-7.pdf"
    assert location.location is not None
    assert location.location.latitude == 51.5072
    uploaded = await telegram_bot.get_file(photo.photo[-1].file_id)
    assert bytes(await uploaded.download_as_bytearray()) == b"PNG bytes"
    with pytest.raises(BadRequest, match=r"(?i)invalid file_id"):
        await telegram_bot.get_file("no-such-file")


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
async def test_retry_after_carries_the_servers_delay(
    telegram_double: TelegramDouble, telegram_bot: Bot
) -> None:
    telegram_double.fail_next(CHAT, "retry_after", retry_after=17)

    with pytest.raises(RetryAfter) as raised:
        await telegram_bot.send_message(CHAT, "offer")

    delay = raised.value.retry_after  # int, or timedelta with PTB_TIMEDELTA=1
    assert (delay if isinstance(delay, int) else delay.total_seconds()) == 17
    assert telegram_double.sent[-1].status == 429
    assert (await telegram_bot.send_message(CHAT, "offer")).text == "offer"


async def test_failures_target_only_their_chat(
    telegram_double: TelegramDouble, telegram_bot: Bot
) -> None:
    telegram_double.fail_next(CHAT, "blocked")

    await telegram_bot.send_message(CHAT + 1, "someone else")
    with pytest.raises(Forbidden, match=r"(?i)bot was blocked by the user"):
        await telegram_bot.send_message(CHAT, "offer")


async def test_a_blocked_chat_stays_blocked_until_unblocked(
    telegram_double: TelegramDouble, telegram_bot: Bot
) -> None:
    telegram_double.block(CHAT)

    for _ in range(2):
        with pytest.raises(Forbidden):
            await telegram_bot.send_message(CHAT, "offer")
    telegram_double.unblock(CHAT)
    assert (await telegram_bot.send_message(CHAT, "offer")).text == "offer"


@pytest.mark.parametrize("status", [500, 502])
async def test_server_errors_surface_as_network_errors(
    telegram_double: TelegramDouble, telegram_bot: Bot, status: int
) -> None:
    telegram_double.fail_next(CHAT, "server_error", status=status)

    with pytest.raises(NetworkError) as raised:
        await telegram_bot.send_message(CHAT, "offer")

    assert not isinstance(raised.value, (RetryAfter, BadRequest))
    assert telegram_double.sent[-1].status == status


async def test_dropped_connection_is_a_network_error(
    telegram_double: TelegramDouble, telegram_bot: Bot
) -> None:
    telegram_double.fail_next(CHAT, "network")

    with pytest.raises(NetworkError, match=r"(?i)disconnected"):
        await telegram_bot.send_message(CHAT, "offer")


async def test_unknown_token_is_unauthorized(telegram_double: TelegramDouble) -> None:
    url = f"{telegram_double.url}/bot1:wrong/getMe"
    async with aiohttp.ClientSession() as session, session.post(url) as response:
        body = await response.json()
    assert (response.status, body) == (
        401,
        {"ok": False, "error_code": 401, "description": "Unauthorized"},
    )
    with pytest.raises(InvalidToken):
        await Bot("1:wrong", base_url=f"{telegram_double.url}/bot").get_me()


async def test_json_bodies_are_accepted_like_form_bodies(telegram_double: TelegramDouble) -> None:
    url = f"{telegram_double.url}/bot{telegram_double.token}/sendMessage"
    payload = {"chat_id": CHAT, "text": "hi", "reply_markup": ACCEPT.to_dict()}

    async with aiohttp.ClientSession() as session, session.post(url, json=payload) as response:
        body = await response.json()

    assert body["ok"] is True
    assert body["result"]["reply_markup"] == ACCEPT.to_dict()
    assert body["result"]["chat"] == {"id": CHAT, "first_name": f"User {CHAT}", "type": "private"}


async def test_inbound_updates_are_bot_api_updates(
    telegram_double: TelegramDouble, telegram_bot: Bot
) -> None:
    offer = await telegram_bot.send_message(CHAT, "Job 7?", reply_markup=ACCEPT)
    updates = [
        telegram_double.make_update_text(CHAT, "/start", username="ana_tech"),
        telegram_double.make_update_location(CHAT, 51.5, -0.12),
        telegram_double.make_update_contact(CHAT, "15551230001"),
        telegram_double.make_update_photo(CHAT),
        telegram_double.make_update_callback(CHAT, "offer:7:yes", offer.message_id),
    ]

    parsed = [Update.de_json(json.loads(json.dumps(u)), telegram_bot) for u in updates]

    ids = [update.update_id for update in parsed]
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)
    text, location, contact, photo, callback = parsed
    assert text.message is not None
    assert text.message.text == "/start"
    assert text.message.from_user is not None
    assert text.message.from_user.username == "ana_tech"
    assert text.message.entities[0].type == "bot_command"
    assert location.message is not None
    assert location.message.location is not None
    assert contact.message is not None
    assert contact.message.contact is not None
    assert contact.message.contact.user_id == CHAT
    assert photo.message is not None
    assert len(photo.message.photo) == 2
    assert callback.callback_query is not None
    assert callback.callback_query.data == "offer:7:yes"
    assert callback.callback_query.message is not None
    assert callback.callback_query.message.message_id == offer.message_id


async def test_webhook_needs_https_and_deliveries_carry_its_secret(
    telegram_double: TelegramDouble,
    telegram_bot: Bot,
    webhook_receiver: ReceivedPosts,
) -> None:
    with pytest.raises(BadRequest, match=r"(?i)https url must be provided"):
        await telegram_bot.set_webhook("http://callout.example/webhooks/telegram")
    await telegram_bot.set_webhook("https://callout.example/webhooks/telegram", secret_token="s3")
    info = await telegram_bot.get_webhook_info()
    update = telegram_double.make_update_text(CHAT, "hi")

    status = await telegram_double.deliver(update, f"{webhook_receiver.url}/webhooks/telegram")

    assert info.url == "https://callout.example/webhooks/telegram"
    assert status == 200
    assert webhook_receiver.headers[0]["X-Telegram-Bot-Api-Secret-Token"] == "s3"
    assert json.loads(webhook_receiver.bodies[0]) == update
    assert await telegram_bot.delete_webhook()
    assert (await telegram_bot.get_webhook_info()).url == ""


async def test_deleted_message_leaves_the_chat(
    telegram_double: TelegramDouble, telegram_bot: Bot
) -> None:
    offer = await telegram_bot.send_message(CHAT, "Job 7?", reply_markup=ACCEPT)

    assert await telegram_bot.delete_message(CHAT, offer.message_id)

    assert telegram_double.messages_to(CHAT) == []
    with pytest.raises(BadRequest, match=r"(?i)message to delete not found"):
        await telegram_bot.delete_message(CHAT, offer.message_id)


async def test_message_dates_follow_the_given_clock() -> None:
    moment = datetime(2026, 11, 30, 13, 0, tzinfo=UTC)
    async with TelegramDouble(clock=lambda: moment) as double:
        async with Bot(double.token, base_url=f"{double.url}/bot") as bot:
            message = await bot.send_message(CHAT, "on shift")
        update = double.make_update_text(CHAT, "hi")

    assert message.date == moment
    assert update["message"]["date"] == int(moment.timestamp())


async def test_links_become_text_link_entities(telegram_bot: Bot) -> None:
    html = 'Job 7 <a href="https://callout.example/wo/abc">details</a>'
    markdown = r"Job 7 [details](https://callout.example/wo/abc)"

    for text, mode in [(html, "HTML"), (markdown, "MarkdownV2")]:
        message = await telegram_bot.send_message(CHAT, text, parse_mode=mode)
        assert message.text == "Job 7 details"
        (entity,) = message.entities
        assert (entity.type, entity.offset, entity.length) == ("text_link", 6, 7)
        assert entity.url == "https://callout.example/wo/abc"
