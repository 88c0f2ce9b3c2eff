"""Photos and PDFs people send: fetched from the channel, checked, and stored under MEDIA_DIR."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import aiohttp
from telegram import Bot
from telegram.error import TelegramError

from bot.messages import Media

MAX_MEDIA_BYTES = 10 * 1024 * 1024  # §11
ALLOWED_TYPES = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/webp": "webp",
    "image/heic": "heic",
    "image/gif": "gif",
    "application/pdf": "pdf",
}
# The first bytes of each allowed type: what a file claims is not trusted.
MAGIC = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"GIF8", "image/gif"),
    (b"%PDF-", "application/pdf"),
)


class MediaRefused(Exception):
    """Not an image or PDF, too large, or could not be fetched."""


@dataclass(frozen=True, slots=True)
class StoredMedia:
    path: str  # relative to MEDIA_DIR
    content_type: str
    size: int
    sha256: str


class MediaSource(Protocol):
    async def fetch(self, media: Media) -> bytes: ...


def sniff(data: bytes) -> str | None:
    for magic, kind in MAGIC:
        if data.startswith(magic):
            return kind
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[4:12] in (b"ftypheic", b"ftypheix", b"ftypmif1"):
        return "image/heic"
    return None


def store(media_dir: Path, data: bytes) -> StoredMedia:
    """Check the bytes and write them content-addressed (the same photo twice is one file)."""
    if len(data) > MAX_MEDIA_BYTES:
        raise MediaRefused("over 10 MiB")
    kind = sniff(data)
    if kind is None:
        raise MediaRefused("not an image or PDF")
    digest = hashlib.sha256(data).hexdigest()
    relative = f"{digest[:2]}/{digest}.{ALLOWED_TYPES[kind]}"
    target = media_dir / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.exists():
        tmp = target.with_suffix(".part")
        tmp.write_bytes(data)
        tmp.replace(target)
    return StoredMedia(path=relative, content_type=kind, size=len(data), sha256=digest)


class TelegramMedia:
    """Telegram files: getFile, then download from the file server (size checked first)."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    async def fetch(self, media: Media) -> bytes:
        if media.size is not None and media.size > MAX_MEDIA_BYTES:
            raise MediaRefused("over 10 MiB")
        try:
            file = await self.bot.get_file(media.ref)
            if file.file_size is not None and file.file_size > MAX_MEDIA_BYTES:
                raise MediaRefused("over 10 MiB")
            return bytes(await file.download_as_bytearray())
        except TelegramError as err:
            raise MediaRefused(f"Telegram would not give the file: {err}") from err


class TwilioMedia:
    """MMS media: an HTTPS GET with the account's credentials, following Twilio's redirect."""

    def __init__(self, account_sid: str, auth_token: str) -> None:
        token = base64.b64encode(f"{account_sid}:{auth_token}".encode()).decode()
        self.headers = {"Authorization": f"Basic {token}"}

    async def fetch(self, media: Media) -> bytes:
        if media.content_type and media.content_type.split(";")[0] not in ALLOWED_TYPES:
            raise MediaRefused(f"{media.content_type} is not an image or PDF")
        timeout = aiohttp.ClientTimeout(total=30)
        try:
            async with (
                aiohttp.ClientSession(timeout=timeout) as http,
                http.get(media.ref, headers=self.headers) as response,
            ):
                if response.status != 200:
                    raise MediaRefused(f"media URL answered {response.status}")
                if (response.content_length or 0) > MAX_MEDIA_BYTES:
                    raise MediaRefused("over 10 MiB")
                data = await response.content.read(MAX_MEDIA_BYTES + 1)
        except (aiohttp.ClientError, TimeoutError) as err:
            raise MediaRefused(f"could not fetch the media: {err!r}") from err
        if len(data) > MAX_MEDIA_BYTES:
            raise MediaRefused("over 10 MiB")
        return data
