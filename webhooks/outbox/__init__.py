"""The outbox worker: claims due rows, sends them through bot.delivery's senders, records
the outcome. It reads and writes the database directly, so it lives in the outer shell."""

from webhooks.outbox.status import record_status_callback
from webhooks.outbox.worker import Senders, deliver_due, outbox_stats, run_worker

__all__ = ["Senders", "deliver_due", "outbox_stats", "record_status_callback", "run_worker"]
