"""A US street address in a text message: "1200 barton springs road austin 78704".

The street is found by scanning from each house number to a street suffix ("rd", "Blvd.")
and normalised the USPS way ("1200 Barton Springs Rd", "701 W 31st St", "4411 Avenue G").
Without a suffix, a street is still taken when its name is one of the company's known streets
("1806 Berkeley") or when usaddress reads it as a street followed by a city, state or ZIP
("3410 Greenway Austin TX"). Numbers after "unit", "suite", "code", "$" and the like are not
house numbers.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import usaddress
from rapidfuzz.distance import OSA

from bot.intake.geo import zip_info
from bot.intake.text import fold
from bot.intake.vocabulary import STOPWORDS, word_set

SUFFIXES: dict[str, str] = {
    "street": "St",
    "st": "St",
    "str": "St",
    "road": "Rd",
    "rd": "Rd",
    "avenue": "Ave",
    "ave": "Ave",
    "av": "Ave",
    "boulevard": "Blvd",
    "blvd": "Blvd",
    "drive": "Dr",
    "dr": "Dr",
    "lane": "Ln",
    "ln": "Ln",
    "trail": "Trl",
    "trl": "Trl",
    "court": "Ct",
    "ct": "Ct",
    "circle": "Cir",
    "cir": "Cir",
    "parkway": "Pkwy",
    "pkwy": "Pkwy",
    "pky": "Pkwy",
    "place": "Pl",
    "pl": "Pl",
    "way": "Way",
    "highway": "Hwy",
    "hwy": "Hwy",
    "loop": "Loop",
    "cove": "Cv",
    "cv": "Cv",
    "crossing": "Xing",
    "xing": "Xing",
    "pass": "Pass",
    "path": "Path",
    "terrace": "Ter",
    "ter": "Ter",
    "square": "Sq",
    "sq": "Sq",
    "plaza": "Plz",
    "plz": "Plz",
    "bend": "Bnd",
    "bnd": "Bnd",
    "expressway": "Expy",
    "expy": "Expy",
    "freeway": "Fwy",
    "fwy": "Fwy",
    "run": "Run",
    "row": "Row",
    "alley": "Aly",
}
DIRECTIONS: dict[str, str] = {
    "n": "N",
    "s": "S",
    "e": "E",
    "w": "W",
    "north": "N",
    "south": "S",
    "east": "E",
    "west": "W",
    "ne": "NE",
    "nw": "NW",
    "se": "SE",
    "sw": "SW",
    "northeast": "NE",
    "northwest": "NW",
    "southeast": "SE",
    "southwest": "SW",
}
STATES: dict[str, str] = {"tx": "TX", "texas": "TX"}
_NOT_HOUSE_NUMBER_AFTER = word_set(
    """unit apt apartment suite ste room rm code lockbox building bldg number no heat set
    order account invoice wo po box floor fl exam rooms units"""
)
_NOT_STREET_WORDS = STOPWORDS | word_set(
    """degrees degree deg years yrs months weeks days hours minutes sec secs seconds times
    cycles amp amps ft feet inches gallons dollars bucks extinguishers kids people"""
)
_TOKEN = re.compile(r"[a-z0-9]+|[^\sa-z0-9]")
_ORDINAL = re.compile(r"^\d+(st|nd|rd|th)$")


@dataclass(frozen=True, slots=True)
class AddressFacts:
    street: str | None = None
    number: str | None = None
    street_name: str | None = None  # lower case, no number, suffix or direction: "barton springs"
    zip: str | None = None
    city: str | None = None
    state: str | None = None


@dataclass(frozen=True, slots=True)
class _Street:
    text: str
    number: str
    name: str
    start: int  # token index of the house number
    end: int  # token index after the street


def _word(word: str) -> str:
    if _ORDINAL.match(word):
        return word
    if len(word) == 1:
        return word.upper()
    return word.capitalize()


def format_street(number: str, words: list[str], suffix: str | None) -> tuple[str, str]:
    """("1200", ["barton", "springs"], "road") -> ("1200 Barton Springs Rd", "barton springs")."""
    parts = [number]
    name_words = list(words)
    if len(name_words) >= 2 and name_words[0] in DIRECTIONS:
        parts.append(DIRECTIONS[name_words[0]])
        name_words = name_words[1:]
    parts.extend(_word(w) for w in name_words)
    if suffix is not None:
        parts.append(SUFFIXES.get(suffix, _word(suffix)))
    return " ".join(parts), " ".join(name_words)


class AddressReader:
    """Reads addresses; knows the company's streets and cities to accept suffix-less streets."""

    def __init__(self, known_streets: Iterable[str], cities: Iterable[str]) -> None:
        self._known = tuple(sorted({tuple(s.split()) for s in known_streets if s}, key=len))
        self._cities = {tuple(c.split()) for c in cities if c}

    def read(self, text: str) -> AddressFacts:
        folded = fold(text)
        tokens = _TOKEN.findall(folded)
        street = self._street(tokens)
        zip_code = self._zip(tokens, street)
        city, state = self._city_state(tokens, street, zip_code)
        if street is None:
            return AddressFacts(zip=zip_code, city=city, state=state)
        return AddressFacts(street.text, street.number, street.name, zip_code, city, state)

    # -- street -----------------------------------------------------------------------------

    def _street(self, tokens: list[str]) -> _Street | None:
        for i, token in enumerate(tokens):
            if not (token.isdigit() and 1 <= len(token) <= 6):
                continue
            if i > 0 and (tokens[i - 1] in _NOT_HOUSE_NUMBER_AFTER or tokens[i - 1] in "$#"):
                continue
            run = self._run(tokens, i + 1)
            found = self._with_suffix(tokens, i, run)
            if found is None and len(token) >= 3:  # no suffix: only a real-looking house number
                found = self._known_street(tokens, i, run) or self._by_usaddress(tokens, i, run)
            if found is not None:
                return found
        return None

    @staticmethod
    def _run(tokens: list[str], start: int) -> list[str]:
        run: list[str] = []
        for token in tokens[start : start + 7]:
            if not token.isalnum() or token in _NOT_STREET_WORDS:
                break
            run.append(token)
        return run

    @staticmethod
    def _with_suffix(tokens: list[str], i: int, run: list[str]) -> _Street | None:
        if len(run) >= 2 and run[0] in ("avenue", "ave") and (len(run[1]) == 1 or run[1].isdigit()):
            text, name = format_street(tokens[i], ["avenue", run[1]], None)
            return _Street(text, tokens[i], name, i, i + 3)
        last = max((k for k in range(1, len(run)) if run[k] in SUFFIXES), default=None)
        if last is None:
            return None
        name_words = run[:last]
        if all(w in DIRECTIONS and len(w) <= 2 for w in name_words):  # "800 West Ave" is fine
            return None
        text, name = format_street(tokens[i], name_words, run[last])
        return _Street(text, tokens[i], name, i, i + last + 2)

    def _known_street(self, tokens: list[str], i: int, run: list[str]) -> _Street | None:
        words = run[1:] if run and run[0] in DIRECTIONS and len(run) > 1 else run
        for known in reversed(self._known):  # longest first
            if len(words) < len(known):
                continue
            head = words[: len(known)]
            if all(_close(a, b) for a, b in zip(head, known, strict=True)):
                used = run[: len(run) - len(words) + len(known)]
                text, name = format_street(tokens[i], used, None)
                return _Street(text, tokens[i], name, i, i + 1 + len(used))
        return None

    def _by_usaddress(self, tokens: list[str], i: int, run: list[str]) -> _Street | None:
        if not run:
            return None
        window = tokens[i : i + 12]
        if not any(self._place_at(window, k) for k in range(2, len(window))):
            return None
        try:
            parsed, _ = usaddress.tag(" ".join(t for t in window if t.isalnum()))
        except usaddress.RepeatedLabelError:
            return None
        name = str(parsed.get("StreetName", "")).split()
        if parsed.get("AddressNumber") != tokens[i] or not name:
            return None
        if any(w in _NOT_STREET_WORDS for w in name):
            return None
        words = str(parsed.get("StreetNamePreDirectional", "")).split() + name
        suffix = parsed.get("StreetNamePostType")
        text, street_name = format_street(tokens[i], words, str(suffix) if suffix else None)
        return _Street(text, tokens[i], street_name, i, i + 1 + len(words))

    def _place_at(self, window: list[str], k: int) -> bool:
        token = window[k]
        if token in STATES or (len(token) == 5 and token.isdigit()):
            return True
        return any(tuple(window[k : k + len(city)]) == city for city in self._cities)

    # -- zip, city, state ------------------------------------------------------------------

    @staticmethod
    def _zip(tokens: list[str], street: _Street | None) -> str | None:
        candidates: list[tuple[int, str]] = []
        for i, token in enumerate(tokens):
            if len(token) != 5 or not token.isdigit():
                continue
            if street is not None and i == street.start:
                continue
            if i > 0 and (tokens[i - 1] in _NOT_HOUSE_NUMBER_AFTER or tokens[i - 1] in "$#"):
                continue
            if zip_info(token) is not None:
                candidates.append((i, token))
        if not candidates:
            return None
        if street is not None:
            after = [c for c in candidates if c[0] >= street.end]
            if after:
                return after[0][1]
        return candidates[0][1]

    def _city_state(
        self, tokens: list[str], street: _Street | None, zip_code: str | None
    ) -> tuple[str | None, str | None]:
        start = street.end if street is not None else 0
        state = next((STATES[t] for t in tokens[start:] if t in STATES), None)
        city = next(
            (
                " ".join(w.capitalize() for w in c)
                for k in range(start, len(tokens))
                for c in self._cities
                if tuple(tokens[k : k + len(c)]) == c
            ),
            None,
        )
        if zip_code is not None and (city is None or state is None):
            info = zip_info(zip_code)
            if info is not None:
                city = city or info.city or None
                state = state or info.state or None
        return city, state


def _close(word: str, known: str) -> bool:
    if word == known:
        return True
    return len(known) >= 5 and OSA.distance(word, known, score_cutoff=1) <= 1


def street_parts(address: str) -> tuple[str | None, str]:
    """The house number and lower-case street name of a site's address line."""
    first = fold(address).split(",")[0]
    tokens = [t for t in _TOKEN.findall(first) if t.isalnum()]
    if not tokens or not tokens[0].isdigit():
        return None, " ".join(tokens)
    number, words = tokens[0], tokens[1:]
    if words and words[-1] in SUFFIXES and not (len(words) == 2 and words[0] in ("avenue", "ave")):
        words = words[:-1]
    if len(words) >= 2 and words[0] in DIRECTIONS:
        words = words[1:]
    return number, " ".join(words)
