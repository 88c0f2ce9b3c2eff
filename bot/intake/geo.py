"""US ZIP codes: whether one is real, its city and its centroid (the `zipcodes` data, cached)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import zipcodes

from dispatch.company import GeoPoint

_matching: Callable[[str], list[dict[str, Any]]] = zipcodes.matching
_similar_to: Callable[[str], list[dict[str, Any]]] = zipcodes.similar_to

# Which five-digit numbers are ZIP codes, a bit each (bit n of byte n // 8: n is one): 12.5 KB
# made from the `zipcodes` table by `write_real_zips`, after a line naming the version of
# `zipcodes` it was made from. `zipcodes` searches its 42,789 codes one by one for any
# number it is asked about, about 0.2 ms each; a text with an order number, an amount or a
# reference of five digits would pay that for a number that is no ZIP, at every new one.
# Under another version of `zipcodes` the bitmap is made afresh at first use (about half a
# second) rather than trusted.
REAL_ZIPS = Path(__file__).with_name("real_zips.bin")
_ZIP_SPACE = 100_000
_MADE_FROM = f"zipcodes {getattr(zipcodes, '__version__', '?')}".encode()


def real_zips_bitmap() -> bytes:
    """The bitmap from the `zipcodes` table itself, a first digit at a time (its rows for
    all of them at once would take some 40 MB for a moment)."""
    bits = bytearray(_ZIP_SPACE // 8)
    for digit in "0123456789":
        for row in _similar_to(digit):
            code = str(row.get("zip_code", ""))
            if len(code) == 5 and code.isdigit():
                n = int(code)
                bits[n >> 3] |= 1 << (n & 7)
    return bytes(bits)


@lru_cache(maxsize=1)
def _real_zips() -> bytes:
    made_from, _, bits = REAL_ZIPS.read_bytes().partition(b"\n")
    if made_from == _MADE_FROM and len(bits) == _ZIP_SPACE // 8:
        return bits
    return real_zips_bitmap()


def is_real_zip(zip_code: str) -> bool:
    """Whether five digits are a real ZIP code, without searching the `zipcodes` table."""
    if len(zip_code) != 5 or not (zip_code.isascii() and zip_code.isdigit()):
        return False
    n = int(zip_code)
    return bool(_real_zips()[n >> 3] >> (n & 7) & 1)


@dataclass(frozen=True, slots=True)
class ZipInfo:
    zip: str
    city: str
    state: str
    centroid: GeoPoint | None


@lru_cache(maxsize=4096)
def zip_info(zip_code: str) -> ZipInfo | None:
    if not is_real_zip(zip_code):
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


def write_real_zips() -> None:
    """After an upgrade of `zipcodes`."""
    REAL_ZIPS.write_bytes(_MADE_FROM + b"\n" + real_zips_bitmap())
