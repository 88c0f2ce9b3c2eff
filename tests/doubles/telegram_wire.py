"""Bot API wire format: request bodies in, error answers out.

Form bodies (what python-telegram-bot sends) carry every value as a string, with complex
values JSON-serialized; JSON bodies carry native values. Both end up as one params dict.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from . import telegram_objects as obj
from .telegram_format import EntityParseError, parse

JSONDict = dict[str, Any]

Files = dict[str, web.FileField]

_JSON_FIELDS = {"reply_markup", "entities", "caption_entities", "allowed_updates"}
_JSON_FIELDS |= {"link_preview_options", "reply_parameters"}
_INT_FIELDS = {"chat_id", "message_id", "cache_time", "max_connections", "live_period"}
_FLOAT_FIELDS = {"latitude", "longitude", "horizontal_accuracy"}
_BOOL_FIELDS = {"show_alert", "drop_pending_updates", "disable_notification", "protect_content"}
BAD_GATEWAY_PAGE = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx/1.18.0</center>\r\n"
    "</body>\r\n</html>\r\n"
)


class ApiError(Exception):
    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.description = description


def error(status: int, description: str, **extra: Any) -> web.Response:
    body: JSONDict = {"ok": False, "error_code": status, "description": description}
    body.update(extra)
    return web.json_response(body, status=status)


def valid_secret(secret: str) -> bool:
    allowed = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
    return 1 <= len(secret) <= 256 and set(secret) <= allowed


async def read_params(request: web.Request) -> tuple[JSONDict, Files]:
    params: JSONDict = {key: _decode(key, value) for key, value in request.query.items()}
    files: Files = {}
    if request.content_type == "application/json":
        try:
            body = await request.json()
        except ValueError as exc:
            raise ApiError(400, "Bad Request: can't parse JSON object") from exc
        if not isinstance(body, dict):
            raise ApiError(400, "Bad Request: JSON object expected")
        params.update(body)
    elif request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        for key, value in (await request.post()).items():
            if isinstance(value, web.FileField):
                files[key] = value
            else:
                params[key] = _decode(key, str(value))
    return params, files


def _decode(name: str, value: str) -> Any:
    """Form bodies carry every value as a string; complex ones are JSON-serialized."""
    try:
        if name in _JSON_FIELDS:
            return json.loads(value)
        if name in _INT_FIELDS:
            return int(value)
        if name in _FLOAT_FIELDS:
            return float(value)
    except ValueError as exc:
        if name == "reply_markup":
            raise ApiError(
                400, "Bad Request: can't parse reply keyboard markup JSON object"
            ) from exc
        if name == "chat_id":
            raise ApiError(400, "Bad Request: chat not found") from exc
        raise ApiError(400, f"Bad Request: can't parse {name}") from exc
    if name in _BOOL_FIELDS:
        return value.lower() == "true"
    return value


def chat_id_of(params: JSONDict) -> int | None:
    value = params.get("chat_id")
    if value is None or value == "":
        return None
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise ApiError(400, "Bad Request: chat not found") from exc


def required_chat(params: JSONDict) -> int:
    chat_id = chat_id_of(params)
    if chat_id is None:
        raise obj.BadRequest("chat_id is empty")
    return chat_id


def formatted(text: Any, parse_mode: Any, limit: int) -> tuple[str, list[JSONDict]]:
    if text is None or str(text) == "":
        raise obj.BadRequest("message text is empty")
    try:
        plain, entities = parse(str(text), None if parse_mode is None else str(parse_mode))
    except EntityParseError as exc:
        raise obj.BadRequest(f"can't parse entities: {exc}") from exc
    if not plain.strip():
        raise obj.BadRequest("message text is empty")
    if len(plain) > limit:
        raise obj.BadRequest(
            "message is too long" if limit == 4096 else "message caption is too long"
        )
    return plain, entities
