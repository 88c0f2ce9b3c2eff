"""Which kind of work (skill) a message is about.

Every known phrase votes for its skill: the company's keywords, then the built-in synonyms,
then the skills' own names. A phrase naming a thing ("dishwasher") outvotes one naming a
symptom ("leaking"), a longer phrase outvotes the words inside it ("water heater" hides
"heater"), and the first thing mentioned gets a small bonus because people name the broken
thing first. Equipment the customer owns that the message mentions votes for its skill too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bot.intake.phrases import Match, PhraseIndex
from bot.intake.priority_rules import NEGATORS
from bot.intake.text import Words, normalise
from bot.intake.vocabulary import (
    PLACE_WORDS,
    SKILL_SYNONYMS,
    STOPWORDS,
    SYMPTOM_WORDS,
    WEIGHTED_SYNONYMS,
)
from dispatch.company import Company

MIN_SCORE = 0.9
EQUIPMENT_VOTE = 3.0
FIRST_THING_BONUS = 0.5
BUILT_IN_FACTOR = 0.9


@dataclass(frozen=True, slots=True)
class Vote:
    skill: str
    weight: float
    names_thing: bool


@dataclass(frozen=True, slots=True)
class SkillGuess:
    skill: str | None
    confidence: float
    scores: Mapping[str, float]


def phrase_of(text: str) -> str:
    return " ".join(normalise(text).replace("_", " ").split())


def phrase_weight(phrase: str) -> tuple[float, bool]:
    words = phrase.split()
    names_thing = any(w not in SYMPTOM_WORDS and w not in STOPWORDS for w in words)
    if len(words) == 1 and words[0] in PLACE_WORDS:
        names_thing = False
    base = 2.0 if names_thing else 1.0
    return base + 0.5 * (len(words) - 1), names_thing


class SkillModel:
    def __init__(self, company: Company) -> None:
        best: dict[tuple[str, str], Vote] = {}

        def add(phrase: str, skill: str, factor: float, weight: float | None = None) -> None:
            if not phrase:
                return
            computed, names_thing = phrase_weight(phrase)
            vote = Vote(skill, (weight if weight is not None else computed) * factor, names_thing)
            key = (phrase, skill)
            if key not in best or best[key].weight < vote.weight:
                best[key] = vote

        for skill in company.skills:
            for keyword in skill.keywords:
                add(phrase_of(keyword), skill.id, 1.0)
            add(phrase_of(skill.id), skill.id, 1.0)
            add(phrase_of(skill.name), skill.id, 1.0)
            for synonym in SKILL_SYNONYMS.get(skill.id, ()):
                add(synonym, skill.id, BUILT_IN_FACTOR)
            for synonym, weight in WEIGHTED_SYNONYMS.get(skill.id, ()):
                add(synonym, skill.id, 1.0, weight)
        self._skill_ids = frozenset(skill.id for skill in company.skills)
        self._index: PhraseIndex[Vote] = PhraseIndex(
            (phrase, vote) for (phrase, _), vote in best.items()
        )
        owners: dict[str, set[str]] = {}
        for phrase, skill_id in best:
            owners.setdefault(phrase, set()).add(skill_id)
        # Phrases that belong to exactly one skill: the priority rules use them to tell
        # "no heat" in a house from "no heat" in a dryer.
        self.phrase_owner: Mapping[str, str] = {
            phrase: next(iter(skills)) for phrase, skills in owners.items() if len(skills) == 1
        }

    def words(self) -> set[str]:
        return self._index.words()

    def phrases(self) -> set[str]:
        return self._index.phrases()

    def guess(
        self,
        words: Words,
        equipment_skill: str | None = None,
        extra: Mapping[str, float] | None = None,
    ) -> SkillGuess:
        matches = self._index.find(words)
        covered: set[int] = set()
        for match in matches:
            if match.end - match.start > 1:
                covered.update(range(match.start, match.end))
        scores: dict[str, float] = {}
        seen: set[tuple[tuple[str, ...], str]] = set()
        first_thing: Match[Vote] | None = None
        for match in matches:
            if match.end - match.start == 1 and match.start in covered:
                continue
            # "no gas smell, the stove wont light"; but "no lights" still means electrical work
            if not match.value.names_thing and _negated(words, match.start):
                continue
            key = (match.phrase, match.value.skill)
            if key in seen:
                continue
            seen.add(key)
            scores[match.value.skill] = scores.get(match.value.skill, 0.0) + match.value.weight
            if match.value.names_thing and (first_thing is None or match.start < first_thing.start):
                first_thing = match
        if first_thing is not None:
            skill = first_thing.value.skill
            scores[skill] = scores.get(skill, 0.0) + FIRST_THING_BONUS
        for skill, weight in (extra or {}).items():
            if skill in self._skill_ids:
                scores[skill] = scores.get(skill, 0.0) + weight
        if equipment_skill is not None:
            scores[equipment_skill] = scores.get(equipment_skill, 0.0) + EQUIPMENT_VOTE
        if not scores:
            return SkillGuess(None, 0.0, {})
        ranked = sorted(scores.items(), key=lambda item: -item[1])
        top_skill, top = ranked[0]
        second = ranked[1][1] if len(ranked) > 1 else 0.0
        if top < MIN_SCORE:
            return SkillGuess(None, 0.0, scores)
        confidence = round(top / (top + second + 1.0), 3)
        return SkillGuess(top_skill, confidence, scores)


def _negated(words: Words, start: int) -> bool:
    clause = words.clauses[start]
    return any(
        words.tokens[i] in NEGATORS
        for i in range(max(0, start - 3), start)
        if words.clauses[i] == clause
    )
