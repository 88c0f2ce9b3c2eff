"""Everything intake precomputes for one company, built once and reused for every message."""

from __future__ import annotations

import re
from collections import OrderedDict
from typing import ClassVar
from zoneinfo import ZoneInfo

from bot.intake.address import AddressReader, street_parts
from bot.intake.category import SkillModel
from bot.intake.geo import zip_info
from bot.intake.phrases import Corrector
from bot.intake.priority import PriorityModel
from bot.intake.priority_rules import RULES
from bot.intake.sites import CustomerSites
from bot.intake.text import fold, split_words
from bot.intake.vocabulary import TIME_WORDS
from bot.intake.when import WhenReader
from dispatch.company import Company, Customer

_CACHE_SIZE = 8


class IntakeModel:
    """Matchers for one company: keywords, corrector vocabulary, streets, each customer's sites."""

    _cache: ClassVar[OrderedDict[int, tuple[Company, IntakeModel]]] = OrderedDict()

    def __init__(self, company: Company) -> None:
        self.company = company
        self.timezone = ZoneInfo(company.settings.timezone)
        self.skills = SkillModel(company)
        self.priorities = PriorityModel(company, self.skills.phrase_owner)
        sites = [site for customer in company.customers for site in customer.sites]
        streets = {street_parts(site.address)[1] for site in sites}
        self.address = AddressReader(
            (s for s in streets if re.search(r"[a-z]{3}", s)), _cities(company)
        )
        self.when = WhenReader(company.settings.timezone, company.settings.business_hours)
        vocabulary = self.skills.words() | self.priorities.words() | set(TIME_WORDS)
        for rule in RULES:
            vocabulary.update(re.findall(r"[a-z]{4,}", rule.pattern.pattern))
        for site in sites:
            for equipment in site.equipment:
                vocabulary.update(split_words(equipment.type).tokens)
        self.corrector = Corrector(vocabulary, self.skills.phrases() | self.priorities.phrases())
        self._sites: dict[str, CustomerSites] = {}

    @classmethod
    def for_company(cls, company: Company) -> IntakeModel:
        """The model of this company object, built on first use.

        Keyed by identity: a changed company file is a new `Company` and gets a new model.
        The cache holds the company too, so an id is never reused while its entry lives.
        """
        key = id(company)
        entry = cls._cache.get(key)
        if entry is not None and entry[0] is company:
            cls._cache.move_to_end(key)
            return entry[1]
        model = cls(company)
        cls._cache[key] = (company, model)
        while len(cls._cache) > _CACHE_SIZE:
            cls._cache.popitem(last=False)
        return model

    def sites_of(self, customer: Customer) -> CustomerSites:
        known = self._sites.get(customer.id)
        if known is None or known.customer is not customer:
            known = CustomerSites(customer)
            self._sites[customer.id] = known
        return known


def _cities(company: Company) -> set[str]:
    """City names the company works in: from its sites' addresses and its territories' ZIPs."""
    cities: set[str] = set()
    for customer in company.customers:
        for site in customer.sites:
            parts = [p.strip() for p in site.address.split(",")]
            if len(parts) >= 3:
                cities.add(fold(parts[1]))
    for territory in company.territories:
        for zip_code in territory.zips:
            info = zip_info(zip_code)
            if info is not None and info.city:
                cities.add(fold(info.city))
    return {" ".join(c.split()) for c in cities if c}
