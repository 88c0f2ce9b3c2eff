"""Schema migrations (Alembic) for `callout db upgrade`, and the start-up schema check."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
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


def autogenerate(connection: Connection, message: str) -> None:
    """Developer helper: write a new migration from the difference to `storage.tables`."""
    config = alembic_config()
    config.attributes["connection"] = connection
    command.revision(config, message=message, autogenerate=True)
