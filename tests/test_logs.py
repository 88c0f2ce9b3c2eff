"""Structured logs: JSON lines, phone numbers masked wherever they appear."""

from __future__ import annotations

import json
import logging

import pytest

from webhooks.logs import JsonFormatter, mask


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
