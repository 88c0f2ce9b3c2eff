"""Configuration from the environment: a bad value stops the start with one line naming it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.pool import QueuePool

from dispatch.clock import StartedClock, SystemClock
from storage.db import POOL_SIZE
from webhooks.app import make_clock
from webhooks.config import ConfigError, engine_for, settings_from_env

GOOD_TWILIO = {
    "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
    "TWILIO_AUTH_TOKEN": "secret",
    "TWILIO_FROM_NUMBER": "+15125550100",
}
GOOD_TELEGRAM = {
    "TELEGRAM_BOT_TOKEN": "123456:" + "A" * 35,
    "TELEGRAM_WEBHOOK_SECRET": "s" * 32,
}


def test_defaults_need_no_environment() -> None:
    settings = settings_from_env({})
    assert settings.database_url == "sqlite+aiosqlite:///callout.db"
    assert settings.port == 8080
    assert settings.database_pool_size == POOL_SIZE
    assert not settings.telegram_enabled
    assert not settings.twilio_enabled


def test_values_are_read() -> None:
    settings = settings_from_env(
        {
            "DATABASE_URL": "postgres://u@db/x",
            "DATABASE_POOL_SIZE": "12",
            "PUBLIC_BASE_URL": "https://callout.example/",
            "PORT": "9000",
            "LOG_LEVEL": "debug",
            "MEDIA_DIR": "/tmp/m",
            "CALLOUT_NOW": "2026-11-30T07:00:00-06:00",
            **GOOD_TWILIO,
            **GOOD_TELEGRAM,
        }
    )
    assert settings.database_url == "postgresql+asyncpg://u@db/x"
    assert settings.database_pool_size == 12
    assert settings.public_base_url == "https://callout.example"
    assert settings.port == 9000
    assert settings.log_level == "DEBUG"
    assert settings.media_dir == Path("/tmp/m")
    assert settings.now == datetime(2026, 11, 30, 13, 0, tzinfo=UTC)
    assert settings.twilio_enabled
    assert settings.telegram_enabled


def test_web_and_worker_build_the_same_clock_from_the_settings() -> None:
    """`callout worker` and `callout serve` both call make_clock: a sped-up trial clock runs
    at the same speed in both processes."""
    fast = make_clock(
        settings_from_env({"CALLOUT_NOW": "2026-11-30T07:00:00-06:00", "CALLOUT_CLOCK_SPEED": "60"})
    )
    assert isinstance(fast, StartedClock) and fast.speed == 60
    assert fast.start == datetime(2026, 11, 30, 13, 0, tzinfo=UTC)
    assert isinstance(make_clock(settings_from_env({})), SystemClock)


@pytest.mark.parametrize(
    ("env", "name"),
    [
        ({"DATABASE_URL": "mysql://x"}, "DATABASE_URL"),
        ({"DATABASE_POOL_SIZE": "0"}, "DATABASE_POOL_SIZE"),
        ({"DATABASE_POOL_SIZE": "six"}, "DATABASE_POOL_SIZE"),
        ({"DATABASE_POOL_SIZE": "1000"}, "DATABASE_POOL_SIZE"),
        ({"PUBLIC_BASE_URL": "callout.example"}, "PUBLIC_BASE_URL"),
        ({"PORT": "eighty"}, "PORT"),
        ({"PORT": "70000"}, "PORT"),
        ({"LOG_LEVEL": "loud"}, "LOG_LEVEL"),
        ({"CALLOUT_NOW": "tomorrow"}, "CALLOUT_NOW"),
        ({"CALLOUT_NOW": "2026-11-30T07:00"}, "CALLOUT_NOW"),
        ({"TELEGRAM_BOT_TOKEN": "nope", "TELEGRAM_WEBHOOK_SECRET": "s" * 32}, "TELEGRAM_BOT_TOKEN"),
        ({"TELEGRAM_BOT_TOKEN": GOOD_TELEGRAM["TELEGRAM_BOT_TOKEN"]}, "TELEGRAM_WEBHOOK_SECRET"),
        ({**GOOD_TELEGRAM, "TELEGRAM_WEBHOOK_SECRET": "short"}, "TELEGRAM_WEBHOOK_SECRET"),
        ({"TELEGRAM_API_BASE_URL": "ftp://x"}, "TELEGRAM_API_BASE_URL"),
        ({**GOOD_TWILIO, "TWILIO_ACCOUNT_SID": "AC123"}, "TWILIO_ACCOUNT_SID"),
        ({**GOOD_TWILIO, "TWILIO_AUTH_TOKEN": ""}, "TWILIO_AUTH_TOKEN"),
        ({**GOOD_TWILIO, "TWILIO_FROM_NUMBER": ""}, "TWILIO_FROM_NUMBER"),
        ({**GOOD_TWILIO, "TWILIO_FROM_NUMBER": "5125550100"}, "TWILIO_FROM_NUMBER"),
        ({"TWILIO_API_BASE_URL": "localhost:1234"}, "TWILIO_API_BASE_URL"),
    ],
)
def test_bad_values_name_the_variable_in_one_line(env: dict[str, str], name: str) -> None:
    with pytest.raises(ConfigError) as err:
        settings_from_env(env)
    message = str(err.value)
    assert message.startswith(f"{name}: ")
    assert "\n" not in message


async def test_the_processes_engine_keeps_the_pool_the_settings_name() -> None:
    """`callout serve` and `callout worker` both build their engine with engine_for: on
    PostgreSQL with DATABASE_POOL_SIZE connections (no connection is opened here)."""
    url = "postgresql+asyncpg://callout@127.0.0.1:5432/callout"
    engine = engine_for(settings_from_env({"DATABASE_URL": url, "DATABASE_POOL_SIZE": "3"}))
    try:
        assert isinstance(engine.pool, QueuePool) and engine.pool.size() == 3
    finally:
        await engine.dispose()
