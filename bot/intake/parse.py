"""Intake's entry points: a customer's message, and their reply to one of our questions.

    parse_message(company, "walk-in at Manchaca reading 45", at=now, customer=c)
    parse_reply(company, "address", "6800 Manchaca Rd", at=now, customer=c, previous=u)

A reply fills what the first message lacked: facts from the newer message win, except that
an emergency is not downgraded by a reply that merely sounds calmer ("today" after "gas smell").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime

from bot.intake.address import AddressFacts
from bot.intake.geo import zip_centroid
from bot.intake.model import IntakeModel
from bot.intake.priority import is_said
from bot.intake.priority_rules import GAS_SKILL, GAS_SMELL
from bot.intake.sites import SiteMatch
from bot.intake.text import fold, split_words
from bot.intake.understanding import Understanding, mentions_new_problem
from bot.intake.vocabulary import SLANG
from dispatch.company import Company, Customer, GeoPoint

QUESTION_KINDS: tuple[str, ...] = ("address", "skill", "name", "when")

GAS_VOTE = 3.0
_HAS_DIGIT = re.compile(r"\d")
_WORD = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True, slots=True)
class _Reading:
    understanding: Understanding
    lowered: bool  # the priority came from "no rush"-style words


def parse_message(
    company: Company,
    text: str,
    *,
    at: datetime,
    customer: Customer | None = None,
    previous: Understanding | None = None,
) -> Understanding:
    """What a customer's message says; with `previous`, merged onto what was known before."""
    model = IntakeModel.for_company(company)
    reading = _read(model, text, at, customer)
    if previous is None:
        return reading.understanding
    return _merge(model, previous, reading, text, customer)


def parse_reply(
    company: Company,
    question: str,
    text: str,
    at: datetime,
    customer: Customer | None = None,
    previous: Understanding | None = None,
) -> Understanding:
    """A reply to the question of kind `question` (one of `QUESTION_KINDS`)."""
    if question not in QUESTION_KINDS:
        raise ValueError(f"unknown question kind {question!r}; expected one of {QUESTION_KINDS}")
    model = IntakeModel.for_company(company)
    base = previous if previous is not None else Understanding()
    if question == "name":
        return replace(base, name=extract_name(text) or base.name)
    if question == "when":
        wants = model.when.read(_when_text(text), at)
        return replace(base, wants=wants or base.wants)
    reading = _read(model, text, at, customer)
    fresh = reading.understanding
    if question == "skill":
        chosen = _chosen_skill(model, text)
        if chosen is not None:
            fresh = replace(fresh, skill=chosen, skill_confidence=1.0)
    elif base.skill is not None:
        # An address can hold skill-like words ("gate code 4410"): keep what was asked before.
        fresh = replace(fresh, skill=None, skill_confidence=0.0)
    return _merge(model, base, _Reading(fresh, reading.lowered), text, customer)


def _read(model: IntakeModel, text: str, at: datetime, customer: Customer | None) -> _Reading:
    raw = split_words(text)
    corrected = model.corrector.correct(raw)
    folded = fold(text)
    address = model.address.read(text) if _HAS_DIGIT.search(folded) else AddressFacts()
    found = model.sites_of(customer).match(raw, corrected, address) if customer else SiteMatch()
    equipment_skill = found.equipment.skill if found.equipment is not None else None
    extra = {GAS_SKILL: GAS_VOTE} if is_said(GAS_SMELL, corrected) else None
    guess = model.skills.guess(corrected, equipment_skill, extra)
    month = at.astimezone(model.timezone).month
    decision = model.priorities.decide(corrected, folded, guess.skill, month)
    understanding = Understanding(
        skill=guess.skill,
        skill_confidence=guess.confidence,
        priority=decision.priority,
        priority_reason=decision.reason,
        street=address.street,
        zip=address.zip,
        city=address.city,
        state=address.state,
        site_id=found.site.id if found.site else None,
        location=_location(found, address.zip),
        equipment_id=found.equipment.id if found.equipment else None,
        wants=model.when.read(_when_text(text), at),
        description=text.strip(),
        says_new_problem=mentions_new_problem(folded),
    )
    return _Reading(_with_missing(understanding, customer), decision.lowered)


def _merge(
    model: IntakeModel,
    previous: Understanding,
    reading: _Reading,
    text: str,
    customer: Customer | None,
) -> Understanding:
    fresh = reading.understanding
    skill: str | None
    street: str | None
    if fresh.skill is not None:
        skill, confidence = fresh.skill, fresh.skill_confidence
    else:
        skill, confidence = previous.skill, previous.skill_confidence
    priority, reason = previous.priority, previous.priority_reason
    if reading.lowered or (fresh.priority_reason is not None and fresh.priority < priority):
        priority, reason = fresh.priority, fresh.priority_reason  # "P1" < "P2": more urgent
    if fresh.street is not None:
        street, zip_code, city, state = fresh.street, fresh.zip, fresh.city, fresh.state
    else:
        street = previous.street
        zip_code = fresh.zip or previous.zip
        city = fresh.city or previous.city
        state = fresh.state or previous.state
    description = "\n".join(part for part in (previous.description, text.strip()) if part)
    found = SiteMatch()
    if customer is not None:
        address = model.address.read(f"{street} {zip_code or ''}") if street else AddressFacts()
        words = split_words(description)
        found = model.sites_of(customer).match(words, model.corrector.correct(words), address)
    merged = Understanding(
        skill=skill,
        skill_confidence=confidence,
        priority=priority,
        priority_reason=reason,
        street=street,
        zip=zip_code,
        city=city,
        state=state,
        site_id=found.site.id if found.site else None,
        location=_location(found, zip_code),
        equipment_id=found.equipment.id if found.equipment else None,
        wants=fresh.wants or previous.wants,
        name=fresh.name or previous.name,
        description=description,
        says_new_problem=fresh.says_new_problem,
    )
    return _with_missing(merged, customer)


def _location(found: SiteMatch, zip_code: str | None) -> GeoPoint | None:
    if found.site is not None and found.site.location is not None:
        return found.site.location
    if zip_code is not None:
        return zip_centroid(zip_code)
    if found.site is not None and found.site.zip is not None:
        return zip_centroid(found.site.zip)
    return None


def _with_missing(understanding: Understanding, customer: Customer | None) -> Understanding:
    missing: list[str] = []
    if understanding.skill is None:
        missing.append("skill")
    has_place = understanding.street is not None or understanding.site_id is not None
    if not has_place and not (customer is not None and len(customer.sites) == 1):
        missing.append("address")
    return replace(understanding, missing=tuple(missing))


def _when_text(text: str) -> str:
    return _WORD.sub(lambda m: SLANG.get(m.group(0), m.group(0)), fold(text))


def _chosen_skill(model: IntakeModel, text: str) -> str | None:
    """A reply to "which kind of work?": the option's number, or a skill's name or id."""
    skills = model.company.skills
    answer = " ".join(split_words(text).tokens)
    if answer.isascii() and answer.isdigit() and 1 <= int(answer) <= len(skills):
        return skills[int(answer) - 1].id
    for skill in skills:
        names = {skill.id.replace("_", " "), " ".join(split_words(skill.name).tokens)}
        if answer in names:
            return skill.id
    return None


_NAME_PREFIX = re.compile(
    r"^(?:(?:hi|hello|hey|hola)\b[\s,!.]*)?(?:(?:my name is|my names|name is|names|it is|its|"
    r"this is|i am|im|me llamo|soy)\b\s*)?",
    re.IGNORECASE,
)
_NAME_WORD = re.compile(r"[^\W\d_][\w'’.-]*", re.UNICODE)


def extract_name(text: str) -> str | None:
    """A person's name from a reply to "what's your name": "hi, its mike" -> "Mike"."""
    cleaned = text.strip().replace("’", "'")
    cleaned = re.sub(r"\b(\w+)'s\b", r"\1s", cleaned)
    cleaned = _NAME_PREFIX.sub("", cleaned, count=1)
    cleaned = re.split(r"[,;:!?()\n]| - | and | from | at ", cleaned, maxsplit=1)[0]
    words = _NAME_WORD.findall(cleaned)[:4]
    if not words:
        return None
    if all(w.islower() or w.isupper() for w in words):
        words = [w.capitalize() for w in words]
    return " ".join(words).strip(".") or None
