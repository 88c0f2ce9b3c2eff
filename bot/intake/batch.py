"""Intake over many messages at once: `callout parse --jsonl` and the intake benchmark.

Each input line is a JSON object `{"text", "from"?, "at"?}`; `from` is a phone number, an
e-mail address or anything else (an unknown sender). Each output is the understanding's JSON
with `text` and `customer` added.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import datetime

from bot.intake.model import IntakeModel
from bot.intake.parse import parse_message
from dispatch.company import Company, Customer


def _digits(text: str) -> str:
    digits = "".join(ch for ch in text if ch.isdigit())
    return digits[-10:] if len(digits) >= 10 else ""


class CustomerDirectory:
    """Finds a known customer by phone (any common form) or e-mail address."""

    def __init__(self, company: Company) -> None:
        self._by_phone = {
            _digits(c.phone): c for c in company.customers if c.phone and _digits(c.phone)
        }
        self._by_email = {c.email.lower(): c for c in company.customers if c.email}

    def find(self, sender: str | None) -> Customer | None:
        if not sender:
            return None
        if "@" in sender:
            return self._by_email.get(sender.strip().lower())
        digits = _digits(sender)
        return self._by_phone.get(digits) if digits else None


def parse_records(
    company: Company, records: Iterable[dict[str, object]], *, now: datetime
) -> Iterator[dict[str, object]]:
    """Parses each record; a record without `at` is taken as sent at `now`."""
    IntakeModel.for_company(company)
    directory = CustomerDirectory(company)
    for record in records:
        text = str(record.get("text") or "")
        sender = record.get("from")
        customer = directory.find(str(sender)) if sender is not None else None
        at_text = record.get("at")
        at = datetime.fromisoformat(str(at_text)) if at_text else now
        if at.tzinfo is None:
            at = at.replace(tzinfo=now.tzinfo)
        understood = parse_message(company, text, at=at, customer=customer)
        yield {"text": text, "customer": customer.id if customer else None, **understood.to_json()}


def parse_jsonl(company: Company, lines: Iterable[str], *, now: datetime) -> Iterator[str]:
    """JSON lines in, JSON lines out; blank lines are skipped."""
    records = (json.loads(line) for line in lines if line.strip())
    for result in parse_records(company, records, now=now):
        yield json.dumps(result, ensure_ascii=False)
