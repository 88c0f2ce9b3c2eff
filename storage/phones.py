"""Phone numbers: any common form in, E.164 out (phonenumbers, default region US)."""

from __future__ import annotations

import re
from functools import lru_cache

import phonenumbers

# 555-0100..555-0199 are reserved for fiction in the North American plan; demos and tests use
# them. Today's phonenumbers accepts them, but should its metadata start rejecting them they
# still pass when otherwise possible.
_FICTIONAL = re.compile(r"^\+1\d{3}55501\d\d$")


@lru_cache(maxsize=4096)  # pure, and the same few numbers write again and again
def normalize_phone(text: str, region: str = "US") -> str | None:
    """E.164 for a valid (or fictional 555-01xx) number, None for anything else."""
    if not text or len(text) > 40:
        return None
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    if phonenumbers.is_valid_number(number):
        return e164
    if phonenumbers.is_possible_number(number) and _FICTIONAL.match(e164):
        return e164
    return None
