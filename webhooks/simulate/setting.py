"""The day's setting: local times, true distances, phones for senders who have none, and the
product's own deadlines (offers, lone-worker checks) that decide when the clock moves next."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dispatch.company import Company
from dispatch.engine.model import Point
from dispatch.engine.travel import haversine_km
from storage.phones import normalize_phone
from storage.tables import OfferRow, WorkOrderRow
from webhooks.simulate.scenario import Scenario

Sessions = async_sessionmaker[AsyncSession]


def aware(value: datetime) -> datetime:
    """SQLite hands back naive UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def local(scenario: Scenario, company: Company, hhmm: time) -> datetime:
    zone = ZoneInfo(company.settings.timezone)
    return datetime.combine(scenario.day, hhmm, zone).astimezone(UTC)


def drive_km(a: Point, b: Point, detour: float) -> float:
    """The true road distance of the simulated world: great circle times the detour factor."""
    return haversine_km(a, b) * detour


def made_up_phones(scenario: Scenario, company: Company) -> dict[str, str]:
    """The phone each sender writes from on the simulator channel: their own (SMS), their
    customer record's (portal, by email), else a made-up one (Telegram usernames), in file
    order so the same file always gives the same numbers."""
    by_email = {c.email.lower(): c.phone for c in company.customers if c.email and c.phone}
    taken = {c.phone for c in company.customers if c.phone}
    out: dict[str, str] = {}
    n = 0
    for r in scenario.requests:
        if r.sender in out:
            continue
        if r.channel == "sms":
            out[r.sender] = normalize_phone(r.sender) or r.sender
        elif r.channel == "portal" and r.sender.lower() in by_email:
            out[r.sender] = by_email[r.sender.lower()]
        else:
            while (phone := f"+199955501{n:02d}") in taken:
                n += 1
            out[r.sender] = phone
            n += 1
    return out


async def deadline_due(sessions: Sessions, now: datetime) -> bool:
    """Whether the timer sweep has anything to do now (an offer to expire or re-send, a
    lone-worker check): the worker sweeps all the time, with the same effect."""
    async with sessions() as s:
        offer = await s.scalar(
            select(func.count())
            .select_from(OfferRow)
            .where(
                OfferRow.status == "live",
                (OfferRow.expires_at <= now) | (OfferRow.failover_at <= now),
            )
        )
        lone = await s.scalar(
            select(func.count())
            .select_from(WorkOrderRow)
            .where(WorkOrderRow.lone_check_due_at <= now)
        )
    return bool(offer or lone)


async def next_deadline(sessions: Sessions, now: datetime) -> datetime | None:
    """The product's next deadline after `now`, if any."""
    async with sessions() as s:
        found = [
            await s.scalar(
                select(func.min(OfferRow.expires_at)).where(
                    OfferRow.status == "live", OfferRow.expires_at > now
                )
            ),
            await s.scalar(
                select(func.min(OfferRow.failover_at)).where(
                    OfferRow.status == "live", OfferRow.failover_at > now
                )
            ),
            await s.scalar(
                select(func.min(WorkOrderRow.lone_check_due_at)).where(
                    WorkOrderRow.lone_check_due_at > now
                )
            ),
        ]
    return min((aware(x) for x in found if x is not None), default=None)
