"""What every conversation handler gets: the clock, the geocoder, settings, media sources."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from bot.media import MediaSource, StoredMedia
from bot.messages import Inbound, Outgoing
from dispatch.clock import Clock
from dispatch.ports import Geocoder, UnitOfWork
from dispatch.workorder import WorkOrder


def identity_channel(channel: str) -> str:
    """Phones are one identity whether they come by SMS or the simulator."""
    return "telegram" if channel == "telegram" else "sms"


@dataclass(frozen=True, slots=True)
class BotConfig:
    public_base_url: str
    media_dir: Path
    rate_limit_per_minute: int = 20
    channels: frozenset[str] = frozenset({"sim"})  # the ones with credentials configured


@dataclass
class Deps:
    clock: Clock
    geocode: Geocoder
    config: BotConfig
    media: Mapping[str, MediaSource] = field(default_factory=dict)  # by channel


@dataclass(frozen=True, slots=True)
class Processed:
    duplicate: bool
    replies: tuple[Outgoing, ...] = ()


@dataclass(frozen=True, slots=True)
class Received:
    """One message with its media already fetched and checked."""

    msg: Inbound
    media: tuple[StoredMedia, ...]
    media_refused: bool


async def attach_media(
    uow: UnitOfWork,
    wo: WorkOrder,
    received: Received,
    actor: str,
    now: datetime,
) -> int:
    """Link the message's stored photos to the work order, each with a timeline line."""
    for media in received.media:
        await uow.work_orders.add_photo(
            wo.seq,
            path=media.path,
            content_type=media.content_type,
            size=media.size,
            sha256=media.sha256,
            sent_by=actor,
            channel=received.msg.channel,
            at=now,
        )
        wo.record(
            now,
            "photo",
            f"photo added ({media.content_type}, {media.size} bytes)",
            actor=actor,
            channel=received.msg.channel,
        )
    return len(received.media)
