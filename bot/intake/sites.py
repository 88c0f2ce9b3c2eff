"""Which of the customer's sites and which piece of their equipment a message is about.

A site is recognised by its street and house number, else by the words that set it apart
from the customer's other sites ("the Manchaca one", "building A", "taqueria on congress"),
else by equipment only one site has ("rooftop unit 2"); a customer with one site needs none.
Equipment is recognised by the words of its type in the register ("walk-in freezer",
"RTU 2" for "rooftop unit 2"), the head word counting most.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import pairwise

from rapidfuzz import fuzz
from rapidfuzz.distance import OSA

from bot.intake.address import DIRECTIONS, SUFFIXES, AddressFacts, street_parts
from bot.intake.text import Words, split_words
from bot.intake.vocabulary import STOPWORDS, word_set
from dispatch.company import Customer, Equipment, Site

_GENERIC_TYPE_WORDS = word_set(
    "unit system operator commercial kitchen standby building bldg residential main"
)
# Heads too common to identify equipment alone: "the panel sparked" is not the fire alarm panel.
_AMBIGUOUS_HEADS = word_set("panel door unit system heater machine pump line")
_ALIASES: dict[str, tuple[str, ...]] = {
    "rtu": ("rooftop", "unit"),
    "tankless": ("tankless", "water", "heater"),
    "fridge": ("refrigerator",),
    "frige": ("refrigerator",),
    "generador": ("generator",),
}
_NUMBER_AFTER = frozenset({"unit", "rtu", "number", "no", "num"})
_SITE_NOISE = STOPWORDS | frozenset(SUFFIXES) | frozenset(DIRECTIONS) | {"austin", "tx"}
_DIGITS = re.compile(r"^\d+$")


@dataclass(frozen=True, slots=True)
class SiteMatch:
    site: Site | None = None
    equipment: Equipment | None = None
    by: str | None = None  # "street", "name", "equipment", "only site"


@dataclass(frozen=True, slots=True)
class _EquipmentShape:
    equipment: Equipment
    site: Site
    weights: dict[str, float]
    head: str | None
    digits: frozenset[str]
    makes: frozenset[str]


def _terms(tokens: list[str]) -> set[str]:
    terms = {
        t
        for t in tokens
        if t not in _SITE_NOISE and (len(t) >= 3 or (_DIGITS.match(t) and len(t) >= 3))
    }
    terms.update(f"{a} {b}" for a, b in pairwise(tokens))
    return terms


def _equipment_shape(equipment: Equipment, site: Site) -> _EquipmentShape:
    tokens = [t for t in split_words(equipment.type).tokens if t not in STOPWORDS]
    digits = frozenset(t for t in tokens if t.isdigit())
    words = [t for t in tokens if not t.isdigit()]
    meaningful = [t for t in words if t not in _GENERIC_TYPE_WORDS and len(t) > 1]
    head = meaningful[-1] if meaningful else None
    weights: dict[str, float] = {}
    for word in words:
        generic = word in _GENERIC_TYPE_WORDS or len(word) == 1
        weights[word] = 2.0 if word == head else 0.5 if generic else 1.0
    makes = frozenset(split_words(equipment.make or "").tokens) - STOPWORDS
    return _EquipmentShape(equipment, site, weights, head, digits, makes)


class CustomerSites:
    """One customer's sites, prepared for matching (built once per customer and company)."""

    def __init__(self, customer: Customer) -> None:
        self.customer = customer
        self._streets: list[tuple[Site, str | None, str]] = []
        site_terms: list[tuple[Site, set[str]]] = []
        for site in customer.sites:
            number, name = street_parts(site.address)
            self._streets.append((site, number, name))
            street_tokens = list(split_words(site.address.split(",")[0]).tokens)
            name_tokens = list(split_words(site.name or "").tokens)
            site_terms.append((site, _terms(street_tokens) | _terms(name_tokens)))
        counts: dict[str, int] = {}
        for _, terms in site_terms:
            for term in terms:
                counts[term] = counts.get(term, 0) + 1
        self._distinct = [
            (site, frozenset(t for t in terms if counts[t] == 1)) for site, terms in site_terms
        ]
        self._equipment = [
            _equipment_shape(equipment, site)
            for site in customer.sites
            for equipment in site.equipment
        ]

    def match(self, raw: Words, corrected: Words, address: AddressFacts) -> SiteMatch:
        site: Site | None = None
        by: str | None = None
        if address.number is not None and address.street_name is not None:
            site = self._by_street(address.number, address.street_name)
            if site is None:
                return SiteMatch()  # a street we don't know: a new place, not one of theirs
            by = "street"
        if site is None:
            site = self._by_name(raw)
            by = "name" if site is not None else None
        scope = [site] if site is not None else list(self.customer.sites)
        equipment, equipment_site = self._equipment_in(corrected, scope)
        if site is None and equipment_site is not None:
            site, by = equipment_site, "equipment"
        if site is None and len(self.customer.sites) == 1:
            site, by = self.customer.sites[0], "only site"
        return SiteMatch(site, equipment, by)

    def _by_street(self, number: str, name: str) -> Site | None:
        for site, site_number, site_name in self._streets:
            if site_number != number:
                continue
            if name == site_name or fuzz.ratio(name, site_name) >= 80:
                return site
            if site_name.startswith(name) or name.startswith(site_name):
                return site
        return None

    def _by_name(self, raw: Words) -> Site | None:
        if len(self.customer.sites) < 2:
            return None
        tokens = list(raw.tokens)
        stems = [t[:-1] if t.endswith("s") and len(t) > 4 else t for t in tokens]
        message = _terms(tokens) | _terms(stems)
        scored: list[tuple[float, Site]] = []
        for site, terms in self._distinct:
            score = 0.0
            for term in terms:
                if term in message:
                    score += 1.5 if " " in term else 1.0
                elif (
                    " " not in term
                    and len(term) >= 5
                    and any(
                        len(m) >= 5 and OSA.distance(m, term, score_cutoff=1) <= 1 for m in message
                    )
                ):
                    score += 1.0
            if score > 0:
                scored.append((score, site))
        scored.sort(key=lambda item: -item[0])
        if not scored or scored[0][0] < 1.0:
            return None
        if len(scored) > 1 and scored[1][0] == scored[0][0]:
            return None
        return scored[0][1]

    def _equipment_in(
        self, corrected: Words, scope: list[Site]
    ) -> tuple[Equipment | None, Site | None]:
        tokens = corrected.tokens
        present: set[str] = set()
        for token in tokens:
            present.update(_ALIASES.get(token, (token,)))
        digits = {
            tokens[i + 1]
            for i in range(len(tokens) - 1)
            if tokens[i] in _NUMBER_AFTER and tokens[i + 1].isdigit()
        }
        ids = {site.id for site in scope}
        scored: list[tuple[float, _EquipmentShape]] = []
        for shape in self._equipment:
            if shape.site.id not in ids:
                continue
            if shape.digits and digits and not shape.digits & digits:
                continue
            matched = [w for w in shape.weights if w in present]
            meaningful = [w for w in matched if shape.weights[w] >= 1.0]
            if not meaningful and not shape.makes & present:
                continue
            if meaningful == [shape.head] and shape.head in _AMBIGUOUS_HEADS:
                continue
            total = sum(shape.weights.values()) + len(shape.digits)
            got = sum(shape.weights[w] for w in matched) + len(shape.digits & digits)
            got += total / 2 if shape.makes & present else 0.0  # "the rinnai" names it well
            scored.append((min(1.0, got / total) if total else 0.0, shape))
        if not scored:
            return None, None
        scored.sort(key=lambda item: -item[0])
        best_score, best = scored[0]
        if len(scored) > 1 and scored[1][0] == best_score:
            return None, None
        if best_score < 0.5 and len(scored) > 1:
            return None, None
        if best_score < 0.3:
            return None, None
        return best.equipment, best.site
