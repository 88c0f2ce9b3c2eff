"""Bugs the abuse fuzzers found, pinned: Unicode digits that int() refuses, Telegram ids
longer than any Telegram gives out (the update was lost inside python-telegram-bot), and NUL
characters, which PostgreSQL text cannot hold (fixed: each test pins the fix)."""

from __future__ import annotations

import base64

import pytest
from multidict import MultiDict
from sqlalchemy import select
from twilio.request_validator import RequestValidator

from storage.db import session_factory
from storage.tables import InboundRow
from storage.uow import SqlUnitOfWork
from tests.channel_app import PUBLIC, Product
from tests.doubles.fixtures import TWILIO_FROM_NUMBER

SUPERSCRIPT_TWO = "²"  # str.isdigit() says yes, int() raises ValueError


async def token(p: Product) -> str:
    async with SqlUnitOfWork(session_factory(p.engine)) as uow:
        made = await uow.tokens.create("tests", p.clock.now())
        await uow.commit()
    return made


@pytest.mark.parametrize(
    ("url", "status"),
    [
        ("/api/v1/work-orders?limit=²", 400),
        ("/api/v1/work-orders?cursor=" + base64.urlsafe_b64encode("²".encode()).decode(), 400),
        ("/api/v1/work-orders/²", 404),
        ("/api/v1/work-orders/WO-1²", 404),
        ("/api/v1/work-orders/WO-1001/photos/²", 404),
    ],
)
async def test_unicode_digits_in_api_urls_are_a_400_or_404_not_a_500(
    product: Product, url: str, status: int
) -> None:
    response = await product.client.get(
        url, headers={"Authorization": f"Bearer {await token(product)}"}
    )
    assert response.status == status


async def test_unicode_digits_in_num_media_are_a_400_not_a_500(product: Product) -> None:
    p = product
    form = p.tw.inbound_sms_form("+15125550126", TWILIO_FROM_NUMBER, "hello")
    form["NumMedia"] = SUPERSCRIPT_TWO
    status, _ = await p.post_sms_form(form)
    assert status == 400
    assert await p.count("inbound_messages") == 0


async def test_a_telegram_update_from_an_overlong_user_id_is_refused_not_lost(
    product: Product,
) -> None:
    p = product
    status = await p.telegram(p.tg.make_update_text(10**70, "hello there"))
    async with p.engine.connect() as conn:
        stored = (await conn.execute(select(InboundRow.sender))).all()
    assert (status, stored) == (400, [])
    assert await p.telegram(p.tg.make_update_text(2**40, "hello there")) == 200


ON_POSTGRES = pytest.mark.parametrize(
    "database_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)


@ON_POSTGRES
@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/work-orders?technician=%00",
        "/api/v1/work-orders?customer=a%00",
        "/api/v1/customers/C%00",
    ],
)
async def test_nul_in_api_urls_is_refused_not_a_500(product: Product, url: str) -> None:
    response = await product.client.get(
        url, headers={"Authorization": f"Bearer {await token(product)}"}
    )
    assert response.status in (400, 404)


@ON_POSTGRES
@pytest.mark.parametrize("field", ["text", "customer_id"])
async def test_nul_in_an_api_request_is_refused_not_a_500(product: Product, field: str) -> None:
    body = {"text": "sink clogged", "customer_id": "C007"}
    body[field] = body[field][:2] + "\x00" + body[field][2:]
    response = await product.client.post(
        "/api/v1/requests",
        json=body,
        headers={"Authorization": f"Bearer {await token(product)}"},
    )
    assert response.status == 400


@ON_POSTGRES
async def test_a_text_with_nul_is_handled_like_any_other(product: Product) -> None:
    p = product
    _, twiml = await p.sms("+15125550126", "walk-in cooler at Manchaca is warm \x00 reading 45")
    async with p.engine.connect() as conn:
        errors = (await conn.execute(select(InboundRow.error))).scalars().all()
    assert errors == [None]
    assert "WO-1001" in twiml


@ON_POSTGRES
@pytest.mark.parametrize("field", ["MessageSid", "From", "NumMedia"])
async def test_nul_in_an_sms_field_other_than_the_body_is_a_400(
    product: Product, field: str
) -> None:
    p = product
    form = p.tw.inbound_sms_form("+15125550126", TWILIO_FROM_NUMBER, "sink clogged")
    form[field] = form[field][:2] + "\x00" + form[field][2:]
    status, _ = await p.post_sms_form(form)
    assert status == 400
    assert await p.count("inbound_messages") == 0


@ON_POSTGRES
@pytest.mark.parametrize("field", ["MessageSid", "MessageStatus", "ErrorCode"])
async def test_nul_in_a_status_callback_is_a_400(product: Product, field: str) -> None:
    p = product
    form = {
        "AccountSid": p.tw.account_sid,
        "MessageSid": "SM" + "0" * 32,
        "MessageStatus": "undelivered",
        "ErrorCode": "30003",
    }
    form[field] = form[field][:2] + "\x00" + form[field][2:]
    path = "/webhooks/twilio/status"
    response = await p.client.post(
        path, data=form, headers={"X-Twilio-Signature": p.tw.sign(PUBLIC + path, form)}
    )
    assert response.status == 400


HUGE = 10**70


@ON_POSTGRES
@pytest.mark.parametrize(
    "update",
    [
        {
            "update_id": 70001,
            "message": {"message_id": 1, "date": 1, "chat": {"id": 5, "type": "private"}},
            "callback_query": {
                "id": "q",
                "chat_instance": "c",
                "data": "A 1001",
                "from": {"id": HUGE, "is_bot": False, "first_name": "X"},
            },
        },
        {
            "update_id": 70002,
            "message": {
                "message_id": 1,
                "date": 1,
                "chat": {"id": HUGE, "type": "private"},
                "from": {"id": 5, "is_bot": False, "first_name": "X"},
                "text": "hello",
            },
        },
    ],
    ids=["callback-from", "chat-id"],
)
async def test_overlong_telegram_ids_anywhere_are_refused_not_lost(
    product: Product, update: dict[str, object]
) -> None:
    p = product
    status = await p.telegram(update)
    async with p.engine.connect() as conn:
        rows = (await conn.execute(select(InboundRow.processed_at, InboundRow.error))).all()
    assert status == 400 or [(r.processed_at is not None, r.error) for r in rows] == [(True, None)]


async def test_a_field_sent_twice_is_signed_with_both_values(product: Product) -> None:
    """Twilio signs every value of a field that comes more than once; the webhook checks
    the signature over all of them (it hands the validator the form as a MultiDict), so a
    signature made over one value only is refused and one over both is accepted."""
    p = product
    path = "/webhooks/twilio/sms"
    form = p.tw.inbound_sms_form("+15125550126", TWILIO_FROM_NUMBER, "sink clogged")
    pairs = [*form.items(), ("Extra", "one"), ("Extra", "two")]
    validator = RequestValidator(p.tw.auth_token)
    one_value = validator.compute_signature(PUBLIC + path, {**form, "Extra": "two"})
    both = validator.compute_signature(PUBLIC + path, MultiDict(pairs))
    for signature, status in ((one_value, 403), (both, 200)):
        response = await p.client.post(path, data=pairs, headers={"X-Twilio-Signature": signature})
        assert response.status == status
    assert await p.count("inbound_messages") == 1
