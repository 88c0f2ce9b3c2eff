"""Configuration from the environment (12-factor). A bad value stops the start with one line."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy.ext.asyncio import AsyncEngine

from dispatch.clock import MAX_SPEED
from storage.db import DEFAULT_URL, MAX_POOL_SIZE, POOL_SIZE, make_engine

Getter = Callable[[str], str | None]
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class ConfigError(Exception):
    """One line naming the variable and what was expected."""


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str = DEFAULT_URL
    database_pool_size: int = POOL_SIZE  # PostgreSQL: connections each process keeps
    public_base_url: str = "http://127.0.0.1:8080"
    telegram_bot_token: str | None = None
    telegram_webhook_secret: str | None = None
    telegram_api_base_url: str | None = None
    twilio_account_sid: str | None = None
    twilio_auth_token: str | None = None
    twilio_from_number: str | None = None
    twilio_messaging_service_sid: str | None = None
    twilio_api_base_url: str | None = None
    media_dir: Path = Path("media")
    host: str = "127.0.0.1"
    port: int = 8080
    log_level: str = "INFO"
    now: datetime | None = None  # CALLOUT_NOW: the clock starts here and runs in real time
    clock_speed: float = 1.0  # CALLOUT_CLOCK_SPEED: how many times faster than real time

    @property
    def telegram_enabled(self) -> bool:
        return self.telegram_bot_token is not None

    @property
    def twilio_enabled(self) -> bool:
        return self.twilio_account_sid is not None


def engine_for(settings: Settings) -> AsyncEngine:
    """The database engine of a long-running process (`callout serve`, `callout worker`):
    the URL and, on PostgreSQL, the pool size the settings name."""
    return make_engine(settings.database_url, pool_size=settings.database_pool_size)


def _url(name: str, value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"{name}: expected an http(s) URL, got {value!r}")
    return value.rstrip("/")


def _database_url(value: str) -> str:
    # Hosting platforms hand out postgres:// URLs; we speak asyncpg.
    for prefix in ("postgres://", "postgresql://"):
        if value.startswith(prefix):
            value = "postgresql+asyncpg://" + value[len(prefix) :]
    if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
        raise ConfigError(
            "DATABASE_URL: expected sqlite+aiosqlite:///FILE or postgresql+asyncpg://USER@HOST/DB,"
            f" got {value.split('://')[0]}://…"
        )
    return value


def settings_from_env(env: Mapping[str, str]) -> Settings:
    def get(name: str) -> str | None:
        value = env.get(name, "").strip()
        return value or None

    values: dict[str, object] = {}
    if (url := get("DATABASE_URL")) is not None:
        values["database_url"] = _database_url(url)
    if (pool := get("DATABASE_POOL_SIZE")) is not None:
        expected = f"a whole number 1-{MAX_POOL_SIZE}"
        values["database_pool_size"] = _whole("DATABASE_POOL_SIZE", pool, MAX_POOL_SIZE, expected)
    if (base := get("PUBLIC_BASE_URL")) is not None:
        values["public_base_url"] = _url("PUBLIC_BASE_URL", base)
    if (port := get("PORT")) is not None:
        values["port"] = _whole("PORT", port, 65535, "a port number 1-65535")
    if (level := get("LOG_LEVEL")) is not None:
        if level.upper() not in LOG_LEVELS:
            raise ConfigError(f"LOG_LEVEL: expected one of {', '.join(LOG_LEVELS)}, got {level!r}")
        values["log_level"] = level.upper()
    if (media := get("MEDIA_DIR")) is not None:
        values["media_dir"] = Path(media)
    if (now := get("CALLOUT_NOW")) is not None:
        try:
            parsed = datetime.fromisoformat(now)
        except ValueError:
            parsed = None
        if parsed is None or parsed.tzinfo is None:
            raise ConfigError(
                "CALLOUT_NOW: expected an ISO instant with offset (2026-11-30T07:00-06:00),"
                f" got {now!r}"
            )
        values["now"] = parsed
    if (speed := get("CALLOUT_CLOCK_SPEED")) is not None:
        values["clock_speed"] = _clock_speed(speed)
    _telegram(get, values)
    _twilio(get, values)
    return Settings(**values)  # type: ignore[arg-type]


def _whole(name: str, value: str, most: int, expected: str) -> int:
    """A whole number from 1 to `most`, in ASCII digits."""
    if not (value.isascii() and value.isdigit()) or not 1 <= int(value) <= most:
        raise ConfigError(f"{name}: expected {expected}, got {value!r}")
    return int(value)


def _clock_speed(value: str) -> float:
    try:
        speed = float(value)
    except ValueError:
        speed = 0.0
    if not 0 < speed <= MAX_SPEED:
        raise ConfigError(
            f"CALLOUT_CLOCK_SPEED: expected a number above 0 and at most {MAX_SPEED:g}"
            f" (60 runs a minute a second), got {value!r}"
        )
    return speed


def _telegram(get: Getter, values: dict[str, object]) -> None:
    token, secret = get("TELEGRAM_BOT_TOKEN"), get("TELEGRAM_WEBHOOK_SECRET")
    base = get("TELEGRAM_API_BASE_URL")
    if token is not None:
        if not re.fullmatch(r"\d+:[A-Za-z0-9_-]{20,}", token):
            raise ConfigError("TELEGRAM_BOT_TOKEN: expected the form 123456:ABC-… from @BotFather")
        if secret is None:
            raise ConfigError("TELEGRAM_WEBHOOK_SECRET: required when TELEGRAM_BOT_TOKEN is set")
        if not re.fullmatch(r"[A-Za-z0-9_-]{16,256}", secret):
            raise ConfigError(
                "TELEGRAM_WEBHOOK_SECRET: expected 16-256 characters of A-Z, a-z, 0-9, _ and -"
            )
        values.update(telegram_bot_token=token, telegram_webhook_secret=secret)
    if base is not None:
        values["telegram_api_base_url"] = _url("TELEGRAM_API_BASE_URL", base)


def _twilio(get: Getter, values: dict[str, object]) -> None:
    sid, auth = get("TWILIO_ACCOUNT_SID"), get("TWILIO_AUTH_TOKEN")
    sender, service = get("TWILIO_FROM_NUMBER"), get("TWILIO_MESSAGING_SERVICE_SID")
    if sid is not None:
        if not re.fullmatch(r"AC[0-9a-fA-F]{32}", sid):
            raise ConfigError("TWILIO_ACCOUNT_SID: expected AC followed by 32 hex digits")
        if auth is None:
            raise ConfigError("TWILIO_AUTH_TOKEN: required when TWILIO_ACCOUNT_SID is set")
        if sender is None and service is None:
            raise ConfigError(
                "TWILIO_FROM_NUMBER: required (or TWILIO_MESSAGING_SERVICE_SID)"
                " when TWILIO_ACCOUNT_SID is set"
            )
        if sender is not None and not re.fullmatch(r"\+[1-9]\d{6,14}", sender):
            raise ConfigError("TWILIO_FROM_NUMBER: expected an E.164 number like +15125550100")
        if service is not None and not re.fullmatch(r"MG[0-9a-fA-F]{32}", service):
            raise ConfigError("TWILIO_MESSAGING_SERVICE_SID: expected MG followed by 32 hex digits")
        values.update(
            twilio_account_sid=sid,
            twilio_auth_token=auth,
            twilio_from_number=sender,
            twilio_messaging_service_sid=service,
        )
    if (base := get("TWILIO_API_BASE_URL")) is not None:
        values["twilio_api_base_url"] = _url("TWILIO_API_BASE_URL", base)
