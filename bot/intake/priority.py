"""Priority of a request: the company's keywords first, then the built-in rules.

Emergencies win over everything, even "no rush" (a gas smell is never a standard job); then a
customer who says it can wait gets standard or planned work; then urgent; then planned.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from bot.intake.phrases import PhraseIndex
from bot.intake.priority_rules import (
    COOLING_FAILURE,
    HEATING_FAILURE,
    HOT_INSIDE,
    NEGATORS,
    RULES,
    Rule,
    is_cold,
    is_dangerous_heat,
    names_device,
)
from bot.intake.text import Words, normalise
from dispatch.company import Company

DEFAULT_PRIORITY = "P3"
_HEATING_RULE = next(rule for rule in RULES if rule.level == HEATING_FAILURE)
# Every rule at once: where this finds nothing, no rule can (a rule's match is also a match
# of the alternation, at that place or before it). Most messages name no emergency, and
# their clauses are then searched once instead of once per rule.
_ANY_RULE = re.compile("|".join(f"(?:{rule.pattern.pattern})" for rule in RULES))


@dataclass(frozen=True, slots=True)
class PriorityDecision:
    priority: str
    reason: str | None
    lowered: bool = False  # the customer said it can wait


@dataclass(frozen=True, slots=True)
class _Signal:
    level: str
    reason: str


def _negated(words_before: list[str]) -> bool:
    return any(word in NEGATORS for word in words_before[-3:])


class PriorityModel:
    """One company's priority keywords plus the built-in rules."""

    def __init__(self, company: Company, phrase_owner: Mapping[str, str]) -> None:
        entries: list[tuple[str, tuple[str, str | None]]] = []
        for level in company.priorities:
            for keyword in level.keywords:
                phrase = " ".join(normalise(keyword).split())
                # A keyword that is also one skill's keyword ("no heat") speaks for that skill only.
                entries.append((phrase, (level.id, phrase_owner.get(phrase))))
        self._keywords: PhraseIndex[tuple[str, str | None]] = PhraseIndex(entries)

    def words(self) -> set[str]:
        return self._keywords.words()

    def phrases(self) -> set[str]:
        return self._keywords.phrases()

    def decide(
        self, words: Words, raw_text: str, skill: str | None, month: int
    ) -> PriorityDecision:
        cold = is_cold(raw_text, month)
        signals: list[_Signal] = []
        tokens = words.tokens
        for match in self._keywords.find(words):
            level, owner = match.value
            if owner is not None and skill is not None and owner != skill:
                continue
            clause = words.clauses[match.start]
            before = [
                tokens[i]
                for i in range(max(0, match.start - 3), match.start)
                if words.clauses[i] == clause
            ]
            if _negated(before):
                continue
            following = tokens[match.end] if match.end < len(tokens) else None
            if names_device(following):
                continue
            phrase = " ".join(match.phrase)
            if level == "P3":
                level = "lower"  # the company's standard words say the job can wait
            if level == "P1" and _HEATING_RULE.pattern.fullmatch(phrase) and not cold:
                level = "P2"
            signals.append(_Signal(level, phrase))
        signals.extend(self._rule_signals(words, raw_text, skill, cold))
        return _resolve(signals)

    @staticmethod
    def _rule_signals(words: Words, raw_text: str, skill: str | None, cold: bool) -> list[_Signal]:
        found: list[_Signal] = []
        clauses = _clause_texts(words)
        whole = " ".join(clauses)
        said = [clause for clause in clauses if _ANY_RULE.search(clause) is not None]
        if not said and _ANY_RULE.search(whole) is None:
            return found
        for rule in RULES:
            if rule.skills is not None and skill is not None and skill not in rule.skills:
                continue
            if rule.whole:
                match = rule.pattern.search(whole)
                if match is not None:
                    found.append(_Signal(_level(rule.level, raw_text, cold), rule.reason))
                continue
            for clause in said:
                for match in rule.pattern.finditer(clause):
                    if _negated(clause[: match.start()].split()):
                        continue
                    found.append(_Signal(_level(rule.level, raw_text, cold), match.group(0)))
                    break
        return found


def _level(level: str, raw_text: str, cold: bool) -> str:
    if level == HOT_INSIDE:
        return "P3" if cold else _level(COOLING_FAILURE, raw_text, cold)
    if level == HEATING_FAILURE:
        return "P1" if cold else "P2"
    if level == COOLING_FAILURE:
        return "P1" if is_dangerous_heat(raw_text) else "P2"
    return level


def is_said(rule: Rule, words: Words) -> bool:
    """Whether a clause says what the rule looks for, not negated ("no gas smell")."""
    for clause in _clause_texts(words):
        for match in rule.pattern.finditer(clause):
            if not _negated(clause[: match.start()].split()):
                return True
    return False


def _clause_texts(words: Words) -> list[str]:
    clauses: dict[int, list[str]] = {}
    for token, clause in zip(words.tokens, words.clauses, strict=True):
        clauses.setdefault(clause, []).append(token)
    return [" ".join(tokens) for tokens in clauses.values()]


def _first(signals: list[_Signal], level: str) -> _Signal | None:
    return next((signal for signal in signals if signal.level == level), None)


def _resolve(signals: list[_Signal]) -> PriorityDecision:
    emergency = _first(signals, "P1")
    if emergency is not None:
        return PriorityDecision("P1", emergency.reason)
    lower = _first(signals, "lower")
    planned = _first(signals, "P4")
    if lower is not None:
        if planned is not None:
            return PriorityDecision("P4", planned.reason, lowered=True)
        return PriorityDecision("P3", lower.reason, lowered=True)
    urgent = _first(signals, "P2")
    if urgent is not None:
        return PriorityDecision("P2", urgent.reason)
    if planned is not None:
        return PriorityDecision("P4", planned.reason)
    standard = _first(signals, "P3")
    return PriorityDecision(DEFAULT_PRIORITY, standard.reason if standard else None)
