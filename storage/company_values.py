"""Reading single values of a company file: problems with their key paths, and one reader per form.

Every reader records a problem (path + expected form) and returns None instead of raising, so
one pass over the file reports everything that is wrong with it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from dispatch.company import GeoPoint, TimeRange
from storage.phones import normalize_phone

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Problem:
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


def key_path(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def item_path(path: str, index: int) -> str:
    return f"{path}[{index}]"


def describe(value: object) -> str:
    """How a wrong value is named in a message, so the user can find it."""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return f"{str(value).lower()} (a boolean; quote it if you meant text)"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 60 else text[:57] + "..."


_TIME_RANGE = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TELEGRAM = re.compile(r"^[A-Za-z0-9_]{5,32}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_ZIP5 = re.compile(r"^\d{5}$")


class Reader:
    """Collects problems and warnings while values are read."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.warnings: list[str] = []
        self.ids: dict[str, dict[str, str]] = {}  # kind -> id -> path where it was defined
        self._refs: list[tuple[str, str, str, str]] = []  # kind, id, path, list name
        # (namespace, value) -> (path, kind of owner, owner name): phones, usernames, ZIPs.
        self.claims: dict[tuple[str, str], tuple[str, str, str]] = {}

    def define(self, kind: str, value: str | None, path: str) -> None:
        """Record an id of `kind`; ids are unique per kind across the whole file."""
        if value is None:
            return
        known = self.ids.setdefault(kind, {})
        if value in known:
            self.problem(path, f"duplicate {kind} id {value!r} (first at {known[value]})")
        else:
            known[value] = path

    def ref(self, kind: str, value: str | None, path: str, section: str) -> None:
        """Note a reference, checked by resolve() once every section has been read."""
        if value is not None:
            self._refs.append((kind, value, path, section))

    def resolve(self) -> None:
        for kind, value, path, section in self._refs:
            known = self.ids.get(kind, {})
            if value not in known:
                listing = ", ".join(list(known)[:12]) + (", ..." if len(known) > 12 else "")
                hint = f"one of: {listing}" if known else "none are defined"
                self.problem(
                    path, f"unknown {kind} {value!r} (expected an id from {section}; {hint})"
                )

    def problem(self, path: str, message: str) -> None:
        self.problems.append(Problem(path, message))

    def warn(self, path: str, message: str) -> None:
        self.warnings.append(str(Problem(path, message)))

    def expected(self, path: str, form: str, value: object) -> None:
        self.problem(path, f"expected {form}, got {describe(value)}")

    # --- structure -------------------------------------------------------------------------

    def section(
        self,
        node: object,
        path: str,
        required: Collection[str],
        optional: Collection[str] = (),
        what: str = "a mapping",
    ) -> Fields | None:
        present = self.fields(node, path, required, optional, what)
        return None if present is None else Fields(self, present, path)

    def fields(
        self,
        node: object,
        path: str,
        required: Collection[str],
        optional: Collection[str] = (),
        what: str = "a mapping",
    ) -> dict[str, object] | None:
        """The keys of a mapping that are present and not null, after checking the key set."""
        if not isinstance(node, Mapping):
            self.expected(path, f"{what} with keys {', '.join([*required, *optional])}", node)
            return None
        allowed = [*required, *optional]
        present: dict[str, object] = {}
        for key, value in node.items():
            if not isinstance(key, str) or key not in allowed:
                self.problem(
                    key_path(path, str(key)), f"unknown key (expected one of: {', '.join(allowed)})"
                )
            elif value is not None:
                present[key] = value
        for key in required:
            if key not in present:
                state = "has no value" if key in node else "is missing"
                self.problem(key_path(path, key), f"required key {state}")
        return present

    def mapping(self, node: object, path: str, what: str) -> Mapping[object, object] | None:
        if isinstance(node, Mapping):
            return node
        self.expected(path, what, node)
        return None

    def items(self, node: object, path: str, what: str) -> list[object]:
        if isinstance(node, list | tuple):
            return list(node)
        self.expected(path, f"a list of {what}", node)
        return []

    # --- scalars ---------------------------------------------------------------------------

    def text(self, value: object, path: str, *, numbers_ok: bool = False) -> str | None:
        if isinstance(value, str) and value.strip():
            return value.strip()
        if numbers_ok and isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
        self.expected(path, "non-empty text", value)
        return None

    def texts(self, value: object, path: str) -> tuple[str, ...]:
        found = (
            self.text(v, item_path(path, i)) for i, v in enumerate(self.items(value, path, "text"))
        )
        return tuple(v for v in found if v is not None)

    def identifier(self, value: object, path: str) -> str | None:
        if isinstance(value, str) and value.strip() and value.strip() == value:
            return value
        self.expected(path, "an id (text without surrounding spaces; quote numbers)", value)
        return None

    def boolean(self, value: object, path: str) -> bool | None:
        if isinstance(value, bool):
            return value
        self.expected(path, "true or false", value)
        return None

    def integer(self, value: object, path: str, *, low: int, high: int | None = None) -> int | None:
        if (
            isinstance(value, int)
            and not isinstance(value, bool)
            and value >= low
            and (high is None or value <= high)
        ):
            return value
        form = (
            f"a whole number from {low} to {high}"
            if high is not None
            else f"a whole number ≥ {low}"
        )
        self.expected(path, form, value)
        return None

    def number(
        self,
        value: object,
        path: str,
        *,
        low: float,
        high: float | None = None,
        low_open: bool = False,
        high_open: bool = False,
    ) -> float | None:
        if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
            number = float(value)
            above = number > low if low_open else number >= low
            below = high is None or (number < high if high_open else number <= high)
            if above and below:
                return number
        lower = f"{'>' if low_open else '≥'} {low:g}"
        form = (
            f"a number {lower}"
            if high is None
            else f"a number {lower} and {'<' if high_open else '≤'} {high:g}"
        )
        self.expected(path, form, value)
        return None

    def money(
        self, value: object, path: str, *, low: str = "0", below: str | None = None
    ) -> Decimal | None:
        amount: Decimal | None = None
        if isinstance(value, int | float) and not isinstance(value, bool):
            amount = Decimal(str(value))
        elif isinstance(value, str):
            try:
                amount = Decimal(value.strip())
            except InvalidOperation:
                amount = None
        if (
            amount is not None
            and amount.is_finite()
            and amount >= Decimal(low)
            and (below is None or amount < Decimal(below))
        ):
            return amount
        form = f"a number ≥ {low}" + (f" and < {below}" if below is not None else "")
        self.expected(path, form, value)
        return None

    def day(self, value: object, path: str) -> date | None:
        if isinstance(value, date) and not isinstance(value, datetime):
            return value
        if isinstance(value, str) and _ISO_DATE.match(value.strip()):
            try:
                return date.fromisoformat(value.strip())
            except ValueError:
                pass
        self.expected(path, "a date YYYY-MM-DD", value)
        return None

    def time_range(self, value: object, path: str) -> TimeRange | None:
        form = 'a time range "HH:MM-HH:MM" (24-hour, quoted)'
        match = _TIME_RANGE.match(value) if isinstance(value, str) else None
        if match is None:
            self.expected(path, form, value)
            return None
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        if h1 > 23 or h2 > 23 or m1 > 59 or m2 > 59:
            self.expected(path, form + " with real times of day", value)
            return None
        start, end = time(h1, m1), time(h2, m2)
        if start >= end:
            self.problem(
                path, f"start {start:%H:%M} must be before end {end:%H:%M} (got {value!r})"
            )
            return None
        return TimeRange(start, end)

    def phone(self, value: object, path: str) -> str | None:
        """E.164 form of a phone number written any common way (US when no country code)."""
        raw = str(value) if isinstance(value, int) and not isinstance(value, bool) else value
        if isinstance(raw, str) and (e164 := normalize_phone(raw)) is not None:
            return e164
        self.expected(
            path, 'a valid phone number such as "(512) 555-0101" or "+15125550101"', value
        )
        return None

    def telegram(self, value: object, path: str) -> str | None:
        name = value.strip().removeprefix("@") if isinstance(value, str) else None
        if name is not None and _TELEGRAM.match(name):
            return name
        self.expected(
            path, "a Telegram username: 5-32 letters, digits or _ (a leading @ is fine)", value
        )
        return None

    def email(self, value: object, path: str) -> str | None:
        if isinstance(value, str) and _EMAIL.match(value.strip()):
            return value.strip()
        self.expected(path, "an e-mail address like name@example.com", value)
        return None

    def zip_code(self, value: object, path: str) -> str | None:
        if isinstance(value, str) and _ZIP5.match(value.strip()):
            return value.strip()
        # An unquoted ZIP without a leading zero reads as an int and is still unambiguous.
        if isinstance(value, int) and not isinstance(value, bool) and 10000 <= value <= 99999:
            return str(value)
        self.expected(path, 'a 5-digit ZIP code in quotes, such as "78701"', value)
        return None

    def point(self, present: Mapping[str, object], path: str) -> tuple[bool, GeoPoint | None]:
        """(coordinates were given, the point when they are valid) from optional lat/lon keys."""
        has_lat, has_lon = "lat" in present, "lon" in present
        if not has_lat and not has_lon:
            return False, None
        if has_lat != has_lon:
            missing, given = ("lon", "lat") if has_lat else ("lat", "lon")
            self.problem(
                key_path(path, missing), f"required when {given} is given (both or neither)"
            )
            return True, None
        lat = self.number(present["lat"], key_path(path, "lat"), low=-90, high=90)
        lon = self.number(present["lon"], key_path(path, "lon"), low=-180, high=180)
        if lat is None or lon is None:
            return True, None
        return True, GeoPoint(lat, lon)


def each(
    reader: Reader,
    value: object,
    path: str,
    what: str,
    read: Callable[[Reader, object, str], T | None],
) -> tuple[T, ...]:
    """The valid entries of an optional list section, each read at its own index path."""
    if value is None:
        return ()
    entries = reader.items(value, path, what)
    found = (read(reader, item, item_path(path, index)) for index, item in enumerate(entries))
    return tuple(item for item in found if item is not None)


class Fields:
    """The present keys of one mapping in the file, read each with a Reader method."""

    def __init__(self, reader: Reader, present: dict[str, object], path: str) -> None:
        self.reader = reader
        self.present = present
        self.path = path

    def __contains__(self, key: str) -> bool:
        return key in self.present

    def at(self, key: str) -> str:
        return key_path(self.path, key)

    def raw(self, key: str) -> object:
        return self.present.get(key)

    def read(self, key: str, read: Callable[..., T | None], **options: Any) -> T | None:
        """`read(value, path, **options)` when the key is present, else None."""
        if key not in self.present:
            return None
        return read(self.present[key], self.at(key), **options)
