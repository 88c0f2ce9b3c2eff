"""Outgoing → what each channel shows: Telegram text and keyboards, SMS text within 2 segments.

Telegram gets plain text (no parse mode: nothing to escape, nothing to break). SMS spells the
choices out and keeps to 2 segments; longer text is shortened at a word boundary and points
to `link`, or, with no link, goes as a few messages: never silently cut.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
)

from bot.messages import Choice, Outgoing

TelegramMarkup = InlineKeyboardMarkup | ReplyKeyboardMarkup | None

SMS_MAX_SEGMENTS = 2
SMS_MAX_PARTS = 4  # without a link, long text goes as at most this many messages
TELEGRAM_TEXT_LIMIT = 4096
LOCATION_BUTTON = "📍 Send my location"
CONTACT_BUTTON = "📱 Share my phone number"
SHORTENED = " [message shortened]"
ELLIPSIS = "..."  # GSM-7; "…" would force the whole message into UCS-2

_GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM7_EXTENDED = frozenset("^{}\\[~]|€\f")  # two septets each


def is_gsm7(text: str) -> bool:
    return all(c in _GSM7_BASIC or c in _GSM7_EXTENDED for c in text)


def sms_segments(text: str) -> int:
    """Segments billed for `text`: 160/153 GSM-7 septets, else 70/67 UCS-2 code units."""
    if is_gsm7(text):
        units = sum(2 if c in _GSM7_EXTENDED else 1 for c in text)
        single, multi = 160, 153
    else:
        units = len(text.encode("utf-16-le")) // 2
        single, multi = 70, 67
    return 1 if units <= single else math.ceil(units / multi)


# --- SMS ----------------------------------------------------------------------------------


def sms_choices(choices: tuple[Choice, ...]) -> str:
    """Keyword replies when every choice has one, else numbered replies in order."""
    if not choices:
        return ""
    if all(c.reply for c in choices):
        spelled = ", ".join(_spell(c) for c in choices)
        return f"Reply {spelled}."
    numbered = " ".join(f"{i}) {c.label}" for i, c in enumerate(choices, start=1))
    return f"Reply {numbered}"


def _spell(c: Choice) -> str:
    """`A 1042 to accept`; a keyword that is its own label (`ON MY WAY`) is said once."""
    if c.reply.casefold() == c.label.casefold():
        return c.reply
    return f"{c.reply} to {_lower_first(c.label)}"


def _lower_first(label: str) -> str:
    # "Accept" → "accept", but keep acronyms such as "ETA" or "OK" as written.
    if len(label) > 1 and label[:2].isupper():
        return label
    return label[:1].lower() + label[1:]


def _compose(body: str, choices: str, link: str | None) -> str:
    lines = [body] if body else []
    if choices:
        lines.append(choices)
    if link:
        lines.append(f"More: {link}")
    return "\n".join(lines)


def _fits(text: str) -> bool:
    return sms_segments(text) <= SMS_MAX_SEGMENTS


def _longest_prefix(words: list[str], fits: Callable[[str], bool]) -> int:
    """How many leading words keep `fits(prefix)` true (binary search; fits is monotone)."""
    low, high = 0, len(words)
    while low < high:
        mid = (low + high + 1) // 2
        if fits(" ".join(words[:mid])):
            low = mid
        else:
            high = mid - 1
    return low


def render_sms(out: Outgoing) -> list[str]:
    """The SMS text(s) for `out`: one message of at most 2 segments wherever possible."""
    body = out.text.strip()
    choices = sms_choices(out.choices)
    whole = _compose(body, choices, out.link)
    if _fits(whole):
        return [whole]
    if out.link:
        words = body.split(" ")
        count = _longest_prefix(
            words, lambda prefix: _fits(_compose(prefix + ELLIPSIS, choices, out.link))
        )
        shortened = " ".join(words[:count]).rstrip(" ,.;:") + ELLIPSIS
        return [_compose(shortened, choices, out.link)]
    return _split(body, choices)


def _split(body: str, choices: str) -> list[str]:
    """Several messages, each within 2 segments, numbered "(1/3)"; the choices go with the
    last. Past SMS_MAX_PARTS the text is cut, and the last message says so."""
    mark = "(9/9) "  # room for the number; N stays one digit because parts are capped
    suffix = "\n" + choices if choices else ""
    words, with_choices = body.split(" "), not choices
    parts: list[str] = []
    while words:
        rest = " ".join(words)
        if _fits(mark + rest + suffix):
            parts.append(rest + suffix)
            with_choices = True
            break
        if len(parts) == SMS_MAX_PARTS - 1:
            count = _longest_prefix(words, lambda p: _fits(mark + p + SHORTENED + suffix))
            parts.append(" ".join(words[:count]) + SHORTENED + suffix)
            with_choices = True
            break
        count = max(1, _longest_prefix(words, lambda p: _fits(mark + p)))
        parts.append(" ".join(words[:count]))
        words = words[count:]
    if not with_choices:
        parts.append(choices)
    if len(parts) == 1:
        return parts
    return [f"({i}/{len(parts)}) {part}" for i, part in enumerate(parts, start=1)]


# --- Telegram -----------------------------------------------------------------------------


def render_telegram(out: Outgoing) -> tuple[str, TelegramMarkup]:
    """Plain text (no parse mode) and the keyboard: inline buttons for choices, a one-time
    reply keyboard when we ask for a location or the contact."""
    text = out.text.strip()
    if out.link:
        text = f"{text}\n\nMore: {out.link}" if text else out.link
    if len(text) > TELEGRAM_TEXT_LIMIT:
        marker = "\n[message shortened]"
        text = text[: TELEGRAM_TEXT_LIMIT - len(marker)].rsplit(" ", 1)[0] + marker
    if out.ask_location or out.ask_contact:
        return text, _request_keyboard(out)
    if out.choices:
        return text, _inline_keyboard(out.choices)
    return text, None


def _inline_keyboard(choices: tuple[Choice, ...]) -> InlineKeyboardMarkup:
    buttons = [InlineKeyboardButton(c.label, callback_data=c.data) for c in choices]
    # Short labels side by side (Accept | Decline); long ones or many get a row each.
    if len(buttons) <= 3 and all(len(c.label) <= 14 for c in choices):
        return InlineKeyboardMarkup([buttons])
    return InlineKeyboardMarkup([[b] for b in buttons])


def _request_keyboard(out: Outgoing) -> ReplyKeyboardMarkup:
    rows: list[list[KeyboardButton]] = []
    if out.ask_location:
        rows.append([KeyboardButton(LOCATION_BUTTON, request_location=True)])
    if out.ask_contact:
        rows.append([KeyboardButton(CONTACT_BUTTON, request_contact=True)])
    # A message carries one keyboard: choices become plain buttons that type their keyword.
    rows.extend([KeyboardButton(c.reply or c.label)] for c in out.choices)
    return ReplyKeyboardMarkup(rows, one_time_keyboard=True, resize_keyboard=True)
