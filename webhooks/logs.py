"""Structured JSON logs, one object a line, with phone numbers masked wherever they appear.

Every line logged while a request is handled (in its task and the tasks it starts) carries
the request's id: the caller's `X-Request-Id` when it is sane, else a new one. The answer
gives it back in the same header, so a report of a failure can be found in the logs.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

# A phone number: optional +, then 10-15 digits possibly split by spaces, dots, dashes, parens.
PHONE_RE = re.compile(r"(?<![\w])\+?\(?\d(?:[\s().-]*\d){9,14}(?![\w])")
_STANDARD = set(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime"}
REQUEST_ID_HEADER = "X-Request-Id"
# A caller's id is kept when it is short printable ASCII and not a phone number.
SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,99}")
REQUEST_ID: ContextVar[str | None] = ContextVar("request_id", default=None)
REQUEST_ID_KEY = web.RequestKey("request_id", str)
QUIET_PATHS = frozenset({"/healthz", "/metrics"})  # scraped every few seconds: debug only
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
access = logging.getLogger("callout.access")


def mask_phone(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group(0))
    prefix = "+" if match.group(0).startswith("+") else ""
    return f"{prefix}{digits[:2]}{'•' * (len(digits) - 4)}{digits[-2:]}"


def mask(text: str) -> str:
    return PHONE_RE.sub(mask_phone, text)


def _masked(value: Any) -> Any:
    if isinstance(value, str):
        return mask(value)
    if isinstance(value, dict):
        return {k: _masked(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_masked(v) for v in value]
    return value


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": mask(record.getMessage()),
        }
        request_id = REQUEST_ID.get()
        if request_id is not None:
            entry["request_id"] = request_id
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = _masked(value)
        if record.exc_info:
            entry["exc"] = mask(self.formatException(record.exc_info))
        return json.dumps(entry, default=str, ensure_ascii=False)


def setup_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    # The SQLite driver logs each statement from its own thread: no request id, and noise.
    logging.getLogger("aiosqlite").setLevel(logging.INFO)


def request_id_from(header: str | None) -> str:
    """The caller's id when sane (so it can be followed across services), else a new one."""
    if header is not None and SANE_REQUEST_ID.fullmatch(header) and mask(header) == header:
        return header
    return uuid.uuid4().hex


@web.middleware
async def request_context(request: web.Request, handler: Handler) -> web.StreamResponse:
    """The outermost middleware: a request id for every log line of the request, and one
    access line when it ends (the route's pattern, never a path's tokens or the query)."""
    request_id = request_id_from(request.headers.get(REQUEST_ID_HEADER))
    request[REQUEST_ID_KEY] = request_id
    token = REQUEST_ID.set(request_id)
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:  # aiohttp's own answers (404, 405...) keep the id too
        status = exc.status
        raise
    finally:
        resource = request.match_info.route.resource
        route = resource.canonical if resource is not None else "(no route)"
        level = logging.DEBUG if request.path in QUIET_PATHS else logging.INFO
        access.log(
            level,
            "%s %s %s",
            request.method,
            route,
            status,
            extra={"ms": round((time.perf_counter() - started) * 1000, 1)},
        )
        REQUEST_ID.reset(token)


async def add_request_id(request: web.Request, response: web.StreamResponse) -> None:
    """on_response_prepare: the id goes back in the answer's header, streamed ones included."""
    request_id = request.get(REQUEST_ID_KEY)
    if request_id is not None:
        response.headers[REQUEST_ID_HEADER] = request_id
