"""indexes that keep a request's cost flat as the history grows

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 07:40:00

The day read looked the day's finished jobs up by status alone, so it visited every finished
job ever; a technician's queue and a customer's open work orders visited all of their past
jobs; finding a technician's or a dispatcher's chats scanned every identity; the worker's
sweep for unprocessed messages scanned every message, and the outbox's pacing walked every
message sent on the channel to count those in flight. Composite indexes take their place
(the single-column ones they start with are dropped: the composite serves the same lookups).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("work_orders", schema=None) as batch_op:
        batch_op.drop_index("ix_work_orders_status")
        batch_op.drop_index("ix_work_orders_technician_id")
        batch_op.drop_index("ix_work_orders_customer_id")
        batch_op.create_index(
            "ix_work_orders_status_planned", ["status", "planned_start"], unique=False
        )
        batch_op.create_index("ix_work_orders_planned_start", ["planned_start"], unique=False)
        batch_op.create_index(
            "ix_work_orders_technician_status", ["technician_id", "status"], unique=False
        )
        batch_op.create_index(
            "ix_work_orders_customer_status", ["customer_id", "status"], unique=False
        )

    with op.batch_alter_table("identities", schema=None) as batch_op:
        batch_op.create_index("ix_identities_role_party", ["role", "party_id"], unique=False)

    with op.batch_alter_table("inbound_messages", schema=None) as batch_op:
        batch_op.create_index(
            "ix_inbound_unprocessed", ["processed_at", "claimed_until"], unique=False
        )

    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index(
            "ix_outbox_in_flight", ["channel", "status", "recipient"], unique=False
        )
        batch_op.create_index("ix_outbox_channel_sent", ["channel", "sent_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_channel_sent")
        batch_op.drop_index("ix_outbox_in_flight")

    with op.batch_alter_table("inbound_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_inbound_unprocessed")

    with op.batch_alter_table("identities", schema=None) as batch_op:
        batch_op.drop_index("ix_identities_role_party")

    with op.batch_alter_table("work_orders", schema=None) as batch_op:
        batch_op.drop_index("ix_work_orders_customer_status")
        batch_op.drop_index("ix_work_orders_technician_status")
        batch_op.drop_index("ix_work_orders_planned_start")
        batch_op.drop_index("ix_work_orders_status_planned")
        batch_op.create_index("ix_work_orders_customer_id", ["customer_id"], unique=False)
        batch_op.create_index("ix_work_orders_technician_id", ["technician_id"], unique=False)
        batch_op.create_index("ix_work_orders_status", ["status"], unique=False)
