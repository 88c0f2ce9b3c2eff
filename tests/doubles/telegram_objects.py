"""Bot API object shapes (User, Chat, PhotoSize, markups) as the real server returns them."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

JSONDict = dict[str, Any]

# Prefixes of real file ids; code that sniffs the kind of a file id keeps working.
PHOTO_ID_PREFIX = "AgACAgIAAxkBAAI"
DOCUMENT_ID_PREFIX = "BQACAgIAAxkBAAI"


class BadRequest(ValueError):
    """A 400 answer; the message is the part after "Bad Request: "."""


@dataclass(frozen=True)
class StoredFile:
    """A file the double can describe with getFile and serve for download."""

    file_id: str
    file_unique_id: str
    file_path: str
    content: bytes
    mime_type: str

    @property
    def file_size(self) -> int:
        return len(self.content)

    def as_file(self) -> JSONDict:
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": self.file_size,
            "file_path": self.file_path,
        }


def new_file(kind: str, number: int, content: bytes, mime_type: str, name: str = "") -> StoredFile:
    prefix = PHOTO_ID_PREFIX if kind == "photos" else DOCUMENT_ID_PREFIX
    extension = _extension(mime_type, name)
    return StoredFile(
        file_id=prefix + secrets.token_urlsafe(48),
        file_unique_id="AQAD" + secrets.token_urlsafe(8)[:11],
        file_path=f"{kind}/file_{number}{extension}",
        content=content,
        mime_type=mime_type,
    )


def _extension(mime_type: str, name: str) -> str:
    if "." in name:
        return "." + name.rsplit(".", 1)[1]
    known = {"image/jpeg": ".jpg", "image/png": ".png", "application/pdf": ".pdf"}
    return known.get(mime_type, "")


def photo_sizes(file: StoredFile, width: int = 1280, height: int = 960) -> list[JSONDict]:
    """Telegram returns several sizes, smallest first; only the largest is the original file."""
    thumb_w, thumb_h = (90, 90 * height // width) if width >= height else (90 * width // height, 90)
    return [
        {
            "file_id": file.file_id + "-thumb",
            "file_unique_id": file.file_unique_id + "-t",
            "file_size": min(file.file_size, 1500),
            "width": thumb_w,
            "height": thumb_h,
        },
        {
            "file_id": file.file_id,
            "file_unique_id": file.file_unique_id,
            "file_size": file.file_size,
            "width": width,
            "height": height,
        },
    ]


def user(
    user_id: int,
    first_name: str,
    username: str | None = None,
    *,
    is_bot: bool = False,
    language_code: str | None = "en",
) -> JSONDict:
    result: JSONDict = {"id": user_id, "is_bot": is_bot, "first_name": first_name}
    if username:
        result["username"] = username
    if language_code and not is_bot:
        result["language_code"] = language_code
    return result


def private_chat(from_user: JSONDict) -> JSONDict:
    chat: JSONDict = {"id": from_user["id"], "first_name": from_user["first_name"]}
    if "username" in from_user:
        chat["username"] = from_user["username"]
    chat["type"] = "private"
    return chat


def chat_for_id(chat_id: int) -> JSONDict:
    if chat_id > 0:
        return {"id": chat_id, "first_name": f"User {chat_id}", "type": "private"}
    kind = "supergroup" if str(chat_id).startswith("-100") else "group"
    return {"id": chat_id, "title": f"Group {chat_id}", "type": kind}


def check_reply_markup(markup: Any) -> JSONDict | None:
    """Validate like the server; return the markup to echo in the Message (inline only)."""
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise BadRequest("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in markup:
        rows = markup["inline_keyboard"]
        _check_rows(rows)
        for row in rows:
            for button in row:
                _check_inline_button(button)
        return {"inline_keyboard": rows}
    if "keyboard" in markup:
        _check_rows(markup["keyboard"])
        return None
    if markup.get("remove_keyboard") is True or markup.get("force_reply") is True:
        return None
    raise BadRequest("can't parse reply keyboard markup JSON object")


def _check_rows(rows: Any) -> None:
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise BadRequest("can't parse reply keyboard markup JSON object")


def _check_inline_button(button: Any) -> None:
    if not isinstance(button, dict) or not isinstance(button.get("text"), str):
        raise BadRequest("can't parse inline keyboard button: Text must be a String")
    actions = {"callback_data", "url", "web_app", "login_url", "switch_inline_query"}
    actions |= {"switch_inline_query_current_chat", "callback_game", "pay", "copy_text"}
    if not actions & button.keys():
        raise BadRequest(
            "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
        )
    data = button.get("callback_data")
    if data is not None and not 1 <= len(str(data).encode()) <= 64:
        raise BadRequest("BUTTON_DATA_INVALID")
