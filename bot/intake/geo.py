"""US ZIP codes: whether one is real, its city and its centroid (the `zipcodes` data, cached)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import zipcodes

from dispatch.company import GeoPoint

_matching: Callable[[str], list[dict[str, Any]]] = zipcodes.matching


@dataclass(frozen=True, slots=True)
class ZipInfo:
    zip: str
    city: str
    state: str
    centroid: GeoPoint | None


@lru_cache(maxsize=4096)
def zip_info(zip_code: str) -> ZipInfo | None:
    if len(zip_code) != 5 or not zip_code.isdigit():
        return None
    try:
        rows = _matching(zip_code)
    except (ValueError, TypeError):
        return None
    for row in rows:
        centroid: GeoPoint | None
        try:
            centroid = GeoPoint(float(row["lat"]), float(row["long"]))
        except (KeyError, TypeError, ValueError):
            centroid = None
        return ZipInfo(zip_code, str(row.get("city", "")), str(row.get("state", "")), centroid)
    return None


def zip_centroid(zip_code: str) -> GeoPoint | None:
    info = zip_info(zip_code)
    return info.centroid if info else None
