"""One message shape in and one out, for every channel (Telegram, SMS, simulator).

Channel adapters translate: inline buttons on Telegram, numbered or keyword replies on SMS.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

ChannelName = Literal["telegram", "sms", "sim"]
CHANNELS: tuple[ChannelName, ...] = ("telegram", "sms", "sim")


@dataclass(frozen=True, slots=True)
class Media:
    """An attachment as the channel hands it to us: a Telegram file id or an MMS URL."""

    ref: str
    content_type: str | None = None
    size: int | None = None


@dataclass(frozen=True, slots=True)
class Inbound:
    """What someone sent us, whatever the channel."""

    channel: ChannelName
    sender: str  # E.164 phone (sms, sim) or Telegram user id
    external_id: str  # update_id / MessageSid / simulator id: the dedupe key
    received_at: datetime
    text: str = ""
    media: tuple[Media, ...] = ()
    location: tuple[float, float] | None = None  # (lat, lon) shared by the sender
    contact_phone: str | None = None  # a shared contact (Telegram), E.164
    choice: str | None = None  # data of a pressed button (Telegram callback)
    username: str | None = None  # Telegram @username without @
    display_name: str | None = None
    chat_id: str | None = None  # where replies go (Telegram chat), defaults to sender


@dataclass(frozen=True, slots=True)
class Choice:
    """A button on Telegram; on SMS the `reply` keyword the person types."""

    label: str
    data: str  # callback data (Telegram), at most 64 bytes
    reply: str = ""  # what to type by SMS; empty: numbered 1, 2, 3...


@dataclass(frozen=True, slots=True)
class Outgoing:
    """What we send. SMS spells the choices out; longer detail goes behind `link`."""

    text: str
    choices: tuple[Choice, ...] = ()
    ask_location: bool = False
    ask_contact: bool = False
    link: str | None = None
    photo: str | None = None
    kind: str = "message"
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "choices": [{"label": c.label, "data": c.data, "reply": c.reply} for c in self.choices],
            "ask_location": self.ask_location,
            "ask_contact": self.ask_contact,
            "link": self.link,
            "photo": self.photo,
            "kind": self.kind,
            "extra": self.extra,
        }

    @staticmethod
    def from_json(data: dict[str, Any]) -> Outgoing:
        return Outgoing(
            text=str(data["text"]),
            choices=tuple(
                Choice(label=c["label"], data=c["data"], reply=c.get("reply", ""))
                for c in data.get("choices", ())
            ),
            ask_location=bool(data.get("ask_location", False)),
            ask_contact=bool(data.get("ask_contact", False)),
            link=data.get("link"),
            photo=data.get("photo"),
            kind=str(data.get("kind", "message")),
            extra=dict(data.get("extra", {})),
        )
