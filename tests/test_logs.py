"""Structured logs: JSON lines, phone numbers masked wherever they appear, and every line of
a request carrying the request's id (given in X-Request-Id when sane, else made)."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from aiohttp import ClientResponse

from tests.channel_app import PUBLIC, Product
from tests.doubles.fixtures import TWILIO_FROM_NUMBER
from webhooks.logs import JsonFormatter, mask, setup_logging


@pytest.mark.parametrize(
    "text",
    ["+15125550101", "(512) 555-0101", "512-555-0101", "512.555.0101", "+44 20 7946 0958"],
)
def test_phone_numbers_are_masked(text: str) -> None:
    masked = mask(f"message from {text} about WO-1042")
    digits = "".join(c for c in text if c.isdigit())
    assert digits[2:-2] not in masked.replace("•", "")
    assert masked.startswith("message from ")
    assert masked.endswith(" about WO-1042")
    assert "•" in masked


def test_things_that_are_not_phones_stay() -> None:
    for text in ["WO-1042", "INV-2026-0007", "2026-11-30T07:00:00-06:00", "zip 78704", "$1,250.00"]:
        assert mask(text) == text


def test_a_log_record_is_one_json_object_with_masked_extras() -> None:
    record = logging.makeLogRecord(
        {
            "name": "callout.test",
            "levelno": logging.INFO,
            "levelname": "INFO",
            "msg": "sms from %s",
            "args": ("+15125550101",),
        }
    )
    record.sender = "+15125550101"
    record.nested = {"to": ["+15125550190"]}
    entry = json.loads(JsonFormatter().format(record))
    assert entry["level"] == "info"
    assert entry["logger"] == "callout.test"
    text = json.dumps(entry)
    assert "5125550101" not in text
    assert "5125550190" not in text
    assert entry["sender"].startswith("+15")


# --- a request's lines ------------------------------------------------------------------


@pytest.fixture
def product_logs() -> Iterator[Callable[[], list[Entry]]]:
    """The product's own logging set-up (JSON lines, here at DEBUG), written to a buffer
    instead of stderr; put back as it was afterwards. Each call returns the new lines."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    quiet = {n: logging.getLogger(n).level for n in ("aiohttp.access", "alembic", "aiosqlite")}
    setup_logging("DEBUG")
    [handler] = root.handlers
    assert isinstance(handler, logging.StreamHandler)
    buffer = io.StringIO()
    handler.setStream(buffer)

    def lines() -> list[Entry]:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return [json.loads(line) for line in text.splitlines()]

    yield lines
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])
    for name, level in quiet.items():
        logging.getLogger(name).setLevel(level)


Entry = dict[str, Any]
CUSTOMER = "+15125550126"
SMS_PATH = "/webhooks/twilio/sms"


async def post_sms(p: Product, form: dict[str, str], request_id: str | None) -> ClientResponse:
    headers = {"X-Twilio-Signature": p.tw.sign(PUBLIC + SMS_PATH, form)}
    if request_id is not None:
        headers["X-Request-Id"] = request_id
    response = await p.client.post(SMS_PATH, data=form, headers=headers)
    assert response.status == 200
    return response


async def test_every_line_of_a_request_carries_its_id_and_no_phone(
    product: Product, product_logs: Callable[[], list[Entry]]
) -> None:
    p = product
    # An MMS whose attachment is refused: the bot logs it while the request is handled.
    text = f"cooler at Manchaca is warm, call me back on {CUSTOMER} or (512) 555-0177"
    form = p.tw.inbound_sms_form(CUSTOMER, TWILIO_FROM_NUMBER, text, [("text/plain", b"hi")])
    product_logs()
    response = await post_sms(p, form, "trace-7f3a.42")
    assert response.headers["X-Request-Id"] == "trace-7f3a.42"
    lines = product_logs()
    assert {e["logger"] for e in lines} >= {"callout.bot", "callout.access"}, lines
    assert {e.get("request_id") for e in lines} == {"trace-7f3a.42"}, lines
    access = next(e for e in lines if e["logger"] == "callout.access")
    assert access["msg"] == f"POST {SMS_PATH} 200"
    logged = json.dumps(lines)
    assert "5125550126" not in logged and "5550177" not in logged


@pytest.mark.parametrize(
    "given",
    [None, "", "has spaces", "x" * 101, "+15125550126", "512-555-0126", "ünïcode", 'a"b'],
)
async def test_a_missing_or_odd_request_id_is_replaced_by_a_new_one(
    product: Product, product_logs: Callable[[], list[Entry]], given: str | None
) -> None:
    product_logs()
    headers = {} if given is None else {"X-Request-Id": given}
    first = await product.client.get("/healthz", headers=headers)
    second = await product.client.get("/nowhere/+15125550126", headers=headers)
    assert (first.status, second.status) == (200, 404)
    ids = [first.headers["X-Request-Id"], second.headers["X-Request-Id"]]
    assert ids[0] != ids[1] and given not in ids
    assert all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids)
    lines = product_logs()
    assert [(e["request_id"], e["msg"]) for e in lines if e["logger"] == "callout.access"] == [
        (ids[0], "GET /healthz 200"),
        (ids[1], "GET (no route) 404"),
    ]
    assert "5125550126" not in json.dumps(lines)


async def test_concurrent_requests_keep_their_own_ids(
    product: Product, product_logs: Callable[[], list[Entry]]
) -> None:
    p = product
    forms = [
        p.tw.inbound_sms_form(CUSTOMER, TWILIO_FROM_NUMBER, f"photo {n}", [("text/plain", b"x")])
        for n in range(4)
    ]
    product_logs()
    await asyncio.gather(*(post_sms(p, f, f"req-{n}") for n, f in enumerate(forms)))
    lines = product_logs()
    refused = [e for e in lines if e["logger"] == "callout.bot"]
    access = [e for e in lines if e["logger"] == "callout.access"]
    assert sorted(e["request_id"] for e in refused) == [f"req-{n}" for n in range(4)]
    assert sorted(e["request_id"] for e in access) == [f"req-{n}" for n in range(4)]
