"""An offer of one job to one technician, live until answered or expired."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

OFFER_STATUSES = ("live", "accepted", "declined", "expired", "withdrawn")


@dataclass(frozen=True, slots=True)
class Offer:
    id: int
    seq: int
    technician_id: str
    status: str
    created_at: datetime
    expires_at: datetime
