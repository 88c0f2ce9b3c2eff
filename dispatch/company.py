"""The service company as the domain sees it: what the company file describes.

Frozen value objects; storage maps them to rows and the company-file loader builds them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, time, timedelta
from decimal import Decimal
from typing import Literal

PRIORITY_IDS: tuple[str, ...] = ("P1", "P2", "P3", "P4")
WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
Channel = Literal["telegram", "sms"]


@dataclass(frozen=True, slots=True)
class TimeRange:
    """A span of the day in the company's local time, start before end."""

    start: time
    end: time

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"

    def minutes(self) -> tuple[int, int]:
        return (self.start.hour * 60 + self.start.minute, self.end.hour * 60 + self.end.minute)


@dataclass(frozen=True, slots=True)
class GeoPoint:
    lat: float
    lon: float


@dataclass(frozen=True, slots=True)
class Depot:
    address: str
    location: GeoPoint | None


@dataclass(frozen=True, slots=True)
class Requirements:
    """What a kind of work or a piece of equipment demands of the technician."""

    certifications: tuple[str, ...] = ()
    tools: tuple[str, ...] = ()
    min_level: int = 1


@dataclass(frozen=True, slots=True)
class Skill:
    id: str
    name: str
    keywords: tuple[str, ...] = ()
    duration_minutes: int = 60
    requires: Requirements = field(default_factory=Requirements)


@dataclass(frozen=True, slots=True)
class Certification:
    id: str
    name: str


@dataclass(frozen=True, slots=True)
class Tool:
    id: str
    name: str


@dataclass(frozen=True, slots=True)
class Part:
    sku: str
    name: str
    price: Decimal


@dataclass(frozen=True, slots=True)
class Territory:
    id: str
    name: str
    zips: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PriorityLevel:
    id: str  # P1..P4
    name: str
    keywords: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Contract:
    id: str
    name: str
    response_hours: Mapping[str, float]  # priority id -> hours


@dataclass(frozen=True, slots=True)
class AutoAssign:
    priorities: tuple[str, ...] = ("P2", "P3", "P4")
    skills: tuple[str, ...] | None = None  # None: all skills
    exclude_vip: bool = True
    offer_timeout_minutes: Mapping[str, int] = field(
        default_factory=lambda: {"P1": 3, "P2": 10, "P3": 30, "P4": 60}
    )


DEFAULT_WEIGHTS: Mapping[str, float] = {
    "drive_time": 1.0,
    "sla_slack": 1.0,
    "earliest": 0.5,
    "preferred": 1.0,
    "equipment_familiarity": 0.5,
    "skill_match": 0.5,
    "balance": 0.5,
    "vip_contract": 1.0,
    "pm_overdue": 0.5,
}


@dataclass(frozen=True, slots=True)
class AssignmentSettings:
    """Tuning of the engine: objective weights and the travel-time estimate."""

    weights: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    detour_factor: float = 1.3
    speed_kmh: float = 40.0
    routing_url: str | None = None  # OSRM or Valhalla server; None: great-circle estimate


@dataclass(frozen=True, slots=True)
class CompanySettings:
    name: str
    timezone: str
    currency: str = "USD"
    labor_rate: Decimal = Decimal("0")
    callout_fee: Decimal = Decimal("0")
    after_hours_multiplier: Decimal = Decimal("1")
    tax_rate: Decimal = Decimal("0")
    business_hours: TimeRange = TimeRange(time(8, 0), time(17, 0))
    depot: Depot | None = None
    pm_lookahead_days: int = 14
    lone_worker_minutes: int = 60


@dataclass(frozen=True, slots=True)
class CertificationGrant:
    id: str
    expires: date | None

    def valid_on(self, day: date) -> bool:
        return self.expires is None or day <= self.expires


@dataclass(frozen=True, slots=True)
class Leave:
    start: date
    end: date
    reason: str = ""

    def covers(self, day: date) -> bool:
        return self.start <= day <= self.end


@dataclass(frozen=True, slots=True)
class Technician:
    id: str
    name: str
    phone: str  # E.164
    telegram: str | None = None  # username without @
    prefers: Channel = "sms"
    skills: Mapping[str, int] = field(default_factory=dict)
    certifications: tuple[CertificationGrant, ...] = ()
    tools: tuple[str, ...] = ()
    van_stock: Mapping[str, int] = field(default_factory=dict)
    territories: tuple[str, ...] = ()
    home: GeoPoint | None = None
    shifts: Mapping[str, TimeRange] = field(default_factory=dict)  # weekday -> range
    leave: tuple[Leave, ...] = ()
    max_jobs_per_day: int = 8

    def shift_on(self, day: date) -> TimeRange | None:
        return self.shifts.get(WEEKDAYS[day.weekday()])

    def on_leave(self, day: date) -> bool:
        return any(item.covers(day) for item in self.leave)

    def certifications_on(self, day: date) -> frozenset[str]:
        """The certifications held and not expired on `day`."""
        return frozenset(g.id for g in self.certifications if g.valid_on(day))


@dataclass(frozen=True, slots=True)
class Dispatcher:
    id: str
    name: str
    phone: str
    telegram: str | None = None


@dataclass(frozen=True, slots=True)
class Equipment:
    id: str
    type: str
    skill: str | None = None
    make: str | None = None
    model: str | None = None
    serial: str | None = None
    installed: date | None = None
    pm_interval_days: int | None = None
    last_pm: date | None = None
    requires: Requirements = field(default_factory=Requirements)

    def next_pm(self) -> date | None:
        if self.pm_interval_days is None:
            return None
        if self.last_pm is None:
            return self.installed
        return self.last_pm + timedelta(days=self.pm_interval_days)


@dataclass(frozen=True, slots=True)
class Site:
    id: str
    address: str
    name: str | None = None
    zip: str | None = None
    location: GeoPoint | None = None
    geocoded_from_zip: bool = False
    access_window: TimeRange | None = None
    access_notes: str | None = None
    safety_notes: str | None = None
    equipment: tuple[Equipment, ...] = ()


@dataclass(frozen=True, slots=True)
class Customer:
    id: str
    name: str
    phone: str | None = None
    email: str | None = None
    vip: bool = False
    contract: str | None = None
    preferred_technicians: tuple[str, ...] = ()
    excluded_technicians: tuple[str, ...] = ()
    sites: tuple[Site, ...] = ()


@dataclass(frozen=True, slots=True)
class Company:
    """Everything one company file holds."""

    settings: CompanySettings
    skills: tuple[Skill, ...] = ()
    certifications: tuple[Certification, ...] = ()
    tools: tuple[Tool, ...] = ()
    parts: tuple[Part, ...] = ()
    territories: tuple[Territory, ...] = ()
    priorities: tuple[PriorityLevel, ...] = ()
    contracts: tuple[Contract, ...] = ()
    auto_assign: AutoAssign = field(default_factory=AutoAssign)
    assignment: AssignmentSettings = field(default_factory=AssignmentSettings)
    technicians: tuple[Technician, ...] = ()
    dispatchers: tuple[Dispatcher, ...] = ()
    customers: tuple[Customer, ...] = ()

    def skill(self, skill_id: str) -> Skill | None:
        return next((s for s in self.skills if s.id == skill_id), None)

    def equipment_by_id(self) -> dict[str, Equipment]:
        """Every customer site's equipment, by id."""
        return {e.id: e for c in self.customers for s in c.sites for e in s.equipment}

    def requirements(
        self, skill_id: str | None, equipment: Equipment | None
    ) -> tuple[Requirements, ...]:
        """What the kind of work (`Skill.requires`) and the equipment demand of a technician."""
        skill = self.skill(skill_id) if skill_id else None
        found = [skill.requires] if skill is not None else []
        if equipment is not None:
            found.append(equipment.requires)
        return tuple(found)

    def territory_of_zip(self, zip_code: str) -> Territory | None:
        return next((t for t in self.territories if zip_code in t.zips), None)
