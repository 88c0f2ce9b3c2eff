"""a day version that every change to a technician's day moves (SQLite)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 11:00:00

Every request that assigns reads the whole day's bookings (day_view): about a fifth of a new
request's CPU on SQLite. The bookings only change when a work order on someone's day (offered,
assigned, under way or done) or an offer changes, far less often than requests come (a flagged
job, a question, a photo change nothing of the kind). These triggers move `day_version` in
`sequences` in the same statement as such a change, whichever code path makes it, so a process
can keep the day it read and reuse it while the version stands (AssignmentRepository.day).

SQLite only: it has one writer at a time, so the version read in a transaction is exact. On
PostgreSQL a counter row every booking change updates would queue concurrent assignments
behind its row lock until commit; there the day was read every time (until 0012, which
moves PostgreSQL's own version when such a change commits).

A batch_alter_table on work_orders or offers in a later migration recreates the table on
SQLite and drops these triggers with it: re-create them after (tests/test_day_cache.py checks).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Statuses that keep a work order off every technician's day (the day read skips them).
OFF_DAY = "('new', 'needs_info', 'ready', 'on_hold', 'cancelled')"
# A new random 64-bit value each time, not a count: a transaction that read the day after
# its own change and then rolled back leaves a version in some process's cache that no
# committed change will ever take (a count would hand the same number to the next change),
# and two databases behind one URL cannot be confused.
MOVE = "INSERT OR REPLACE INTO sequences (name, value) VALUES ('day_version', random());"
TRIGGERS = {
    "day_version_wo_insert": f"AFTER INSERT ON work_orders WHEN NEW.status NOT IN {OFF_DAY}",
    "day_version_wo_update": (
        f"AFTER UPDATE ON work_orders "
        f"WHEN NOT (OLD.status IN {OFF_DAY} AND NEW.status IN {OFF_DAY})"
    ),
    "day_version_wo_delete": f"AFTER DELETE ON work_orders WHEN OLD.status NOT IN {OFF_DAY}",
    "day_version_offer_insert": "AFTER INSERT ON offers",
    "day_version_offer_update": "AFTER UPDATE ON offers",
    "day_version_offer_delete": "AFTER DELETE ON offers",
}


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for name, when in TRIGGERS.items():
        op.execute(f"CREATE TRIGGER {name} {when} BEGIN {MOVE} END")


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for name in TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.execute("DELETE FROM sequences WHERE name = 'day_version'")
