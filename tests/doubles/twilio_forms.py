"""Twilio wire details shared by the double: SIDs, dates, segments, webhook forms, signatures."""

from __future__ import annotations

import math
import secrets
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

from twilio.request_validator import RequestValidator

API_VERSION = "2010-04-01"

_GSM7_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM7_EXTENDED = set("^{}\\[~]|€\f")


def new_sid(prefix: str) -> str:
    """A SID as Twilio makes them: two letters and 32 lowercase hex digits."""
    return prefix + secrets.token_hex(16)


def rfc2822(moment: datetime) -> str:
    return format_datetime(moment.astimezone(UTC))


def is_gsm7(body: str) -> bool:
    return all(char in _GSM7_BASIC or char in _GSM7_EXTENDED for char in body)


def sms_segments(body: str) -> int:
    """Segments billed for `body`: 160/153 GSM-7 septets, else 70/67 UCS-2 code units."""
    if is_gsm7(body):
        units = sum(2 if char in _GSM7_EXTENDED else 1 for char in body)
        single, multi = 160, 153
    else:
        units = len(body.encode("utf-16-le")) // 2
        single, multi = 70, 67
    return 1 if units <= single else math.ceil(units / multi)


def sign(url: str, params: dict[str, str], auth_token: str) -> str:
    """The X-Twilio-Signature Twilio sends with a form POST to `url`."""
    signature: str = RequestValidator(auth_token).compute_signature(url, params)
    return signature


def error_body(status: int, code: int, message: str, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }
    body.update(extra)
    return body


def _country(number: str) -> str:
    return "US" if number.startswith("+1") else ""


def inbound_form(
    *,
    account_sid: str,
    message_sid: str,
    from_: str,
    to: str,
    body: str,
    media: list[tuple[str, str]],
    messaging_service_sid: str | None = None,
) -> dict[str, str]:
    """The form Twilio POSTs to the SMS webhook; `media` is (url, content_type) pairs."""
    form = {
        "ToCountry": _country(to),
        "ToState": "",
        "SmsMessageSid": message_sid,
        "NumMedia": str(len(media)),
        "ToCity": "",
        "FromZip": "",
        "SmsSid": message_sid,
        "FromState": "",
        "SmsStatus": "received",
        "FromCity": "",
        "Body": body,
        "FromCountry": _country(from_),
        "To": to,
    }
    if messaging_service_sid:
        form["MessagingServiceSid"] = messaging_service_sid
    form.update(
        {
            "ToZip": "",
            "NumSegments": str(sms_segments(body)),
            "ReferralNumMedia": "0",
            "MessageSid": message_sid,
            "AccountSid": account_sid,
            "From": from_,
            "ApiVersion": API_VERSION,
        }
    )
    for index, (url, content_type) in enumerate(media):
        form[f"MediaContentType{index}"] = content_type
        form[f"MediaUrl{index}"] = url
    return form


def status_form(resource: dict[str, Any], status: str, error_code: int | None) -> dict[str, str]:
    """The form Twilio POSTs to a message's StatusCallback when its status changes."""
    form = {
        "AccountSid": str(resource["account_sid"]),
        "ApiVersion": API_VERSION,
        "From": str(resource["from"] or ""),
        "MessageSid": str(resource["sid"]),
        "MessageStatus": status,
        "SmsSid": str(resource["sid"]),
        "SmsStatus": status,
        "To": str(resource["to"]),
    }
    if resource.get("messaging_service_sid"):
        form["MessagingServiceSid"] = str(resource["messaging_service_sid"])
    if error_code is not None:
        form["ErrorCode"] = str(error_code)
    return form
