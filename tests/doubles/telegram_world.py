"""What the Telegram double remembers: chats, messages, files, calls, scripted failures.

It also builds the inbound Update objects the product's webhook receives, sharing the
per-chat message_id sequence with the bot's own messages, as in a real private chat.
"""

from __future__ import annotations

import copy
import itertools
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from . import telegram_objects as obj
from .telegram_format import utf16_len

JSONDict = dict[str, Any]
FailureKind = Literal["retry_after", "blocked", "server_error", "network", "chat_not_found"]
DEFAULT_TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class TelegramCall:
    """One request the double answered (or refused)."""

    method: str
    chat_id: int | None
    params: JSONDict
    status: int
    result: Any
    description: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == 200

    @property
    def text(self) -> str | None:
        value = self.params.get("text", self.params.get("caption"))
        return None if value is None else str(value)

    @property
    def reply_markup(self) -> JSONDict | None:
        markup = self.params.get("reply_markup")
        return markup if isinstance(markup, dict) else None

    @property
    def parse_mode(self) -> str | None:
        return self.params.get("parse_mode")

    @property
    def message_id(self) -> int | None:
        if isinstance(self.result, dict) and "message_id" in self.result:
            return int(self.result["message_id"])
        value = self.params.get("message_id")
        return None if value is None else int(value)


@dataclass(frozen=True)
class Failure:
    chat_id: int | None
    kind: FailureKind
    retry_after: int
    status: int


@dataclass
class TelegramWorld:
    """State of the fake Telegram: the bot, its chats and files, and what it was asked."""

    token: str = DEFAULT_TOKEN
    bot_username: str = "callout_test_bot"
    bot_first_name: str = "Callout"
    clock: Callable[[], datetime] = _utc_now  # e.g. the product's clock, for message dates
    sent: list[TelegramCall] = field(default_factory=list)
    webhook: JSONDict = field(default_factory=dict)
    files: dict[str, obj.StoredFile] = field(default_factory=dict)
    answered_callbacks: dict[str, JSONDict] = field(default_factory=dict)
    _messages: dict[tuple[int, int], JSONDict] = field(default_factory=dict)
    _last_message_id: dict[int, int] = field(default_factory=dict)
    _users: dict[int, JSONDict] = field(default_factory=dict)
    _pending_callbacks: set[str] = field(default_factory=set)
    _failures: list[Failure] = field(default_factory=list)
    _blocked: set[int] = field(default_factory=set)
    _update_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(10_000))
    _file_numbers: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def bot_id(self) -> int:
        return int(self.token.split(":", 1)[0])

    @property
    def bot_user(self) -> JSONDict:
        return obj.user(self.bot_id, self.bot_first_name, self.bot_username, is_bot=True)

    # Scripted failures -------------------------------------------------------------------

    def fail_next(
        self,
        chat_id: int | None,
        kind: FailureKind,
        *,
        retry_after: int = 5,
        status: int = 500,
        times: int = 1,
    ) -> None:
        """Make the next `times` calls for `chat_id` (None: any call) fail as `kind`.

        `status` applies to server_error (500 JSON, or 502 with nginx's HTML page).
        """
        for _ in range(times):
            self._failures.append(Failure(chat_id, kind, retry_after, status))

    def block(self, chat_id: int) -> None:
        """The user blocked the bot: every call for the chat gets 403 until `unblock`."""
        self._blocked.add(chat_id)

    def unblock(self, chat_id: int) -> None:
        self._blocked.discard(chat_id)

    def take_failure(self, chat_id: int | None) -> Failure | None:
        if chat_id in self._blocked:
            return Failure(chat_id, "blocked", 0, 403)
        for failure in self._failures:
            if failure.chat_id is None or failure.chat_id == chat_id:
                self._failures.remove(failure)
                return failure
        return None

    # What the bot did ----------------------------------------------------------------------

    def calls(self, method: str) -> list[TelegramCall]:
        return [call for call in self.sent if call.method.lower() == method.lower()]

    def messages_to(self, chat_id: int) -> list[JSONDict]:
        """The bot's messages in the chat as they look now (edits applied), oldest first."""
        return [
            copy.deepcopy(message)
            for (chat, _), message in sorted(self._messages.items())
            if chat == chat_id and message["from"]["id"] == self.bot_id
        ]

    def last_message_to(self, chat_id: int) -> JSONDict:
        messages = self.messages_to(chat_id)
        if not messages:
            raise AssertionError(f"the bot sent nothing to chat {chat_id}")
        return messages[-1]

    # Shared state used by the API handlers ------------------------------------------------

    def now(self) -> int:
        return int(self.clock().timestamp())

    def chat(self, chat_id: int) -> JSONDict:
        known = self._users.get(chat_id)
        return obj.private_chat(known) if known else obj.chat_for_id(chat_id)

    def store_message(self, chat_id: int, sender: JSONDict, **content: Any) -> JSONDict:
        message_id = self._last_message_id.get(chat_id, 0) + 1
        self._last_message_id[chat_id] = message_id
        message: JSONDict = {
            "message_id": message_id,
            "from": sender,
            "chat": self.chat(chat_id),
            "date": self.now(),
        }
        message.update({key: value for key, value in content.items() if value is not None})
        self._messages[(chat_id, message_id)] = message
        return copy.deepcopy(message)

    def message(self, chat_id: int, message_id: int) -> JSONDict | None:
        return self._messages.get((chat_id, message_id))

    def forget_message(self, chat_id: int, message_id: int) -> bool:
        return self._messages.pop((chat_id, message_id), None) is not None

    def add_file(self, kind: str, content: bytes, mime_type: str, name: str = "") -> obj.StoredFile:
        stored = obj.new_file(kind, next(self._file_numbers), content, mime_type, name)
        self.files[stored.file_id] = stored
        return stored

    def file_by_path(self, file_path: str) -> obj.StoredFile | None:
        return next((f for f in self.files.values() if f.file_path == file_path), None)

    def answer_callback(self, query_id: str, answer: JSONDict) -> bool:
        if query_id not in self._pending_callbacks:
            return False
        self._pending_callbacks.discard(query_id)
        self.answered_callbacks[query_id] = answer
        return True

    # Inbound updates ------------------------------------------------------------------------

    def _sender(self, user_id: int, username: str | None, first_name: str | None) -> JSONDict:
        previous = self._users.get(user_id)
        if previous is None or username or first_name:
            name = first_name or (previous or {}).get("first_name") or f"User{user_id}"
            handle = username or (previous or {}).get("username")
            self._users[user_id] = obj.user(user_id, name, handle)
        return self._users[user_id]

    def _message_update(
        self, user_id: int, username: str | None, first_name: str | None, **content: Any
    ) -> JSONDict:
        sender = self._sender(user_id, username, first_name)
        message = self.store_message(user_id, sender, **content)
        return {"update_id": next(self._update_ids), "message": message}

    def make_update_text(
        self, user_id: int, text: str, *, username: str | None = None, first_name: str | None = None
    ) -> JSONDict:
        entities = None
        if text.startswith("/"):
            command = text.split(maxsplit=1)[0]
            entities = [{"offset": 0, "length": utf16_len(command), "type": "bot_command"}]
        return self._message_update(user_id, username, first_name, text=text, entities=entities)

    def make_update_location(
        self,
        user_id: int,
        latitude: float,
        longitude: float,
        *,
        username: str | None = None,
        first_name: str | None = None,
        horizontal_accuracy: float | None = None,
        live_period: int | None = None,
    ) -> JSONDict:
        location: JSONDict = {"latitude": latitude, "longitude": longitude}
        if horizontal_accuracy is not None:
            location["horizontal_accuracy"] = horizontal_accuracy
        if live_period is not None:
            location["live_period"] = live_period
        return self._message_update(user_id, username, first_name, location=location)

    def make_update_contact(
        self,
        user_id: int,
        phone_number: str,
        *,
        username: str | None = None,
        first_name: str | None = None,
        contact_user_id: int | None = None,
    ) -> JSONDict:
        """A shared contact; with request_contact the contact is the sender themself.

        Telegram sends the number as the phone stores it, often without the leading '+'.
        """
        sender = self._sender(user_id, username, first_name)
        contact = {
            "phone_number": phone_number,
            "first_name": sender["first_name"],
            "user_id": user_id if contact_user_id is None else contact_user_id,
        }
        return self._message_update(user_id, None, None, contact=contact)

    def make_update_photo(
        self,
        user_id: int,
        content: bytes = b"\xff\xd8\xff\xe0 test jpeg \xff\xd9",
        *,
        caption: str | None = None,
        username: str | None = None,
        first_name: str | None = None,
        width: int = 1280,
        height: int = 960,
    ) -> JSONDict:
        """A photo message; the largest size is served by getFile and the file download."""
        stored = self.add_file("photos", content, "image/jpeg")
        sizes = obj.photo_sizes(stored, width, height)
        return self._message_update(user_id, username, first_name, photo=sizes, caption=caption)

    def make_update_callback(
        self,
        user_id: int,
        data: str,
        message_id: int,
        *,
        username: str | None = None,
        first_name: str | None = None,
    ) -> JSONDict:
        """A press on an inline button of the bot's message `message_id` in the user's chat."""
        sender = self._sender(user_id, username, first_name)
        message = self.message(user_id, message_id)
        if message is None:
            # Telegram sends this shape when the message is too old to be included.
            message = {"message_id": message_id, "chat": self.chat(user_id), "date": 0}
        query_id = str(secrets.randbits(63))
        self._pending_callbacks.add(query_id)
        query = {
            "id": query_id,
            "from": sender,
            "message": copy.deepcopy(message),
            "chat_instance": str(-(user_id * 7919 % 10**18)),
            "data": data,
        }
        return {"update_id": next(self._update_ids), "callback_query": query}
