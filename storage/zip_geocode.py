"""US ZIP codes: finding one at the end of an address, and its centroid (the `zipcodes` data)."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import zipcodes

from dispatch.company import GeoPoint

# The ZIP is the last thing in a US address, possibly followed by the country.
_TRAILING_ZIP = re.compile(r"\b(\d{5})(?:-\d{4})?\b\s*(?:,?\s*(?:USA|US|United States))?\s*$")

_matching: Callable[[str], list[dict[str, Any]]] = zipcodes.matching


def zip_of_address(address: str) -> str | None:
    match = _TRAILING_ZIP.search(address)
    return match.group(1) if match else None


@lru_cache(maxsize=4096)  # zipcodes scans its whole table on every lookup (~50 ms)
def zip_centroid(zip_code: str) -> GeoPoint | None:
    try:
        rows = _matching(zip_code)
    except (ValueError, TypeError):
        return None
    for row in rows:
        try:
            return GeoPoint(float(row["lat"]), float(row["long"]))
        except (KeyError, TypeError, ValueError):
            continue
    return None
