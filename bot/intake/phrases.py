"""Typo-tolerant words and phrase lookup.

The corrector maps each unknown word to the nearest word the intake knows ("leeking" ->
"leaking", "frige" -> "fridge", "waterheater" -> "water heater") once per word and company,
so fuzzy matching costs one lookup per distinct typo instead of one per keyword per message.
Real English words that merely look like a keyword ("leaning", "cooking") are never
corrected: see `guard_words`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from rapidfuzz import process
from rapidfuzz.distance import OSA

from bot.intake.guard_words import GUARD_WORDS
from bot.intake.text import Words
from bot.intake.vocabulary import STOPWORDS

T = TypeVar("T")


def _max_edits(length: int) -> int:
    return 2 if length >= 9 else 1


class Corrector:
    """Rewrites the words of a message onto a known vocabulary."""

    def __init__(self, vocabulary: Iterable[str], phrases: Iterable[str] = ()) -> None:
        self._known = frozenset(vocabulary)
        # Run-together words are split only into a known phrase: "waterheater", not "smokehouse".
        self._pairs = frozenset(p for p in phrases if p.count(" ") == 1)
        by_letter: dict[str, list[str]] = defaultdict(list)
        for word in self._known:
            if len(word) >= 4 and word.isalpha():
                by_letter[word[0]].append(word)
        self._by_letter = {letter: tuple(sorted(words)) for letter, words in by_letter.items()}
        self._cache: dict[str, tuple[str, ...]] = {}

    @property
    def known(self) -> frozenset[str]:
        return self._known

    def correct(self, words: Words) -> Words:
        tokens: list[str] = []
        clauses: list[int] = []
        raw = words.tokens
        i = 0
        while i < len(raw):
            if i + 1 < len(raw) and words.clauses[i] == words.clauses[i + 1]:
                joined = raw[i] + raw[i + 1]
                if joined in self._known and not (
                    raw[i] in self._known and raw[i + 1] in self._known
                ):
                    tokens.append(joined)
                    clauses.append(words.clauses[i])
                    i += 2
                    continue
            for token in self.word(raw[i]):
                tokens.append(token)
                clauses.append(words.clauses[i])
            i += 1
        return Words(tuple(tokens), tuple(clauses))

    def word(self, token: str) -> tuple[str, ...]:
        cached = self._cache.get(token)
        if cached is None:
            cached = self._lookup(token)
            if len(self._cache) < 50_000:
                self._cache[token] = cached
        return cached

    def _lookup(self, token: str) -> tuple[str, ...]:
        known = self._known
        if token in known or len(token) < 3 or not token.isalpha():
            return (token,)
        if token in STOPWORDS:
            return (token,)
        for stem in self._stems(token):
            if stem in known:
                return (stem,)
        if token in GUARD_WORDS:
            return (token,)
        if len(token) >= 7:
            for cut in range(3, len(token) - 2):
                head, tail = token[:cut], token[cut:]
                if f"{head} {tail}" in self._pairs:
                    return (head, tail)
        choices = self._by_letter.get(token[0], ())
        if not choices:
            return (token,)
        limit = _max_edits(len(token))
        found = process.extractOne(token, choices, scorer=OSA.distance, score_cutoff=limit)
        if found is None:
            return (token,)
        best = str(found[0])
        if len(token) == 3 and len(best) != 4:
            return (token,)  # three letters: only a dropped letter ("dor"), nothing bolder
        return (best,)

    @staticmethod
    def _stems(token: str) -> Sequence[str]:
        stems: list[str] = []
        if token.endswith("in"):
            stems.append(token + "g")  # "smokin", "overflowin"
        if token.endswith("es"):
            stems.append(token[:-2])
        if token.endswith("s"):
            stems.append(token[:-1])
        return stems


@dataclass(frozen=True, slots=True)
class Match(Generic[T]):
    start: int
    end: int
    phrase: tuple[str, ...]
    value: T


class PhraseIndex(Generic[T]):
    """Finds every listed phrase in a message's words (within one clause)."""

    def __init__(self, entries: Iterable[tuple[str, T]]) -> None:
        index: dict[str, list[tuple[tuple[str, ...], T]]] = defaultdict(list)
        for phrase, value in entries:
            words = tuple(phrase.split())
            if words:
                index[words[0]].append((words, value))
        for items in index.values():
            items.sort(key=lambda item: -len(item[0]))
        self._index = dict(index)

    def words(self) -> set[str]:
        return {word for phrase in self.phrases() for word in phrase.split()}

    def phrases(self) -> set[str]:
        return {" ".join(phrase) for items in self._index.values() for phrase, _ in items}

    def find(self, words: Words) -> list[Match[T]]:
        found: list[Match[T]] = []
        tokens = words.tokens
        count = len(tokens)
        for i, token in enumerate(tokens):
            for phrase, value in self._index.get(token, ()):
                end = i + len(phrase)
                if end <= count and tokens[i:end] == phrase and words.same_clause(i, end):
                    found.append(Match(i, end, phrase, value))
        return found
