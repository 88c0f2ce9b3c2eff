"""Turning a text message into words: lower case, no accents or emoji, clauses kept apart.

Clauses matter for negation ("no sparks or smoke, but the outlet is dead") and for phrases,
which never span a comma or a full stop.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from bot.intake.vocabulary import SLANG

_REWRITES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\ba\s*/\s*c\b"), "ac"),
    (re.compile(r"\bw/\s*"), "with "),
    (re.compile(r"&"), " and "),
    (re.compile(r"[’'`´]"), ""),
    (re.compile(r"(?<=[a-z])-(?=[a-z])"), " "),
)
_PIECES = re.compile(r"[a-z0-9]+|[.!?,;:()\n]+| - ")
_CLAUSE_BREAKERS = frozenset({"but", "pero"})


def fold(text: str) -> str:
    """Lower case ASCII: accents dropped ("baño" -> "bano"), emoji and other symbols removed."""
    decomposed = unicodedata.normalize("NFKD", text)
    ascii_only = decomposed.encode("ascii", "ignore").decode("ascii")
    return ascii_only.lower()


def normalise(text: str) -> str:
    folded = fold(text)
    for pattern, replacement in _REWRITES:
        folded = pattern.sub(replacement, folded)
    return folded


@dataclass(frozen=True, slots=True)
class Words:
    """The words of a message and, for each, the clause it belongs to."""

    tokens: tuple[str, ...]
    clauses: tuple[int, ...]

    def __len__(self) -> int:
        return len(self.tokens)

    def same_clause(self, start: int, end: int) -> bool:
        return self.clauses[start] == self.clauses[end - 1]

    def text(self) -> str:
        return " ".join(self.tokens)


def split_words(text: str) -> Words:
    tokens: list[str] = []
    clauses: list[int] = []
    clause = 0
    for piece in _PIECES.findall(normalise(text)):
        if not piece[0].isalnum():
            clause += 1
            continue
        if piece in _CLAUSE_BREAKERS:
            clause += 1
        for word in SLANG.get(piece, piece).split():
            tokens.append(word)
            clauses.append(clause)
    return Words(tuple(tokens), tuple(clauses))
