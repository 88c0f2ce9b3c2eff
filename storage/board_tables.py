"""Tables for the web board (§8): one-time login links and browser sessions, both stored hashed."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from storage.tables import Base


class BoardLinkRow(Base):
    """A one-time login link sent by `/boardlink`: single use, short-lived."""

    __tablename__ = "board_links"
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    dispatcher_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class BoardSessionRow(Base):
    """A logged-in browser: the cookie holds the id, the database only its hash."""

    __tablename__ = "board_sessions"
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    session_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))  # admin | dispatcher
    party_id: Mapped[str | None] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)
