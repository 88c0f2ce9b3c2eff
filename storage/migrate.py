"""Schema migrations (Alembic) for `callout db upgrade`, and the start-up checks."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS = Path(__file__).with_name("migrations")


class SchemaOutOfDate(Exception):
    pass


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    def run(connection: Connection) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, revision)

    async with engine.begin() as conn:
        await conn.run_sync(run)


async def current_revision(engine: AsyncEngine) -> str | None:
    def read(connection: Connection) -> str | None:
        return MigrationContext.configure(connection).get_current_revision()

    async with engine.connect() as conn:
        return await conn.run_sync(read)


async def check_schema(engine: AsyncEngine) -> None:
    """Refuse to run on a database whose schema is not the code's: say which command fixes it."""
    current, head = await current_revision(engine), head_revision()
    if current != head:
        state = "has no schema" if current is None else f"is at schema {current}"
        raise SchemaOutOfDate(
            f"the database {state}, the code needs {head}: run `callout db upgrade`"
        )


async def autovacuum_off(engine: AsyncEngine) -> bool:
    """Whether the database is PostgreSQL on a server that runs without autovacuum."""
    if engine.dialect.name != "postgresql":
        return False
    async with engine.connect() as conn:
        return str((await conn.execute(text("SHOW autovacuum"))).scalar_one()) == "off"


async def server_warnings(engine: AsyncEngine) -> list[str]:
    """What in the database server's settings will slow every request, for the log at start.

    PostgreSQL plans each query from table statistics that autovacuum keeps fresh. With it
    off, they stay as they were (none, for a new database), and the day read that every
    request makes joins every live offer to every booked work order."""
    if await autovacuum_off(engine):
        return [
            "PostgreSQL runs with autovacuum off: table statistics go stale and requests "
            "slow down as the database grows; turn it on (the server's default) or run "
            "ANALYZE regularly"
        ]
    return []


def autogenerate(connection: Connection, message: str) -> None:
    """Developer helper: write a new migration from the difference to `storage.tables`."""
    config = alembic_config()
    config.attributes["connection"] = connection
    command.revision(config, message=message, autogenerate=True)
