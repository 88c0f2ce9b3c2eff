"""Reading the people sections of a company file: technicians, dispatchers, customers and sites."""

from __future__ import annotations

from dispatch.company import (
    WEEKDAYS,
    CertificationGrant,
    Channel,
    Customer,
    Dispatcher,
    Equipment,
    GeoPoint,
    Leave,
    Requirements,
    Site,
    Technician,
    TimeRange,
)
from storage.company_values import (
    Fields,
    Reader,
    each,
    item_path,
    key_path,
)
from storage.zip_geocode import zip_centroid, zip_of_address

CHANNELS: tuple[Channel, ...] = ("telegram", "sms")


def requirements(value: object, path: str, reader: Reader) -> Requirements | None:
    got = reader.section(value, path, (), ("certifications", "tools", "min_level"))
    if got is None:
        return None
    certifications = ids(
        reader, got.raw("certifications"), got.at("certifications"), "certification"
    )
    tools = ids(reader, got.raw("tools"), got.at("tools"), "tool")
    level = got.read("min_level", reader.integer, low=1, high=3)
    return Requirements(certifications, tools, level if level is not None else 1)


def ids(reader: Reader, value: object, path: str, kind: str) -> tuple[str, ...]:
    """A list of references to ids of `kind` (absent: empty)."""
    if value is None:
        return ()
    found: list[str] = []
    for index, item in enumerate(reader.items(value, path, f"{kind} ids")):
        at = item_path(path, index)
        ident = reader.identifier(item, at)
        if ident is not None and ident in found:
            reader.problem(at, f"{kind} {ident!r} is listed twice")
        elif ident is not None:
            found.append(ident)
            reader.ref(kind, ident, at, f"{kind_section(kind)}")
    return tuple(found)


def kind_section(kind: str) -> str:
    return {"part": "parts (sku)", "territory": "territories"}.get(kind, kind + "s")


def technicians(reader: Reader, value: object) -> tuple[Technician, ...]:
    return each(reader, value, "technicians", "technicians", _technician)


def dispatchers(reader: Reader, value: object) -> tuple[Dispatcher, ...]:
    return each(reader, value, "dispatchers", "dispatchers", _dispatcher)


def customers(reader: Reader, value: object, geocoded: list[str]) -> tuple[Customer, ...]:
    def one(reader: Reader, node: object, path: str) -> Customer | None:
        return _customer(reader, node, path, geocoded)

    return each(reader, value, "customers", "customers", one)


_TECHNICIAN_KEYS = (
    "telegram",
    "prefers",
    "skills",
    "certifications",
    "tools",
    "van_stock",
    "territories",
    "home",
    "shifts",
    "leave",
    "max_jobs_per_day",
)


def _technician(reader: Reader, node: object, path: str) -> Technician | None:
    got = reader.section(node, path, ("id", "name", "phone"), _TECHNICIAN_KEYS)
    if got is None:
        return None
    ident = got.read("id", reader.identifier)
    reader.define("technician", ident, got.at("id"))
    name = got.read("name", reader.text)
    phone = got.read("phone", reader.phone)
    telegram = got.read("telegram", reader.telegram)
    prefers = _channel(reader, got)
    skills = _levels(reader, got.raw("skills"), got.at("skills"), "skill", 1, 3, "a level 1..3")
    grants = _grants(reader, got.raw("certifications"), got.at("certifications"))
    tools = ids(reader, got.raw("tools"), got.at("tools"), "tool")
    stock = _levels(reader, got.raw("van_stock"), got.at("van_stock"), "part", 0, None, "a count")
    territories = ids(reader, got.raw("territories"), got.at("territories"), "territory")
    home = got.read("home", _home, reader=reader)
    shifts = _shifts(reader, got.raw("shifts"), got.at("shifts"))
    leave = _leave(reader, got.raw("leave"), got.at("leave"))
    max_jobs = got.read("max_jobs_per_day", reader.integer, low=1)
    _claim_staff(reader, got, "technician", name, phone, telegram)
    if ident is None or name is None or phone is None:
        return None
    return Technician(
        id=ident,
        name=name,
        phone=phone,
        telegram=telegram,
        prefers=prefers,
        skills=skills,
        certifications=grants,
        tools=tools,
        van_stock=stock,
        territories=territories,
        home=home,
        shifts=shifts,
        leave=leave,
        max_jobs_per_day=max_jobs if max_jobs is not None else 8,
    )


def _channel(reader: Reader, got: Fields) -> Channel:
    value = got.raw("prefers")
    for channel in CHANNELS:
        if value == channel:
            return channel
    if "prefers" in got:
        reader.expected(got.at("prefers"), "telegram or sms", value)
    return "sms"


def _levels(
    reader: Reader, value: object, path: str, kind: str, low: int, high: int | None, form: str
) -> dict[str, int]:
    """A mapping from ids of `kind` to whole numbers (skill levels, van stock counts)."""
    if value is None:
        return {}
    node = reader.mapping(value, path, f"a mapping of {kind} id to {form}")
    found: dict[str, int] = {}
    for key, amount in (node or {}).items():
        at = key_path(path, str(key))
        ident = reader.identifier(key, at)
        number = reader.integer(amount, at, low=low, high=high)
        reader.ref(kind, ident, at, kind_section(kind))
        if ident is not None and number is not None:
            found[ident] = number
    return found


def _grants(reader: Reader, value: object, path: str) -> tuple[CertificationGrant, ...]:
    if value is None:
        return ()
    found: list[CertificationGrant] = []
    for index, item in enumerate(reader.items(value, path, "{id, expires} certifications")):
        at = item_path(path, index)
        if isinstance(item, str):  # a bare id: held with no expiry date
            ident, expires = reader.identifier(item, at), None
        else:
            got = reader.section(item, at, ("id",), ("expires",))
            if got is None:
                continue
            ident, expires = got.read("id", reader.identifier), got.read("expires", reader.day)
        reader.ref(
            "certification",
            ident,
            at if isinstance(item, str) else key_path(at, "id"),
            "certifications",
        )
        if ident is not None and any(grant.id == ident for grant in found):
            reader.problem(at, f"certification {ident!r} is listed twice")
        elif ident is not None:
            found.append(CertificationGrant(ident, expires))
    return tuple(found)


def _home(value: object, path: str, reader: Reader) -> GeoPoint | None:
    got = reader.section(value, path, ("lat", "lon"))
    return None if got is None else reader.point(got.present, path)[1]


def _shifts(reader: Reader, value: object, path: str) -> dict[str, TimeRange]:
    if value is None:
        return {}
    node = reader.mapping(value, path, 'a mapping of weekday (mon..sun) to "HH:MM-HH:MM"')
    found: dict[str, TimeRange] = {}
    for day, span in (node or {}).items():
        at = key_path(path, str(day))
        if not isinstance(day, str) or day not in WEEKDAYS:
            reader.problem(at, f"unknown weekday (expected one of: {', '.join(WEEKDAYS)})")
            continue
        hours = reader.time_range(span, at)
        if hours is not None:
            found[day] = hours
    return found


def _leave(reader: Reader, value: object, path: str) -> tuple[Leave, ...]:
    if value is None:
        return ()
    found: list[Leave] = []
    for index, item in enumerate(reader.items(value, path, "{from, to, reason} leave periods")):
        at = item_path(path, index)
        got = reader.section(item, at, ("from", "to"), ("reason",))
        if got is None:
            continue
        start, end = got.read("from", reader.day), got.read("to", reader.day)
        reason = got.read("reason", reader.text)
        if start is not None and end is not None:
            if start > end:
                reader.problem(at, f"from {start} is after to {end} (expected from <= to)")
            else:
                found.append(Leave(start, end, reason or ""))
    return tuple(found)


def _dispatcher(reader: Reader, node: object, path: str) -> Dispatcher | None:
    got = reader.section(node, path, ("id", "name", "phone"), ("telegram",))
    if got is None:
        return None
    ident = got.read("id", reader.identifier)
    reader.define("dispatcher", ident, got.at("id"))
    name, phone = got.read("name", reader.text), got.read("phone", reader.phone)
    telegram = got.read("telegram", reader.telegram)
    _claim_staff(reader, got, "dispatcher", name, phone, telegram)
    if ident is None or name is None or phone is None:
        return None
    return Dispatcher(ident, name, phone, telegram)


def _claim_staff(
    reader: Reader,
    got: Fields,
    kind: str,
    name: str | None,
    phone: str | None,
    telegram: str | None,
) -> None:
    """Staff are recognised by phone and Telegram username, so each must point at one person.

    A technician who also dispatches is listed in both sections with the same name and phone.
    """
    for key, value in (("phone", phone), ("telegram", telegram.casefold() if telegram else None)):
        if value is None or name is None:
            continue
        first = reader.claims.get((key, value))
        if first is None:
            reader.claims[(key, value)] = (got.at(key), kind, name)
            continue
        first_path, first_kind, first_name = first
        if first_kind == kind:
            reader.problem(
                got.at(key),
                f"{value} is already used by {first_name} ({first_path}); expected one per {kind}",
            )
        elif _simple(first_name) != _simple(name):
            reader.problem(
                got.at(key),
                f"{value} is already {first_name}'s ({first_path}); a technician and a "
                "dispatcher may share it only when they are the same person (same name)",
            )


def _simple(name: str) -> str:
    return " ".join(name.split()).casefold()


_CUSTOMER_KEYS = (
    "phone",
    "email",
    "vip",
    "contract",
    "preferred_technicians",
    "excluded_technicians",
    "sites",
)


def _customer(reader: Reader, node: object, path: str, geocoded: list[str]) -> Customer | None:
    got = reader.section(node, path, ("id", "name"), _CUSTOMER_KEYS)
    if got is None:
        return None
    ident = got.read("id", reader.identifier)
    reader.define("customer", ident, got.at("id"))
    name = got.read("name", reader.text)
    phone, email = got.read("phone", reader.phone), got.read("email", reader.email)
    if phone is not None and name is not None:
        # Inbound messages find their customer by phone; a shared phone makes that a guess.
        first = reader.claims.setdefault(("phone", phone), (got.at("phone"), "customer", name))
        if first[0] != got.at("phone"):
            reader.warn(got.at("phone"), f"{phone} is also {first[2]}'s ({first[0]})")
    vip = got.read("vip", reader.boolean)
    contract = got.read("contract", reader.identifier)
    reader.ref("contract", contract, got.at("contract"), "contracts")
    preferred = ids(
        reader, got.raw("preferred_technicians"), got.at("preferred_technicians"), "technician"
    )
    excluded = ids(
        reader, got.raw("excluded_technicians"), got.at("excluded_technicians"), "technician"
    )
    for both in sorted(set(preferred) & set(excluded)):
        reader.problem(got.at("excluded_technicians"), f"technician {both!r} is also preferred")

    def one(reader: Reader, item: object, at: str) -> Site | None:
        return _site(reader, item, at, geocoded)

    sites = each(reader, got.raw("sites"), got.at("sites"), "sites", one)
    if ident is None or name is None:
        return None
    return Customer(ident, name, phone, email, bool(vip), contract, preferred, excluded, sites)


_SITE_KEYS = ("name", "lat", "lon", "access_window", "access_notes", "safety_notes", "equipment")


def _site(reader: Reader, node: object, path: str, geocoded: list[str]) -> Site | None:
    got = reader.section(node, path, ("id", "address"), _SITE_KEYS)
    if got is None:
        return None
    ident = got.read("id", reader.identifier)
    reader.define("site", ident, got.at("id"))
    address = got.read("address", reader.text)
    zip_code = zip_of_address(address) if address is not None else None
    if (
        zip_code is not None
        and reader.ids.get("territory")
        and ("zip", zip_code) not in reader.claims
    ):
        reader.warn(path, f"ZIP {zip_code} is in no territory")
    given, location = reader.point(got.present, path)
    if not given and address is not None:
        location = place_by_zip(reader, zip_code, path, "site")
        if location is not None and ident is not None:
            geocoded.append(ident)
    site = Site(
        id=ident or "",
        address=address or "",
        name=got.read("name", reader.text),
        zip=zip_code,
        location=location,
        geocoded_from_zip=not given,
        access_window=got.read("access_window", reader.time_range),
        access_notes=got.read("access_notes", reader.text),
        safety_notes=got.read("safety_notes", reader.text),
        equipment=each(reader, got.raw("equipment"), got.at("equipment"), "equipment", _equipment),
    )
    return site if ident is not None and address is not None else None


def place_by_zip(reader: Reader, zip_code: str | None, path: str, what: str) -> GeoPoint | None:
    """The ZIP centroid for a place given without lat/lon, or a problem saying how to fix it."""
    if zip_code is None:
        reader.problem(
            path,
            f"{what} has no lat/lon and its address does not end with a 5-digit ZIP code; "
            "add lat and lon or the ZIP",
        )
        return None
    location = zip_centroid(zip_code)
    if location is None:
        reader.problem(path, f"unknown US ZIP code {zip_code!r}; add lat and lon")
    return location


_EQUIPMENT_KEYS = (
    "skill",
    "make",
    "model",
    "serial",
    "installed",
    "pm_interval_days",
    "last_pm",
    "requires",
)


def _equipment(reader: Reader, node: object, path: str) -> Equipment | None:
    got = reader.section(node, path, ("id", "type"), _EQUIPMENT_KEYS)
    if got is None:
        return None
    ident = got.read("id", reader.identifier)
    reader.define("equipment", ident, got.at("id"))
    kind = got.read("type", reader.text)
    skill = got.read("skill", reader.identifier)
    reader.ref("skill", skill, got.at("skill"), "skills")
    installed, last_pm = got.read("installed", reader.day), got.read("last_pm", reader.day)
    if installed is not None and last_pm is not None and last_pm < installed:
        reader.warn(got.at("last_pm"), f"{last_pm} is before installed {installed}")
    item = Equipment(
        id=ident or "",
        type=kind or "",
        skill=skill,
        make=got.read("make", reader.text, numbers_ok=True),
        model=got.read("model", reader.text, numbers_ok=True),
        serial=got.read("serial", reader.text, numbers_ok=True),
        installed=installed,
        pm_interval_days=got.read("pm_interval_days", reader.integer, low=1),
        last_pm=last_pm,
        requires=got.read("requires", requirements, reader=reader) or Requirements(),
    )
    return item if ident is not None and kind is not None else None
