"""Reading a dispatcher command's arguments: work order numbers, technicians by id or by a
fuzzy name (`maria`, `keisha b`), phone numbers, and an override reason (`because ...`)."""

from __future__ import annotations

import re
from dataclasses import dataclass

import phonenumbers
from rapidfuzz import fuzz

from dispatch.company import Company, Technician
from dispatch.workorder import parse_number

MIN_SCORE = 70.0
CLEAR_LEAD = 12.0  # the best match must beat the next by this much, else we ask which
TECH_ID_RE = re.compile(r"^t0*(\d{1,4})$", re.I)
REASON_RE = re.compile(r"\s+(?:because|reason:?|override:?)\s+(.*)$", re.I | re.S)


@dataclass(frozen=True, slots=True)
class Command:
    name: str  # without the slash, lower case: "assign"
    args: str  # the rest, stripped


@dataclass(frozen=True, slots=True)
class TechMatch:
    technician: Technician | None
    candidates: tuple[Technician, ...] = ()  # when ambiguous, best first


def parse_command(text: str) -> Command | None:
    """`/assign 1042 maria` → Command("assign", "1042 maria"); `/board@callout_bot` works too."""
    stripped = text.strip()
    if not stripped.startswith("/"):
        return None
    head, _, rest = stripped.partition(" ")
    name = head[1:].split("@", 1)[0].lower()
    if not name.isascii() or not name.isalpha():
        return None
    return Command(name, rest.strip())


def split_number(args: str) -> tuple[int | None, str, str]:
    """The work order number first: (seq, its text as given, the rest)."""
    first, _, rest = args.strip().partition(" ")
    return parse_number(first) if first else None, first, rest.strip()


def split_reason(text: str) -> tuple[str, str | None]:
    """`maria because customer asked` → ("maria", "customer asked")."""
    m = REASON_RE.search(" " + text)
    if m is None:
        return text.strip(), None
    return (" " + text)[: m.start()].strip(), m[1].strip() or None


def find_technician(company: Company, query: str) -> TechMatch:
    """By id (`T03`, `t3`), by full or first name, else fuzzily; ambiguous → candidates."""
    q = query.strip()
    if not q:
        return TechMatch(None)
    techs = company.technicians
    if m := TECH_ID_RE.match(q):
        wanted = int(m[1])
        by_id = [t for t in techs if TECH_ID_RE.match(t.id) and _id_number(t.id) == wanted]
        if by_id:
            return TechMatch(by_id[0])
    exact = [t for t in techs if t.id.lower() == q.lower() or t.name.lower() == q.lower()]
    if len(exact) == 1:
        return TechMatch(exact[0])
    first = [t for t in techs if t.name.split()[0].lower() == q.lower()]
    if len(first) == 1:
        return TechMatch(first[0])
    if len(first) > 1:
        return TechMatch(None, tuple(first))
    if len(q) >= 3:  # `mar`: the start of a first or last name
        starts = [t for t in techs if any(w.lower().startswith(q.lower()) for w in t.name.split())]
        if len(starts) == 1:
            return TechMatch(starts[0])
        if len(starts) > 1:
            return TechMatch(None, tuple(starts))
    scored = sorted(((_score(q, t), t) for t in techs), key=lambda st: -st[0])
    good = [(score, t) for score, t in scored if score >= MIN_SCORE]
    if not good:
        return TechMatch(None)
    best = good[0][0]
    close = tuple(t for score, t in good if best - score < CLEAR_LEAD)
    return TechMatch(close[0]) if len(close) == 1 else TechMatch(None, close)


def _score(query: str, tech: Technician) -> float:
    """The best of the whole name and each of its words (`sophia` ~ `Sofia Alvarez`)."""
    q, name = query.lower(), tech.name.lower()
    return max([fuzz.WRatio(q, name)] + [fuzz.ratio(q, word) for word in name.split()])


def _id_number(tech_id: str) -> int:
    m = TECH_ID_RE.match(tech_id)
    return int(m[1]) if m else -1


# 555-0100..0199 are the fictional numbers demos use; phonenumbers may one day reject them.
FICTIONAL_RE = re.compile(r"^\+1\d{3}55501\d\d$")


def parse_phone(text: str) -> str | None:
    """E.164 for a valid (or fictional 555-01xx) US-default number, else None. The same rule
    as storage.phones, which bot may not import."""
    try:
        number = phonenumbers.parse(text.strip(), "US")
    except phonenumbers.NumberParseException:
        return None
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    if phonenumbers.is_valid_number(number):
        return e164
    possible = phonenumbers.is_possible_number(number) and FICTIONAL_RE.match(e164)
    return e164 if possible else None


def split_phone(args: str) -> tuple[str | None, str]:
    """`/new (512) 555-0126 no heat at the office`: the longest leading run of phone-ish
    words that makes a valid number, then the text."""
    words = args.split()
    for n in range(min(len(words), 5), 0, -1):
        head = " ".join(words[:n])
        if any(c.isdigit() for c in head) and not any(c.isalpha() for c in head):
            phone = parse_phone(head)
            if phone is not None:
                return phone, " ".join(words[n:])
    return None, args.strip()
