"""work order numbers from a PostgreSQL sequence

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25 12:15:00

A counter row in `sequences` is locked from the moment a request takes a work order number
until its transaction commits, which made every new request on PostgreSQL wait for the one
before it, whatever the number of web processes. A native sequence hands numbers out without
holding a lock (a rolled-back request leaves a gap, which work order numbers may have;
invoices keep their gapless counter). SQLite has one writer at a time anyway and keeps the row.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE SEQUENCE IF NOT EXISTS work_order_numbers START WITH 1001 MINVALUE 1")
    # Go on from the highest number handed out so far, if any.
    op.execute(
        "SELECT setval('work_order_numbers', GREATEST("
        "(SELECT max(seq) FROM work_orders),"
        " (SELECT value FROM sequences WHERE name = 'work_order')), true)"
        " WHERE EXISTS (SELECT 1 FROM work_orders)"
        " OR EXISTS (SELECT 1 FROM sequences WHERE name = 'work_order')"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        "INSERT INTO sequences (name, value) SELECT 'work_order', max(seq) FROM work_orders"
        " WHERE EXISTS (SELECT 1 FROM work_orders)"
        " ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value"
    )
    op.execute("DROP SEQUENCE IF EXISTS work_order_numbers")
