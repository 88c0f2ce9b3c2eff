"""a day version on PostgreSQL too, moved when a change to someone's day commits

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05 12:00:00

Migration 0010 gave SQLite a `day_version` that every change to a booking moves, so a process
keeps the day it read while the version stands. PostgreSQL read the day every time: a row
that every booking change updates at once would queue concurrent assignments behind its row
lock until they commit. Here the same changes (the same conditions as 0010's triggers) move
it from constraint triggers deferred to COMMIT: the version moves in the transaction that
made the change, so whoever reads the version sees the change with it, and its row is
locked only while that transaction commits (each waits for the one before to commit, and no
transaction waits for anything else while it holds it). The first change of a transaction
moves it; the others find that done (a transaction-local setting says so). The row is
written whether or not it is there (a database emptied by TRUNCATE, as the tests do, gets it
back with the first change).

A transaction does not see its own change in the version (it moves at commit): the reader
(AssignmentRepository.day) keeps and reuses a day only in a transaction that has not changed
anyone's day itself, and reads the version as its first statement (the inbound message's
count, InboundRepository.count_since).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The statuses that keep a work order off every technician's day, as in 0010.
OFF_DAY = "('new', 'needs_info', 'ready', 'on_hold', 'cancelled')"
# A random value, not a count, for 0010's reason: two databases behind one URL (dropped and
# made again) are never taken for each other. `value` is a 32-bit integer here.
FUNCTION = """
CREATE FUNCTION callout_move_day_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('callout.day_moved', true) IS DISTINCT FROM 'on' THEN
        PERFORM set_config('callout.day_moved', 'on', true);
        INSERT INTO sequences (name, value)
            VALUES ('day_version', floor(random() * 2147483646)::integer + 1)
            ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value;
    END IF;
    RETURN NULL;
END
$$
"""
TRIGGERS = {
    "day_version_wo_insert": f"AFTER INSERT ON work_orders|NEW.status NOT IN {OFF_DAY}",
    "day_version_wo_update": (
        f"AFTER UPDATE ON work_orders|NOT (OLD.status IN {OFF_DAY} AND NEW.status IN {OFF_DAY})"
    ),
    "day_version_wo_delete": f"AFTER DELETE ON work_orders|OLD.status NOT IN {OFF_DAY}",
    "day_version_offer_insert": "AFTER INSERT ON offers|",
    "day_version_offer_update": "AFTER UPDATE ON offers|",
    "day_version_offer_delete": "AFTER DELETE ON offers|",
}


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        "INSERT INTO sequences (name, value) VALUES "
        "('day_version', floor(random() * 2147483646)::integer + 1) ON CONFLICT (name) DO NOTHING"
    )
    op.execute(FUNCTION)
    for name, spec in TRIGGERS.items():
        event, when = spec.split("|")
        condition = f" WHEN ({when})" if when else ""
        op.execute(
            f"CREATE CONSTRAINT TRIGGER {name} {event} DEFERRABLE INITIALLY DEFERRED "
            f"FOR EACH ROW{condition} EXECUTE FUNCTION callout_move_day_version()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name, spec in TRIGGERS.items():
        table = spec.split("|")[0].split(" ON ")[1]
        op.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
    op.execute("DROP FUNCTION IF EXISTS callout_move_day_version()")
    op.execute("DELETE FROM sequences WHERE name = 'day_version'")
