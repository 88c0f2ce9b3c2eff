"""How a customer's reply to the sign-off request is read, and what signing off does to a job."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from dispatch.signoff import (
    CodeNeeded,
    NotAReply,
    Reopen,
    SignedOff,
    SignOff,
    WrongCode,
    apply_reopen,
    apply_signoff,
    new_code,
    read_reply,
)
from dispatch.workorder import Status, TransitionRefused, WorkOrder

NOW = datetime(2026, 11, 30, 20, 0, tzinfo=UTC)


@pytest.mark.parametrize("text", ["yes", "YES", "Yes!", "ok", "OK.", "yes please", "Yes, all good"])
def test_a_bare_yes_or_ok_asks_for_the_code(text: str) -> None:
    assert read_reply(text, "4821") == CodeNeeded()


@pytest.mark.parametrize("text", ["YES 4821", "yes 4821", "Yes, 4821", "ok 4821", " yes #4821 "])
def test_yes_with_the_right_code_signs_off(text: str) -> None:
    assert read_reply(text, "4821") == SignedOff()


@pytest.mark.parametrize("text", ["YES 4822", "yes 482", "yes 48210", "YES 0000"])
def test_yes_with_another_code_is_refused(text: str) -> None:
    assert read_reply(text, "4821") == WrongCode()


def test_no_reopens_with_the_customers_words() -> None:
    assert read_reply("NO the fridge is still warm", "4821") == Reopen("the fridge is still warm")
    assert read_reply("no, still leaking", "4821") == Reopen("still leaking")
    assert read_reply("No", "4821") == Reopen("")


@pytest.mark.parametrize("text", ["No problem, thanks!", "thanks", "4821", "yesterday it broke"])
def test_other_messages_are_not_sign_off_replies(text: str) -> None:
    assert read_reply(text, "4821") == NotAReply()


def test_codes_are_four_digits_and_vary() -> None:
    codes = {new_code() for _ in range(200)}
    assert all(len(c) == 4 and c.isdigit() for c in codes)
    assert len(codes) > 100


def completed_job() -> WorkOrder:
    return WorkOrder(
        seq=1042,
        customer_id="C001",
        description="no cooling",
        created_at=NOW,
        status=Status.COMPLETED,
    )


def test_signing_off_a_completed_job_lands_in_its_timeline() -> None:
    wo = completed_job()
    apply_signoff(wo, SignOff(at=NOW, channel="sms", method="code", signer="Rudy"))
    assert wo.status is Status.SIGNED_OFF
    assert wo.timeline[-1].actor == "Rudy"
    assert "with the code" in wo.timeline[-1].text


def test_a_job_still_being_worked_on_cannot_be_signed_off() -> None:
    wo = completed_job()
    wo.status = Status.WORKING
    with pytest.raises(TransitionRefused):
        apply_signoff(wo, SignOff(at=NOW, channel="sms", method="code", signer="Rudy"))


def test_no_sends_the_job_back_to_work_and_flags_it_for_a_dispatcher() -> None:
    wo = completed_job()
    apply_reopen(wo, "still warm <b>inside</b>", NOW, actor="C001", channel="sms")
    assert wo.status is Status.WORKING
    assert wo.flag is not None
    assert "still warm <b>inside</b>" in wo.flag.reason
    assert any(e.kind == "reopened" and e.text == "still warm <b>inside</b>" for e in wo.timeline)


def test_an_unknown_sign_off_method_is_refused() -> None:
    with pytest.raises(ValueError, match="method"):
        SignOff(at=NOW, channel="sms", method="wave", signer="x")  # type: ignore[arg-type]
