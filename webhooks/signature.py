"""A signature drawn on the sign-off page: checked to be a real, non-blank PNG, then stored."""

from __future__ import annotations

import base64
import binascii
import io
import secrets
import warnings
from pathlib import Path

from PIL import Image, ImageChops, UnidentifiedImageError

MAX_BYTES = 1024 * 1024
MAX_SIDE = 4096  # checked before decoding: a small file may claim a huge canvas
MIN_INK_PIXELS = 30
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
DATA_URL_PREFIX = "data:image/png;base64,"


class BadSignature(ValueError):
    """Why an upload is not a usable signature; the message is shown to the signer."""


def from_data_url(text: str) -> bytes:
    if not text.startswith(DATA_URL_PREFIX):
        raise BadSignature("the signature must be a PNG data URL")
    encoded = text[len(DATA_URL_PREFIX) :]
    if len(encoded) > (MAX_BYTES * 4) // 3 + 4:
        raise BadSignature("the signature is over 1 MiB")
    try:
        return base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise BadSignature("the signature is not valid base64") from None


def clean_png(data: bytes) -> bytes:
    """The signature re-encoded (metadata dropped) if it is a PNG with some ink on it."""
    if len(data) > MAX_BYTES:
        raise BadSignature("the signature is over 1 MiB")
    if not data.startswith(PNG_MAGIC):
        raise BadSignature("the signature is not a PNG image")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=["PNG"])
            if max(image.size) > MAX_SIDE:
                raise BadSignature("the signature image is too large")
            image.load()
    except (UnidentifiedImageError, OSError, SyntaxError, Image.DecompressionBombWarning):
        raise BadSignature("the signature is not a readable PNG image") from None
    rgba = image.convert("RGBA")
    if _ink_pixels(rgba) < MIN_INK_PIXELS:
        raise BadSignature("the signature is blank: please sign in the box")
    out = io.BytesIO()
    rgba.save(out, format="PNG", optimize=True)
    return out.getvalue()


def _ink_pixels(rgba: Image.Image) -> int:
    """Pixels that are neither transparent nor near-white."""
    dark = rgba.convert("L").point(lambda v: 255 if v < 200 else 0)
    opaque = rgba.getchannel("A").point(lambda v: 255 if v > 32 else 0)
    return ImageChops.multiply(dark, opaque).histogram()[255]


def store_signature(media_dir: Path, work_order: str, png: bytes) -> str:
    """Writes the file under MEDIA_DIR/signatures/; returns its path relative to MEDIA_DIR."""
    folder = media_dir / "signatures"
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{work_order}-{secrets.token_hex(8)}.png"
    (folder / name).write_bytes(png)
    return f"signatures/{name}"
