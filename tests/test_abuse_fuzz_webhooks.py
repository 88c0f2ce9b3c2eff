"""Fuzzed webhooks (Telegram, Twilio SMS and status, simulator): never a 500, whatever arrives."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from hypothesis import strategies as st

from tests.channel_app import PUBLIC, SECRET, Product
from tests.doubles.fixtures import TWILIO_FROM_NUMBER
from tests.test_abuse_support import (
    TELEGRAM_USERS,
    assert_allowed,
    assert_handled,
    fuzz,
    json_values,
    phones,
    short_texts,
    texts,
)

TELEGRAM = "/webhooks/telegram"
SMS = "/webhooks/twilio/sms"
STATUS = "/webhooks/twilio/status"
FORM = "application/x-www-form-urlencoded"
HEADERS = {"X-Telegram-Bot-Api-Secret-Token": SECRET, "Content-Type": "application/json"}


async def post_telegram(p: Product, body: bytes) -> int:
    response = await p.client.post(TELEGRAM, data=body, headers=HEADERS)
    assert_allowed(response.status, body[:500])
    return response.status


def dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")


# --- Telegram ------------------------------------------------------------------------------

ids = st.integers(min_value=-(2**63), max_value=2**63) | st.integers()
users = st.fixed_dictionaries(
    {"id": st.sampled_from(TELEGRAM_USERS), "is_bot": st.booleans(), "first_name": short_texts},
    optional={"username": short_texts, "last_name": short_texts, "language_code": short_texts},
)
chats = st.fixed_dictionaries(
    {"id": ids, "type": st.sampled_from(["private", "group", "supergroup", "channel", "?"])}
)
coordinates = st.floats(allow_nan=True, allow_infinity=True) | st.integers()
photo_sizes = st.fixed_dictionaries(
    {
        "file_id": short_texts,
        "file_unique_id": short_texts,
        "width": st.integers(min_value=0, max_value=2**40),
        "height": st.integers(min_value=0, max_value=2**40),
    },
    optional={"file_size": st.integers(min_value=-1, max_value=2**40)},
)
messages = st.fixed_dictionaries(
    {
        "message_id": ids,
        "date": st.integers(min_value=0, max_value=2**33),
        "chat": chats,
    },
    optional={
        "from": users,
        "text": texts,
        "caption": texts,
        "location": st.fixed_dictionaries({"latitude": coordinates, "longitude": coordinates}),
        "contact": st.fixed_dictionaries(
            {"phone_number": phones, "first_name": short_texts}, optional={"user_id": ids}
        ),
        "photo": st.lists(photo_sizes, max_size=3),
        "document": st.fixed_dictionaries(
            {"file_id": short_texts, "file_unique_id": short_texts},
            optional={"mime_type": short_texts, "file_size": st.integers()},
        ),
        "entities": st.lists(
            st.fixed_dictionaries(
                {
                    "type": st.sampled_from(["bot_command", "bold", "url", "??"]),
                    "offset": st.integers(-5, 400),
                    "length": st.integers(-5, 400),
                }
            ),
            max_size=3,
        ),
    },
)
callbacks = st.fixed_dictionaries(
    {"id": short_texts, "from": users, "chat_instance": short_texts},
    optional={"data": texts, "message": messages},
)
updates = st.fixed_dictionaries(
    {"update_id": st.integers(min_value=-(2**31), max_value=2**63)},
    optional={
        "message": messages,
        "edited_message": messages,
        "callback_query": callbacks,
        "channel_post": messages,
    },
)


telegram_bodies = (
    json_values.map(dumps)
    | st.binary(max_size=2000)
    | updates.map(dumps)
    | st.tuples(
        st.integers(min_value=0, max_value=2**40),
        st.sampled_from(["message", "callback_query", "edited_message", "my_chat_member"]),
        json_values,
    ).map(lambda c: dumps({"update_id": c[0], c[1]: c[2]}))
)


async def telegram_body(p: Product, body: bytes) -> None:
    """With the right secret: any JSON, any bytes, Updates with hostile fields (huge ids, NaN
    coordinates, odd entities) and known keys holding anything. 200 or 400, and what is
    accepted is handled without an error."""
    if await post_telegram(p, body) == 200:
        await assert_handled(p, "telegram", str(json.loads(body)["update_id"]), body[:500])


test_telegram_webhook, test_telegram_webhook_postgres = fuzz(telegram_bodies)(telegram_body)


# --- Twilio --------------------------------------------------------------------------------

# A closed loopback port: media fetches fail at once instead of leaving the machine.
DEAD_MEDIA = "http://127.0.0.1:9/media/"
sms_forms = st.fixed_dictionaries(
    {},
    optional={
        "MessageSid": st.sampled_from(["SM" + "0" * 32, "MM" + "1" * 32]) | short_texts,
        "SmsSid": short_texts,
        "From": phones,
        "To": st.just(TWILIO_FROM_NUMBER) | short_texts,
        "Body": texts,
        "NumMedia": st.sampled_from(["0", "1", "2", "11", "-1", "1e3", "", "²"]) | short_texts,
        "MediaUrl0": st.just(DEAD_MEDIA) | st.builds(lambda t: DEAD_MEDIA + t, short_texts),
        "MediaContentType0": st.sampled_from(["image/jpeg", "text/html", ""]) | short_texts,
        "AccountSid": short_texts,
    },
)
extra_fields = st.dictionaries(short_texts, texts, max_size=4)
status_forms = st.fixed_dictionaries(
    {},
    optional={
        "MessageSid": st.just("SM" + "2" * 32) | short_texts,
        "MessageStatus": st.sampled_from(["delivered", "failed", "undelivered", "sent"])
        | short_texts,
        "ErrorCode": st.sampled_from(["30003", "21610", ""]) | short_texts,
        "To": phones,
    },
)
content_types = st.sampled_from(
    [
        FORM,
        "multipart/form-data; boundary=xyz",
        "multipart/form-data",
        "application/json",
        "text/plain",
        "",
    ]
)
signatures = st.text(alphabet="ABCDEFabcdef0123456789+/=", max_size=40)


def twilio_cases(forms: st.SearchStrategy[dict[str, str]]) -> st.SearchStrategy[Any]:
    signed = st.tuples(st.just("signed"), st.tuples(forms, extra_fields).map(lambda c: c[1] | c[0]))
    forged = st.tuples(st.just("forged"), forms, signatures)
    raw = st.tuples(st.just("raw"), st.binary(max_size=1000), content_types)
    return signed | forged | raw


async def post_twilio(p: Product, path: str, case: tuple[Any, ...]) -> None:
    """Signed forms with fuzzed fields (Twilio is trusted, the fields it carries are not),
    forged signatures over the same (403), bodies that are no form at all."""
    kind = case[0]
    if kind == "raw":
        body, content_type = case[1], case[2]
        headers = {"X-Twilio-Signature": "c2lnbmF0dXJl", "Content-Type": content_type}
    else:
        form = case[1]
        signature = p.tw.sign(PUBLIC + path, form) if kind == "signed" else case[2]
        body = urlencode(form).encode()
        headers = {"X-Twilio-Signature": signature, "Content-Type": FORM}
    response = await p.client.post(path, data=body, headers=headers)
    assert_allowed(response.status, case)
    if kind != "signed":
        assert response.status in (400, 403), case
    elif path == SMS and response.status == 200:
        await assert_handled(p, "sms", form.get("MessageSid") or form["SmsSid"], case)


async def sms_webhook(p: Product, case: tuple[Any, ...]) -> None:
    await post_twilio(p, SMS, case)


async def status_webhook(p: Product, case: tuple[Any, ...]) -> None:
    await post_twilio(p, STATUS, case)


sms_webhook.__doc__ = status_webhook.__doc__ = post_twilio.__doc__
test_twilio_sms_webhook, test_twilio_sms_webhook_postgres = fuzz(twilio_cases(sms_forms))(
    sms_webhook
)
test_twilio_status_webhook, test_twilio_status_webhook_postgres = fuzz(twilio_cases(status_forms))(
    status_webhook
)


# --- Simulator -----------------------------------------------------------------------------

sim_posts = st.fixed_dictionaries(
    {},
    optional={
        "from": phones | json_values,
        "text": texts | json_values,
        "location": st.fixed_dictionaries({"lat": coordinates, "lon": coordinates}) | json_values,
        "choice": texts | json_values,
    },
)


async def simulator_post(p: Product, body: bytes) -> None:
    """Whatever the simulator's phones post."""
    response = await p.client.post("/sim/send", data=body)
    assert_allowed(response.status, body[:500])
    if response.status == 202:
        await assert_handled(p, "sim", (await response.json())["id"], body[:500])


test_simulator, test_simulator_postgres = fuzz(
    sim_posts.map(dumps) | json_values.map(dumps) | st.binary(max_size=500)
)(simulator_post)
