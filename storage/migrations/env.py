"""Alembic environment: runs on the connection `storage.migrate` hands it (async engines)."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

import storage.billing_tables
import storage.board_tables  # noqa: F401  (and the board's)
from storage.tables import Base

connection: Connection | None = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `callout db upgrade` (storage.migrate)")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
