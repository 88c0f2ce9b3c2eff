"""The Twilio double answers twilio-python like api.twilio.com, and signs its webhooks."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl

import aiohttp
import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from tests.doubles import TelegramDouble, TwilioDouble, sign, sms_segments
from tests.doubles.twilio_http import BaseUrlTwilioHttpClient, rewrite_url

if TYPE_CHECKING:
    from tests.doubles.fixtures import ReceivedPosts

pytest_plugins = ["tests.doubles.fixtures"]

TECH = "+15551230001"
OUR_NUMBER = "+15005550006"
PUBLIC_SMS_URL = "https://callout.example/webhooks/twilio/sms"


async def test_create_async_answers_a_queued_message(
    twilio_double: TwilioDouble, twilio_client: Client
) -> None:
    message = await twilio_client.messages.create_async(
        to=TECH,
        from_=OUR_NUMBER,
        body="Job 7 at 10:30",
        status_callback="https://callout.example/webhooks/twilio/status",
    )

    assert message.sid.startswith("SM")
    assert len(message.sid) == 34
    assert int(message.sid[2:], 16) >= 0
    assert (message.status, message.num_segments, message.num_media) == ("queued", "1", "0")
    assert (message.to, message.from_, message.direction) == (TECH, OUR_NUMBER, "outbound-api")
    assert message.date_created is not None
    sent = twilio_double.sent_to(TECH)[0]
    assert (sent.sid, sent.body) == (message.sid, "Job 7 at 10:30")
    assert sent.status_callback == "https://callout.example/webhooks/twilio/status"


async def test_media_urls_travel_as_repeated_fields_and_make_an_mms(
    twilio_double: TwilioDouble, twilio_client: Client
) -> None:
    urls = ["https://callout.example/m/1.jpg", "https://callout.example/m/2.jpg"]

    message = await twilio_client.messages.create_async(
        to=TECH, from_=OUR_NUMBER, body="photos", media_url=urls
    )

    assert message.sid.startswith("MM")
    assert message.num_media == "2"
    assert twilio_double.sent[-1].media_urls == tuple(urls)


async def test_messaging_service_send_is_accepted_without_a_sender(
    twilio_client: Client,
) -> None:
    message = await twilio_client.messages.create_async(
        to=TECH, messaging_service_sid="MG" + "0" * 32, body="hi"
    )

    assert (message.status, message.from_, message.num_segments) == ("accepted", None, "0")


@pytest.mark.parametrize(
    ("body", "segments"),
    [
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("{" * 80, 1),
        ("{" * 81, 2),
        ("é" * 160, 1),
        ("ć" * 70, 1),
        ("ć" * 71, 2),
        ("🔧" * 35, 1),
        ("🔧" * 36, 2),
        ("a" * 306, 2),
        ("a" * 307, 3),
    ],
)
def test_segments_count_gsm7_septets_or_ucs2_units(body: str, segments: int) -> None:
    assert sms_segments(body) == segments


async def test_segments_are_reported_by_the_api(twilio_client: Client) -> None:
    message = await twilio_client.messages.create_async(
        to=TECH, from_=OUR_NUMBER, body="Ölleitung geprüft ✓" * 4
    )

    assert message.num_segments == "2"


async def test_unsubscribed_recipient_raises_21610(
    twilio_double: TwilioDouble, twilio_client: Client
) -> None:
    twilio_double.opt_out(TECH)

    with pytest.raises(TwilioRestException) as raised:
        await twilio_client.messages.create_async(to=TECH, from_=OUR_NUMBER, body="offer")

    assert (raised.value.status, raised.value.code) == (400, 21610)
    assert twilio_double.rejected[-1][1] == {
        "code": 21610,
        "message": "Attempt to send to unsubscribed recipient",
        "more_info": "https://www.twilio.com/docs/errors/21610",
        "status": 400,
    }
    assert twilio_double.sent == []


@pytest.mark.parametrize(
    ("kind", "status", "code"),
    [("rate_limited", 429, 20429), ("server_error", 500, 20500), ("invalid_number", 400, 21211)],
)
async def test_scripted_failures_raise_twilio_errors(
    twilio_double: TwilioDouble, twilio_client: Client, kind: str, status: int, code: int
) -> None:
    twilio_double.fail_next(TECH, kind)  # type: ignore[arg-type]

    with pytest.raises(TwilioRestException) as raised:
        await twilio_client.messages.create_async(to=TECH, from_=OUR_NUMBER, body="offer")

    assert (raised.value.status, raised.value.code) == (status, code)
    assert (await twilio_client.messages.create_async(to=TECH, from_=OUR_NUMBER, body="x")).sid


async def test_dropped_connection_raises_a_client_error(
    twilio_double: TwilioDouble, twilio_client: Client
) -> None:
    twilio_double.fail_next(None, "network")

    with pytest.raises(aiohttp.ClientError):
        await twilio_client.messages.create_async(to=TECH, from_=OUR_NUMBER, body="offer")


async def test_wrong_credentials_raise_20003(twilio_double: TwilioDouble) -> None:
    async with BaseUrlTwilioHttpClient(twilio_double.url) as http:
        client = Client(twilio_double.account_sid, "wrong-token", http_client=http)
        with pytest.raises(TwilioRestException) as raised:
            await client.messages.create_async(to=TECH, from_=OUR_NUMBER, body="x")

    assert (raised.value.status, raised.value.code) == (401, 20003)


async def test_fetch_follows_status_callbacks_and_unknown_sid_is_404(
    twilio_double: TwilioDouble, twilio_client: Client
) -> None:
    sent = await twilio_client.messages.create_async(to=TECH, from_=OUR_NUMBER, body="x")

    form = twilio_double.status_callback_form(sent.sid, "undelivered", error_code=30003)
    fetched = await twilio_client.messages(sent.sid).fetch_async()

    assert (form["MessageStatus"], form["ErrorCode"], form["MessageSid"]) == (
        "undelivered",
        "30003",
        sent.sid,
    )
    assert (fetched.status, fetched.error_code) == ("undelivered", 30003)
    assert "ErrorCode" not in twilio_double.status_callback_form(sent.sid, "delivered")
    with pytest.raises(TwilioRestException) as raised:
        await twilio_client.messages("SM" + "0" * 32).fetch_async()
    assert (raised.value.status, raised.value.code) == (404, 20404)


def test_signature_validates_with_twilio_validator(twilio_double: TwilioDouble) -> None:
    form = twilio_double.inbound_sms_form(TECH, OUR_NUMBER, "STOP")
    validator = RequestValidator(twilio_double.auth_token)

    signature = sign(PUBLIC_SMS_URL, form, twilio_double.auth_token)

    assert validator.validate(PUBLIC_SMS_URL, form, signature)
    assert not validator.validate(PUBLIC_SMS_URL, {**form, "Body": "START"}, signature)
    assert not validator.validate(PUBLIC_SMS_URL, form, sign(PUBLIC_SMS_URL, form, "other"))


def test_inbound_sms_form_has_twilio_fields(twilio_double: TwilioDouble) -> None:
    form = twilio_double.inbound_sms_form(TECH, OUR_NUMBER, "on my way")

    assert form["MessageSid"].startswith("SM")
    assert form["SmsSid"] == form["MessageSid"]
    assert (form["From"], form["To"], form["Body"], form["NumMedia"]) == (
        TECH,
        OUR_NUMBER,
        "on my way",
        "0",
    )
    assert form["AccountSid"] == twilio_double.account_sid
    assert form["SmsStatus"] == "received"


async def test_inbound_mms_media_is_downloadable(twilio_double: TwilioDouble) -> None:
    form = twilio_double.inbound_sms_form(
        TECH, OUR_NUMBER, "the leak", media=[("image/jpeg", b"JPEG leak")]
    )

    async with aiohttp.ClientSession() as session, session.get(form["MediaUrl0"]) as response:
        content = await response.read()

    assert form["MessageSid"].startswith("MM")
    assert form["NumMedia"] == "1"
    assert form["MediaContentType0"] == "image/jpeg"
    assert form["MediaUrl0"].startswith(twilio_double.url)
    assert f"/Messages/{form['MessageSid']}/Media/ME" in form["MediaUrl0"]
    assert (response.status, content, response.content_type) == (200, b"JPEG leak", "image/jpeg")
    assert response.history[0].status == 307


async def test_media_needs_credentials_when_the_account_demands_it() -> None:
    async with TwilioDouble(media_auth=True) as double:
        url = double.add_media("image/png", b"PNG")
        auth = {"Authorization": aiohttp.encode_basic_auth(double.account_sid, double.auth_token)}
        async with aiohttp.ClientSession() as session:
            async with session.get(url) as anonymous:
                refused = anonymous.status
            async with session.get(url, headers=auth) as authorized:
                content = await authorized.read()

    assert refused == 401
    assert content == b"PNG"


async def test_post_webhook_signs_for_the_public_url(
    twilio_double: TwilioDouble,
    webhook_receiver: ReceivedPosts,
) -> None:
    form = twilio_double.inbound_sms_form(TECH, OUR_NUMBER, "YES")

    reply = await twilio_double.post_webhook(
        PUBLIC_SMS_URL, form, post_to=f"{webhook_receiver.url}/webhooks/twilio/sms"
    )

    received = dict(parse_qsl(webhook_receiver.bodies[0].decode(), keep_blank_values=True))
    signature = webhook_receiver.headers[0]["X-Twilio-Signature"]
    assert RequestValidator(twilio_double.auth_token).validate(PUBLIC_SMS_URL, received, signature)
    assert (reply.status, reply.text) == (200, "<Response/>")


@pytest.mark.parametrize(
    ("base", "expected"),
    [
        ("http://127.0.0.1:9000", "http://127.0.0.1:9000/2010-04-01/Accounts/AC1/Messages.json"),
        (
            "https://proxy.example/twilio/",
            "https://proxy.example/twilio/2010-04-01/Accounts/AC1/Messages.json",
        ),
    ],
)
def test_rewrite_url_keeps_the_api_path_under_the_base(base: str, expected: str) -> None:
    original = "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages.json"

    assert rewrite_url(original, base) == expected


def test_base_url_must_be_http() -> None:
    with pytest.raises(ValueError, match="TWILIO_API_BASE_URL"):
        BaseUrlTwilioHttpClient("api.twilio.com")


def test_channel_env_points_clients_at_the_doubles(
    channel_env: dict[str, str], telegram_double: TelegramDouble, twilio_double: TwilioDouble
) -> None:
    assert channel_env["TELEGRAM_API_BASE_URL"] == f"{telegram_double.url}/bot"
    assert channel_env["TWILIO_API_BASE_URL"] == twilio_double.url


async def test_status_callback_is_posted_signed_to_the_callback_url(
    twilio_double: TwilioDouble, twilio_client: Client, webhook_receiver: ReceivedPosts
) -> None:
    callback_url = "https://callout.example/webhooks/twilio/status"
    sent = await twilio_client.messages.create_async(
        to=TECH, from_=OUR_NUMBER, body="x", status_callback=callback_url
    )

    reply = await twilio_double.post_status_callback(
        sent.sid, "failed", 30006, post_to=f"{webhook_receiver.url}/webhooks/twilio/status"
    )

    form = dict(parse_qsl(webhook_receiver.bodies[0].decode(), keep_blank_values=True))
    signature = webhook_receiver.headers[0]["X-Twilio-Signature"]
    assert RequestValidator(twilio_double.auth_token).validate(callback_url, form, signature)
    assert (form["MessageSid"], form["MessageStatus"], form["ErrorCode"]) == (
        sent.sid,
        "failed",
        "30006",
    )
    assert reply.status == 200


@pytest.mark.parametrize(
    ("to", "from_", "body", "code"),
    [
        ("555-0100", OUR_NUMBER, "x", 21211),
        (TECH, "+15550009999", "x", 21606),
        (TECH, OUR_NUMBER, "", 21602),
        (TECH, OUR_NUMBER, "x" * 1601, 21617),
    ],
)
async def test_invalid_sends_are_refused_with_twilio_codes(
    to: str, from_: str, body: str, code: int
) -> None:
    async with (
        TwilioDouble(numbers=frozenset({OUR_NUMBER})) as double,
        BaseUrlTwilioHttpClient(double.url) as http,
    ):
        client = Client(double.account_sid, double.auth_token, http_client=http)
        with pytest.raises(TwilioRestException) as raised:
            await client.messages.create_async(to=to, from_=from_, body=body)

    assert (raised.value.status, raised.value.code) == (400, code)
    assert double.sent == []


async def test_resource_dates_follow_the_given_clock() -> None:
    moment = datetime(2026, 11, 30, 13, 0, tzinfo=UTC)
    async with (
        TwilioDouble(clock=lambda: moment) as double,
        BaseUrlTwilioHttpClient(double.url) as http,
    ):
        client = Client(double.account_sid, double.auth_token, http_client=http)
        message = await client.messages.create_async(to=TECH, from_=OUR_NUMBER, body="x")

    assert message.date_created == moment
    assert double.resources[message.sid]["date_created"] == "Mon, 30 Nov 2026 13:00:00 +0000"
