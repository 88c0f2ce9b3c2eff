"""API tokens: handed out once, stored only as a SHA-256 hash."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.tables import ApiTokenRow

ROLES = ("admin", "dispatcher", "technician")


@dataclass(frozen=True, slots=True)
class TokenHolder:
    name: str
    role: str
    party_id: str | None


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class TokenRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def create(
        self,
        name: str,
        now: datetime,
        *,
        role: str = "admin",
        party_id: str | None = None,
        expires_at: datetime | None = None,
    ) -> str:
        if role not in ROLES:
            raise ValueError(f"role must be one of {', '.join(ROLES)}")
        token = "co_" + secrets.token_urlsafe(32)
        self.session.add(
            ApiTokenRow(
                name=name,
                token_hash=hash_token(token),
                role=role,
                party_id=party_id,
                created_at=now,
                expires_at=expires_at,
            )
        )
        await self.session.flush()
        return token

    async def check(self, token: str, now: datetime) -> TokenHolder | None:
        row = (
            await self.session.scalars(
                select(ApiTokenRow).where(ApiTokenRow.token_hash == hash_token(token))
            )
        ).first()
        if row is None or row.revoked_at is not None:
            return None
        if row.expires_at is not None and row.expires_at <= now:
            return None
        return TokenHolder(name=row.name, role=row.role, party_id=row.party_id)
