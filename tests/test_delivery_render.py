"""What a message looks like on each channel: SMS within 2 segments, Telegram keyboards."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from telegram import InlineKeyboardMarkup, ReplyKeyboardMarkup

from bot.delivery.render import SHORTENED, render_sms, render_telegram, sms_segments
from bot.messages import Choice, Outgoing
from tests.doubles import sms_segments as twilio_counts

ACCEPT = (Choice("Accept", "acc:1042", "A 1042"), Choice("Decline", "dec:1042", "D 1042"))
LONG_DETAIL = (
    "New job WO-1042 (P2 Urgent): walk-in cooler at Guero's Taco Bar, 1412 S Congress Ave,"
    " is at 52F and climbing. Compressor hums but will not start; the manager reset the"
    " breaker twice. Access through the back alley, gate code 4471. Customer asks that you"
    " call Luis on arrival. Contract: Gold, response within 4 hours. Last visit: condenser"
    " coil cleaned in June, capacitor replaced in August."
)


@pytest.mark.parametrize(
    ("text", "segments"),
    [
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("a" * 306, 2),
        ("a" * 307, 3),
        ("[" * 80, 1),  # extension characters take two septets
        ("[" * 81, 2),
        ("é" * 160, 1),  # in the GSM-7 table
        ("’" * 70, 1),  # a curly apostrophe switches the whole message to UCS-2
        ("’" * 71, 2),
        ("😀" * 35, 1),  # surrogate pairs count twice
        ("😀" * 36, 2),
    ],
)
def test_segments_are_counted_as_twilio_bills_them(text: str, segments: int) -> None:
    assert sms_segments(text) == segments == twilio_counts(text)


def test_short_offer_spells_out_the_keyword_replies() -> None:
    out = Outgoing("WO-1042 P2 no heat, 12 Oak St, 10:30-12:30", choices=ACCEPT)

    assert render_sms(out) == [
        "WO-1042 P2 no heat, 12 Oak St, 10:30-12:30\nReply A 1042 to accept, D 1042 to decline."
    ]


def test_choices_without_keywords_are_numbered() -> None:
    out = Outgoing(
        "When suits you?",
        choices=(Choice("Morning", "slot:am"), Choice("Afternoon", "slot:pm")),
    )

    assert render_sms(out) == ["When suits you?\nReply 1) Morning 2) Afternoon"]


def test_long_text_is_shortened_at_a_word_and_points_to_the_link() -> None:
    out = Outgoing(LONG_DETAIL, choices=ACCEPT, link="https://callout.example/wo/Zx81Kq")

    [sms] = render_sms(out)

    assert sms_segments(sms) == 2
    body, choices, link = sms.split("\n")
    assert body.endswith("...")
    assert LONG_DETAIL.startswith(body.removesuffix("..."))
    assert LONG_DETAIL[len(body) - 3] == " "  # cut between words
    assert (choices, link) == (
        "Reply A 1042 to accept, D 1042 to decline.",
        "More: https://callout.example/wo/Zx81Kq",
    )


def test_non_gsm_text_is_kept_to_two_ucs2_segments() -> None:
    out = Outgoing(
        "Técnico en camino 🚐 — llegará a las 10:30. " + LONG_DETAIL,
        link="https://callout.example/wo/Zx81Kq",
    )

    [sms] = render_sms(out)

    assert sms_segments(sms) == 2
    assert len(sms.encode("utf-16-le")) // 2 <= 134
    assert sms.endswith("...\nMore: https://callout.example/wo/Zx81Kq")


def test_without_a_link_long_text_is_split_not_cut() -> None:
    out = Outgoing(LONG_DETAIL, choices=ACCEPT)

    parts = render_sms(out)

    assert len(parts) == 2
    assert all(sms_segments(p) <= 2 for p in parts)
    assert [p[:6] for p in parts] == ["(1/2) ", "(2/2) "]
    joined = " ".join(re.sub(r"^\(\d/\d\) ", "", p) for p in parts)
    assert joined == LONG_DETAIL + "\nReply A 1042 to accept, D 1042 to decline."


def test_text_too_long_even_for_several_messages_says_it_was_shortened() -> None:
    out = Outgoing(" ".join([LONG_DETAIL] * 6))

    parts = render_sms(out)

    assert len(parts) == 4
    assert all(sms_segments(p) <= 2 for p in parts)
    assert parts[-1].endswith("[message shortened]")


def test_telegram_shows_choices_as_inline_buttons_in_plain_text() -> None:
    text, markup = render_telegram(
        Outgoing("Offer: *WO-1042* <b>no heat</b>", choices=ACCEPT, link="https://c.example/wo/k")
    )

    assert text == "Offer: *WO-1042* <b>no heat</b>\n\nMore: https://c.example/wo/k"
    assert isinstance(markup, InlineKeyboardMarkup)
    assert [[b.callback_data for b in row] for row in markup.inline_keyboard] == [
        ["acc:1042", "dec:1042"]
    ]


def test_many_or_long_choices_get_a_row_each() -> None:
    choices = tuple(Choice(f"Option number {n}", f"opt:{n}") for n in range(4))

    _, markup = render_telegram(Outgoing("Pick one", choices=choices))

    assert isinstance(markup, InlineKeyboardMarkup)
    assert [len(row) for row in markup.inline_keyboard] == [1, 1, 1, 1]


def test_location_and_contact_requests_are_one_time_reply_buttons() -> None:
    _, markup = render_telegram(Outgoing("Checking in?", ask_location=True, ask_contact=True))

    assert isinstance(markup, ReplyKeyboardMarkup)
    assert markup.one_time_keyboard
    [[location], [contact]] = markup.keyboard
    assert (location.request_location, contact.request_contact) == (True, True)


def test_plain_message_has_no_keyboard() -> None:
    assert render_telegram(Outgoing("Thanks!")) == ("Thanks!", None)


words = st.text(
    alphabet=st.sampled_from("abcdefghijklmnopqrstuvwxyz0123456789ñé€[’😀.,"),
    min_size=1,
    max_size=12,
)


@given(st.lists(words, min_size=1, max_size=150))
@settings(max_examples=150, deadline=None)
def test_with_a_link_any_text_becomes_one_two_segment_message_that_starts_like_it(
    text_words: list[str],
) -> None:
    text = " ".join(text_words)
    out = Outgoing(text, choices=ACCEPT, link="https://callout.example/wo/Zx81Kq")

    [sms] = render_sms(out)

    assert sms_segments(sms) <= 2
    body = sms.split("\n")[0]
    assert body == text or (body.endswith("...") and text.startswith(body[:-3].rstrip(" ,.;:")))


@given(st.lists(words, min_size=1, max_size=80), st.booleans())
@settings(max_examples=200, deadline=None)
def test_without_a_link_the_parts_carry_every_word_or_say_they_do_not(
    text_words: list[str], with_choices: bool
) -> None:
    text = " ".join(text_words)
    choice_line = "Reply A 1042 to accept, D 1042 to decline."

    parts = render_sms(Outgoing(text, choices=ACCEPT if with_choices else ()))

    assert len(parts) <= 4
    assert all(sms_segments(p) <= 2 for p in parts)
    bodies = [re.sub(r"^\(\d/\d\) ", "", p) for p in parts] if len(parts) > 1 else parts
    if with_choices:
        assert bodies[-1].endswith(choice_line)
        last = bodies[-1].removesuffix(choice_line).removesuffix("\n")
        bodies = bodies[:-1] + ([last] if last else [])
    joined = " ".join(bodies)
    if joined.endswith(SHORTENED):
        assert len(parts) == 4
        assert text.startswith(joined.removesuffix(SHORTENED))
    else:
        assert joined == text
