"""The whole work-order record (§3): the row and timeline, plus photos, parts, time entries,
sign-off and invoice from their own tables."""

from __future__ import annotations

from typing import Any

from dispatch.workorder import WorkOrder
from storage.uow import SqlUnitOfWork
from webhooks.billing_json import (
    invoice_summary_json,
    parts_json,
    signoff_json,
    time_entries_json,
)
from webhooks.records import Directory, work_order_json


def photo_url(wo: WorkOrder, photo_id: int) -> str:
    return f"/api/v1/work-orders/{wo.number}/photos/{photo_id}"


async def full_record(
    uow: SqlUnitOfWork, wo: WorkOrder, d: Directory, base_url: str
) -> dict[str, Any]:
    record = work_order_json(wo, d)
    record["photos"] = [
        {"url": base_url + photo_url(wo, p.id), "content_type": p.content_type, "bytes": p.size}
        for p in await uow.work_orders.photos(wo.seq)
    ]
    record["parts"] = parts_json(await uow.billing.parts(wo.seq))
    record["time_entries"] = time_entries_json(await uow.billing.time_entries(wo.seq), d)
    record["signoff"] = signoff_json(await uow.billing.signoff(wo.seq), d)
    record["invoice"] = invoice_summary_json(await uow.billing.invoice_of(wo.seq), base_url)
    return record
