"""Reading dispatcher arguments: technicians by id or fuzzy name, reasons, phone numbers."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.dispatcher_args import (
    find_technician,
    parse_command,
    split_number,
    split_phone,
    split_reason,
)
from dispatch.company import Company
from storage.company_file import load_company_file

DEMO = Path(__file__).resolve().parent.parent / "webhooks" / "demo" / "company.yaml"


@pytest.fixture(scope="module")
def company() -> Company:
    return load_company_file(DEMO).company


@pytest.mark.parametrize(
    ("query", "found"),
    [
        ("T03", "T03"),
        ("t3", "T03"),
        ("t03", "T03"),
        ("keisha", "T03"),
        ("Keisha Brooks", "T03"),
        ("kiesha", "T03"),  # a typo
        ("brooks", "T03"),
        ("maria", "T01"),
        ("marcus", "T10"),
        ("sofia alvarez", "T11"),
        ("sophia", "T11"),
    ],
)
def test_a_technician_is_found_by_id_or_name(company: Company, query: str, found: str) -> None:
    match = find_technician(company, query)
    assert match.technician is not None and match.technician.id == found


def test_an_ambiguous_name_lists_the_candidates(company: Company) -> None:
    match = find_technician(company, "mar")
    assert match.technician is None
    assert [t.id for t in match.candidates] == ["T01", "T10"]


@pytest.mark.parametrize("query", ["zorro", "T77", "", "x"])
def test_nobody_matches_nonsense(company: Company, query: str) -> None:
    match = find_technician(company, query)
    assert match.technician is None and match.candidates == ()


def test_commands_numbers_and_reasons_are_split() -> None:
    cmd = parse_command("/Assign@callout_bot 1042 maria lopez because customer asked")
    assert cmd is not None and cmd.name == "assign"
    seq, given, rest = split_number(cmd.args)
    assert (seq, given) == (1042, "1042")
    assert split_reason(rest) == ("maria lopez", "customer asked")
    assert split_reason("T03") == ("T03", None)
    assert split_number("wo1042")[0] == 1042 and split_number("WO-1042")[0] == 1042
    assert split_number("maria")[0] is None
    assert parse_command("not a command") is None


def test_a_phone_number_is_read_in_any_common_form() -> None:
    assert split_phone("(512) 555-0126 no heat") == ("+15125550126", "no heat")
    assert split_phone("+1 512 555 0126 no heat") == ("+15125550126", "no heat")
    assert split_phone("512-555-0126") == ("+15125550126", "")
    assert split_phone("no heat at 12 Elm") == (None, "no heat at 12 Elm")
