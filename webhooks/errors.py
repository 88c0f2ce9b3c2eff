"""Errors as JSON `{"error", "message"}` on the API; nothing ever leaks as a bare 500."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from dispatch.ports import Contention

log = logging.getLogger("callout.http")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "unprocessable",
    429: "rate_limited",
    503: "busy",
}


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def json_error(status: int, code: str, message: str) -> web.Response:
    response = web.json_response({"error": code, "message": message}, status=status)
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="callout"'
    return response


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    max_size = request.app._client_max_size  # aiohttp keeps the limit private
    if request.content_length is not None and request.content_length > max_size:
        return json_error(413, "too_large", f"the body is over {max_size} bytes")
    try:
        return await handler(request)
    except ApiError as err:
        return json_error(err.status, err.code, err.message)
    except web.HTTPRequestEntityTooLarge:
        return json_error(413, "too_large", f"the body is over {max_size} bytes")
    except web.HTTPException as exc:
        if exc.status >= 400 and request.path.startswith("/api/"):
            return json_error(exc.status, CODES.get(exc.status, "error"), exc.reason)
        raise
    except Contention:
        # The database gave the change up for a concurrent one's; nothing of it was kept.
        log.warning("given up for a concurrent transaction", extra={"path": request.path})
        busy = json_error(
            503, "busy", "another change got in the way; nothing was saved, try again"
        )
        busy.headers["Retry-After"] = "1"
        return busy
    except Exception:
        log.exception("unhandled error", extra={"path": request.path})
        return json_error(500, "internal", "something went wrong on our side; it was logged")
