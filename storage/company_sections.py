"""Reading the company settings, catalogs and engine settings sections of a company file."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dispatch.company import (
    DEFAULT_WEIGHTS,
    PRIORITY_IDS,
    AssignmentSettings,
    AutoAssign,
    Certification,
    CompanySettings,
    Contract,
    Depot,
    Part,
    PriorityLevel,
    Requirements,
    Skill,
    Territory,
    Tool,
)
from storage.company_people import ids, place_by_zip, requirements
from storage.company_values import Reader
from storage.zip_geocode import zip_of_address

DEFAULT_PRIORITY_NAMES = {"P1": "Emergency", "P2": "Urgent", "P3": "Standard", "P4": "Planned"}

_SETTINGS_KEYS = (
    "currency",
    "labor_rate",
    "callout_fee",
    "after_hours_multiplier",
    "tax_rate",
    "business_hours",
    "depot",
    "pm_lookahead_days",
    "lone_worker_minutes",
)


def settings(reader: Reader, value: object) -> CompanySettings | None:
    got = reader.section(value, "company", ("name", "timezone"), _SETTINGS_KEYS)
    if got is None:
        return None
    name = got.read("name", reader.text)
    timezone = got.read("timezone", _timezone, reader=reader)
    currency = got.read("currency", _currency, reader=reader)
    labor_rate = got.read("labor_rate", reader.money)
    callout_fee = got.read("callout_fee", reader.money)
    multiplier = got.read("after_hours_multiplier", reader.money, low="1")
    tax_rate = got.read("tax_rate", reader.money, below="1")
    hours = got.read("business_hours", reader.time_range)
    depot = got.read("depot", _depot, reader=reader)
    lookahead = got.read("pm_lookahead_days", reader.integer, low=0)
    lone_worker = got.read("lone_worker_minutes", reader.integer, low=1)
    if name is None or timezone is None:
        return None
    base = CompanySettings(name=name, timezone=timezone)
    return CompanySettings(
        name=name,
        timezone=timezone,
        currency=currency or base.currency,
        labor_rate=labor_rate if labor_rate is not None else base.labor_rate,
        callout_fee=callout_fee if callout_fee is not None else base.callout_fee,
        after_hours_multiplier=multiplier
        if multiplier is not None
        else base.after_hours_multiplier,
        tax_rate=tax_rate if tax_rate is not None else base.tax_rate,
        business_hours=hours or base.business_hours,
        depot=depot,
        pm_lookahead_days=lookahead if lookahead is not None else base.pm_lookahead_days,
        lone_worker_minutes=lone_worker if lone_worker is not None else base.lone_worker_minutes,
    )


def _timezone(value: object, path: str, reader: Reader) -> str | None:
    if isinstance(value, str) and value.strip():
        try:
            ZoneInfo(value.strip())
        except (ZoneInfoNotFoundError, ValueError):
            pass
        else:
            return value.strip()
    reader.expected(path, "an IANA time zone such as America/Chicago", value)
    return None


def _currency(value: object, path: str, reader: Reader) -> str | None:
    if isinstance(value, str) and len(value) == 3 and value.isalpha() and value.isupper():
        return value
    reader.expected(path, "a 3-letter currency code such as USD", value)
    return None


def _depot(value: object, path: str, reader: Reader) -> Depot | None:
    got = reader.section(value, path, ("address",), ("lat", "lon"))
    if got is None:
        return None
    address = got.read("address", reader.text)
    given, location = reader.point(got.present, path)
    if address is None:
        return None
    if not given:
        location = place_by_zip(reader, zip_of_address(address), path, "depot")
        if location is not None:
            reader.warn(path, "placed at the centroid of its ZIP code (no lat/lon given)")
    return Depot(address, location)


def skill(reader: Reader, value: object, path: str) -> Skill | None:
    got = reader.section(value, path, ("id", "name"), ("keywords", "duration_minutes", "requires"))
    if got is None:
        return None
    ident = got.read("id", reader.identifier)
    reader.define("skill", ident, got.at("id"))
    name = got.read("name", reader.text)
    keywords = reader.texts(got.raw("keywords"), got.at("keywords")) if "keywords" in got else ()
    duration = got.read("duration_minutes", reader.integer, low=1)
    needs = got.read("requires", requirements, reader=reader)
    if ident is None or name is None:
        return None
    return Skill(ident, name, keywords, duration or 60, needs or Requirements())


def certification(reader: Reader, value: object, path: str) -> Certification | None:
    found = _named(reader, value, path, "certification")
    return Certification(*found) if found is not None else None


def tool(reader: Reader, value: object, path: str) -> Tool | None:
    found = _named(reader, value, path, "tool")
    return Tool(*found) if found is not None else None


def _named(reader: Reader, value: object, path: str, kind: str) -> tuple[str, str] | None:
    """The id and name of a plain `{id, name}` catalog entry."""
    got = reader.section(value, path, ("id", "name"))
    if got is None:
        return None
    ident = got.read("id", reader.identifier)
    reader.define(kind, ident, got.at("id"))
    name = got.read("name", reader.text)
    return (ident, name) if ident is not None and name is not None else None


def part(reader: Reader, value: object, path: str) -> Part | None:
    got = reader.section(value, path, ("sku", "name", "price"))
    if got is None:
        return None
    sku = got.read("sku", reader.identifier)
    reader.define("part", sku, got.at("sku"))
    name, price = got.read("name", reader.text), got.read("price", reader.money)
    return Part(sku, name, price) if sku and name and price is not None else None


def territory(reader: Reader, value: object, path: str) -> Territory | None:
    got = reader.section(value, path, ("id", "name", "zips"))
    if got is None:
        return None
    ident = got.read("id", reader.identifier)
    reader.define("territory", ident, got.at("id"))
    name = got.read("name", reader.text)
    entries = reader.items(got.raw("zips"), got.at("zips"), "ZIP codes") if "zips" in got else []
    found = (reader.zip_code(z, f"{got.at('zips')}[{i}]") for i, z in enumerate(entries))
    zips = tuple(z for z in found if z is not None)
    for zip_code in zips:
        # Company.territory_of_zip picks the first territory listing a ZIP.
        first = reader.claims.setdefault(("zip", zip_code), (path, "territory", ident or ""))
        if first[0] != path:
            reader.warn(got.at("zips"), f"{zip_code} is also in {first[0]}, which takes precedence")
    return Territory(ident, name, zips) if ident is not None and name is not None else None


def priorities(reader: Reader, value: object) -> tuple[PriorityLevel, ...]:
    given: dict[str, PriorityLevel] = {}
    got = reader.section(value, "priorities", (), PRIORITY_IDS) if value is not None else None
    for ident in PRIORITY_IDS if got is not None else ():
        assert got is not None
        if ident not in got:
            continue
        level = reader.section(got.raw(ident), got.at(ident), ("name",), ("keywords",))
        if level is None:
            continue
        name = level.read("name", reader.text)
        keywords = (
            reader.texts(level.raw("keywords"), level.at("keywords")) if "keywords" in level else ()
        )
        if name is not None:
            given[ident] = PriorityLevel(ident, name, keywords)
    return tuple(given.get(p, PriorityLevel(p, DEFAULT_PRIORITY_NAMES[p])) for p in PRIORITY_IDS)


def contract(reader: Reader, value: object, path: str) -> Contract | None:
    got = reader.section(value, path, ("id", "name", "response_hours"))
    if got is None:
        return None
    ident = got.read("id", reader.identifier)
    reader.define("contract", ident, got.at("id"))
    name = got.read("name", reader.text)
    hours = (
        reader.section(got.raw("response_hours"), got.at("response_hours"), PRIORITY_IDS)
        if "response_hours" in got
        else None
    )
    promised: dict[str, float] = {}
    for priority in PRIORITY_IDS if hours is not None else ():
        assert hours is not None
        number = hours.read(priority, reader.number, low=0, low_open=True)
        if number is not None:
            promised[priority] = number
    return Contract(ident, name, promised) if ident is not None and name is not None else None


def auto_assign(reader: Reader, value: object) -> AutoAssign:
    base = AutoAssign()
    keys = ("priorities", "skills", "exclude_vip", "offer_timeout_minutes")
    got = reader.section(value, "auto_assign", (), keys) if value is not None else None
    if got is None:
        return base
    chosen = base.priorities
    if "priorities" in got:
        listed = reader.items(got.raw("priorities"), got.at("priorities"), "priority ids P1..P4")
        for index, item in enumerate(listed):
            if item not in PRIORITY_IDS:
                reader.expected(f"{got.at('priorities')}[{index}]", "one of P1, P2, P3, P4", item)
        chosen = tuple(p for p in PRIORITY_IDS if p in listed)
    skills: tuple[str, ...] | None = None
    if got.raw("skills") != "all" and "skills" in got:
        if isinstance(got.raw("skills"), str):
            reader.expected(got.at("skills"), "all or a list of skill ids", got.raw("skills"))
        else:
            skills = ids(reader, got.raw("skills"), got.at("skills"), "skill")
    exclude_vip = got.read("exclude_vip", reader.boolean)
    timeouts = dict(base.offer_timeout_minutes)
    limits = got.read("offer_timeout_minutes", reader.section, required=(), optional=PRIORITY_IDS)
    for priority in PRIORITY_IDS if limits is not None else ():
        assert limits is not None
        minutes = limits.read(priority, reader.integer, low=1)
        if minutes is not None:
            timeouts[priority] = minutes
    return AutoAssign(
        chosen, skills, base.exclude_vip if exclude_vip is None else exclude_vip, timeouts
    )


def assignment(reader: Reader, value: object) -> AssignmentSettings:
    base = AssignmentSettings()
    keys = ("weights", "detour_factor", "speed_kmh", "routing_url")
    got = reader.section(value, "assignment", (), keys) if value is not None else None
    if got is None:
        return base
    weights = dict(DEFAULT_WEIGHTS)
    given = got.read("weights", reader.section, required=(), optional=tuple(DEFAULT_WEIGHTS))
    for name in DEFAULT_WEIGHTS if given is not None else ():
        assert given is not None
        weight = given.read(name, reader.number, low=0)
        if weight is not None:
            weights[name] = weight
    detour = got.read("detour_factor", reader.number, low=1)
    speed = got.read("speed_kmh", reader.number, low=0, low_open=True)
    url = got.read("routing_url", reader.text)
    if url is not None and not url.startswith(("http://", "https://")):
        reader.expected(
            got.at("routing_url"), "an http:// or https:// URL of an OSRM or Valhalla server", url
        )
    return AssignmentSettings(
        weights=weights,
        detour_factor=detour if detour is not None else base.detour_factor,
        speed_kmh=speed if speed is not None else base.speed_kmh,
        routing_url=url,
    )
