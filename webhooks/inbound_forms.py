"""Channel payloads → the one `Inbound` shape (Telegram updates, Twilio forms, simulator posts)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from telegram import Update

from bot.messages import Inbound, Media
from storage.phones import normalize_phone

MAX_TEXT = 4096


def clean(text: str) -> str:
    """Message text as we keep it: at most 4096 characters, no NUL (no database holds it)."""
    return text.replace("\x00", "")[:MAX_TEXT]


class BadPayload(Exception):
    """Well-formed but not a message we can take: answered 400."""


MAX_ID_DIGITS = 20  # Telegram ids are 64-bit integers


def from_telegram(update: Update, now: datetime) -> Inbound | None:
    """None for updates that carry nothing for us (edits, joins, polls...)."""
    uid = str(update.update_id)
    ids = [update.update_id]
    if update.callback_query is not None:
        ids.append(update.callback_query.from_user.id)
        if update.callback_query.message is not None:
            ids.append(update.callback_query.message.chat.id)
    if update.message is not None:
        ids.append(update.message.chat.id)
        if update.message.from_user is not None:
            ids.append(update.message.from_user.id)
    if any(len(str(i)) > MAX_ID_DIGITS for i in ids):
        raise BadPayload("an id is longer than Telegram's")
    if (query := update.callback_query) is not None:
        chat = query.message.chat.id if query.message is not None else query.from_user.id
        return Inbound(
            channel="telegram",
            sender=str(query.from_user.id),
            external_id=uid,
            received_at=now,
            choice=query.data or "",
            username=query.from_user.username,
            display_name=query.from_user.full_name,
            chat_id=str(chat),
        )
    message = update.message
    if message is None or message.from_user is None:
        return None
    user = message.from_user
    media: list[Media] = []
    if message.photo:
        best = max(message.photo, key=lambda p: p.width * p.height)
        media.append(Media(ref=best.file_id, content_type="image/jpeg", size=best.file_size))
    elif message.document is not None:
        doc = message.document
        media.append(Media(ref=doc.file_id, content_type=doc.mime_type, size=doc.file_size))
    contact_phone = None
    # Only the sender's own contact links an account: anyone can share someone else's card.
    if message.contact is not None and message.contact.user_id == user.id:
        contact_phone = normalize_phone(message.contact.phone_number)
    location = None
    if message.location is not None:
        location = (message.location.latitude, message.location.longitude)
    return Inbound(
        channel="telegram",
        sender=str(user.id),
        external_id=uid,
        received_at=now,
        text=clean(message.text or message.caption or ""),
        media=tuple(media),
        location=location,
        contact_phone=contact_phone,
        username=user.username,
        display_name=user.full_name,
        chat_id=str(message.chat.id),
    )


def from_twilio(form: Mapping[str, str], now: datetime) -> Inbound:
    sid = form.get("MessageSid") or form.get("SmsSid") or ""
    if not sid or len(sid) > 64:
        raise BadPayload("MessageSid is missing")
    sender = normalize_phone(form.get("From", ""))
    if sender is None:
        raise BadPayload("From is not a phone number")
    count_text = form.get("NumMedia", "0") or "0"
    if not (count_text.isascii() and count_text.isdigit()) or int(count_text) > 10:
        raise BadPayload("NumMedia is not a small number")
    media = tuple(
        Media(ref=form[f"MediaUrl{i}"], content_type=form.get(f"MediaContentType{i}"))
        for i in range(int(count_text))
        if form.get(f"MediaUrl{i}", "").startswith(("https://", "http://"))
    )
    return Inbound(
        channel="sms",
        sender=sender,
        external_id=sid,
        received_at=now,
        text=clean(form.get("Body", "")),
        media=media,
    )


def from_simulator(data: Mapping[str, object], external_id: str, now: datetime) -> Inbound:
    sender = data.get("from")
    text = data.get("text", "")
    if not isinstance(sender, str) or not isinstance(text, str):
        raise BadPayload("from and text must be strings")
    phone = normalize_phone(sender)
    if phone is None:
        raise BadPayload("from is not a phone number")
    location = data.get("location")
    point = None
    if location is not None:
        if not (
            isinstance(location, dict)
            and all(isinstance(location.get(k), int | float) for k in ("lat", "lon"))
        ):
            raise BadPayload("location must be {lat, lon}")
        point = (float(location["lat"]), float(location["lon"]))
    return Inbound(
        channel="sim",
        sender=phone,
        external_id=external_id,
        received_at=now,
        text=clean(text),
        location=point,
        choice=choice if isinstance(choice := data.get("choice"), str) else None,
    )
