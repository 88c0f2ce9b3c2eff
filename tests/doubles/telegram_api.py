"""A local double of the Telegram Bot API server, for tests.

    async with TelegramDouble() as tg:
        bot = Bot(tg.token, base_url=f"{tg.url}/bot", base_file_url=f"{tg.url}/file/bot")

Serves `/bot<token>/<method>` (JSON, urlencoded or multipart bodies, like the real server)
and `/file/bot<token>/<file_path>`. State, records and update builders: `TelegramWorld`.
"""

from __future__ import annotations

import copy
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web

from . import telegram_objects as obj
from . import telegram_wire as wire
from .telegram_world import Failure, JSONDict, TelegramCall, TelegramWorld

Answer = tuple[Any, str | None]  # (result, description)
Handler = Callable[[JSONDict, wire.Files], Awaitable[Answer]]


@dataclass
class TelegramDouble(TelegramWorld):
    """The Bot API server on 127.0.0.1 and a random port, while inside `async with`."""

    host: str = "127.0.0.1"
    port: int = 0
    _runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        """Server root; the Bot API base is f"{url}/bot", files are under f"{url}/file/bot"."""
        return f"http://{self.host}:{self.port}"

    async def __aenter__(self) -> TelegramDouble:
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_get("/file/bot{token}/{path:.+}", self._download)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def deliver(self, update: JSONDict, url: str) -> int:
        """POST an update to the product's webhook as Telegram does; return the HTTP status.

        The secret header is the one given to setWebhook, if any.
        """
        headers = {}
        if secret := self.webhook.get("secret_token"):
            headers["X-Telegram-Bot-Api-Secret-Token"] = str(secret)
        async with (
            aiohttp.ClientSession() as session,
            session.post(url, json=update, headers=headers) as response,
        ):
            return response.status

    # HTTP plumbing ----------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return wire.error(401, "Unauthorized")
        method = request.match_info["method"]
        handler = self._handlers().get(method.lower())
        if handler is None:
            return wire.error(404, "Not Found")
        try:
            params, files = await wire.read_params(request)
            chat_id = wire.chat_id_of(params)
        except wire.ApiError as exc:
            return wire.error(exc.status, exc.description)
        failure = self.take_failure(chat_id)
        if failure is not None:
            return self._fail(request, method, chat_id, params, failure)
        try:
            result, description = await handler(params, files)
        except (wire.ApiError, obj.BadRequest) as exc:
            status = exc.status if isinstance(exc, wire.ApiError) else 400
            text = exc.description if isinstance(exc, wire.ApiError) else f"Bad Request: {exc}"
            self.sent.append(TelegramCall(method, chat_id, params, status, None, text))
            return wire.error(status, text)
        self.sent.append(TelegramCall(method, chat_id, params, 200, result, description))
        body: JSONDict = {"ok": True, "result": result}
        if description:
            body["description"] = description
        return web.json_response(body)

    def _fail(
        self,
        request: web.Request,
        method: str,
        chat_id: int | None,
        params: JSONDict,
        failure: Failure,
    ) -> web.StreamResponse:
        def record(status: int, description: str) -> None:
            self.sent.append(TelegramCall(method, chat_id, params, status, None, description))

        if failure.kind == "network":
            record(0, "connection dropped")
            assert request.transport is not None
            request.transport.abort()
            return web.Response()
        if failure.kind == "retry_after":
            text = f"Too Many Requests: retry after {failure.retry_after}"
            record(429, text)
            return wire.error(429, text, parameters={"retry_after": failure.retry_after})
        if failure.kind == "blocked":
            record(403, "Forbidden: bot was blocked by the user")
            return wire.error(403, "Forbidden: bot was blocked by the user")
        if failure.kind == "chat_not_found":
            record(400, "Bad Request: chat not found")
            return wire.error(400, "Bad Request: chat not found")
        if failure.status == 502:
            record(502, "Bad Gateway")
            return web.Response(status=502, text=wire.BAD_GATEWAY_PAGE, content_type="text/html")
        record(failure.status, "Internal Server Error")
        return wire.error(failure.status, "Internal Server Error")

    async def _download(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return wire.error(401, "Unauthorized")
        stored = self.file_by_path(request.match_info["path"])
        if stored is None:
            return wire.error(404, "Not Found")
        return web.Response(body=stored.content, content_type="application/octet-stream")

    def _handlers(self) -> dict[str, Handler]:
        return {
            "getme": self._get_me,
            "sendmessage": self._send_message,
            "editmessagetext": self._edit_message_text,
            "editmessagereplymarkup": self._edit_message_reply_markup,
            "answercallbackquery": self._answer_callback_query,
            "sendphoto": self._send_photo,
            "senddocument": self._send_document,
            "sendlocation": self._send_location,
            "getfile": self._get_file,
            "setwebhook": self._set_webhook,
            "deletewebhook": self._delete_webhook,
            "getwebhookinfo": self._get_webhook_info,
            "getupdates": self._get_updates,
            "deletemessage": self._delete_message,
            "sendchataction": self._accept_quietly,
            "setmycommands": self._accept_quietly,
        }

    # Bot API methods --------------------------------------------------------------------

    async def _get_me(self, params: JSONDict, files: wire.Files) -> Answer:
        me = self.bot_user
        me.update(
            can_join_groups=True,
            can_read_all_group_messages=False,
            supports_inline_queries=False,
            can_connect_to_business=False,
            has_main_web_app=False,
        )
        return me, None

    async def _send_message(self, params: JSONDict, files: wire.Files) -> Answer:
        chat_id = wire.required_chat(params)
        text, entities = wire.formatted(params.get("text"), params.get("parse_mode"), limit=4096)
        markup = obj.check_reply_markup(params.get("reply_markup"))
        message = self.store_message(
            chat_id, self.bot_user, text=text, entities=entities or None, reply_markup=markup
        )
        return message, None

    async def _edit_message_text(self, params: JSONDict, files: wire.Files) -> Answer:
        message = self._editable(params)
        if "text" not in message:
            raise obj.BadRequest("there is no text in the message to edit")
        text, entities = wire.formatted(params.get("text"), params.get("parse_mode"), limit=4096)
        markup = obj.check_reply_markup(params.get("reply_markup"))
        changed = {"text": text, "entities": entities or None, "reply_markup": markup}
        return self._apply_edit(message, changed), None

    async def _edit_message_reply_markup(self, params: JSONDict, files: wire.Files) -> Answer:
        message = self._editable(params)
        markup = obj.check_reply_markup(params.get("reply_markup"))
        return self._apply_edit(message, {"reply_markup": markup}), None

    def _editable(self, params: JSONDict) -> JSONDict:
        if "inline_message_id" in params:
            raise obj.BadRequest("MESSAGE_ID_INVALID")
        chat_id = wire.required_chat(params)
        if "message_id" not in params:
            raise obj.BadRequest("message identifier is not specified")
        message = self.message(chat_id, int(params["message_id"]))
        if message is None:
            raise obj.BadRequest("message to edit not found")
        if message["from"]["id"] != self.bot_id:
            raise obj.BadRequest("message can't be edited")
        return message

    def _apply_edit(self, message: JSONDict, changed: JSONDict) -> JSONDict:
        if all(message.get(key) == value for key, value in changed.items()):
            raise obj.BadRequest(
                "message is not modified: specified new message content and reply markup are"
                " exactly the same as a current content and reply markup of the message"
            )
        for key, value in changed.items():
            if value is None:
                message.pop(key, None)
            else:
                message[key] = value
        message["edit_date"] = self.now()
        return copy.deepcopy(message)

    async def _answer_callback_query(self, params: JSONDict, files: wire.Files) -> Answer:
        query_id = str(params.get("callback_query_id", ""))
        if not self.answer_callback(query_id, params):
            raise obj.BadRequest(
                "query is too old and response timeout expired or query ID is invalid"
            )
        return True, None

    async def _send_photo(self, params: JSONDict, files: wire.Files) -> Answer:
        chat_id = wire.required_chat(params)
        stored = self._input_file("photos", params.get("photo"), files, "photo", "image/jpeg")
        return self._send_media(chat_id, params, photo=obj.photo_sizes(stored)), None

    async def _send_document(self, params: JSONDict, files: wire.Files) -> Answer:
        chat_id = wire.required_chat(params)
        stored = self._input_file(
            "documents", params.get("document"), files, "document", "application/octet-stream"
        )
        document = {
            "file_name": files["document"].filename
            if "document" in files
            else stored.file_path.rsplit("/", 1)[-1],
            "mime_type": stored.mime_type,
        }
        document.update({k: v for k, v in stored.as_file().items() if k != "file_path"})
        return self._send_media(chat_id, params, document=document), None

    def _send_media(self, chat_id: int, params: JSONDict, **content: Any) -> JSONDict:
        caption, entities = None, None
        if params.get("caption"):
            caption, entities = wire.formatted(params["caption"], params.get("parse_mode"), 1024)
        markup = obj.check_reply_markup(params.get("reply_markup"))
        return self.store_message(
            chat_id,
            self.bot_user,
            **content,
            caption=caption,
            caption_entities=entities or None,
            reply_markup=markup,
        )

    def _input_file(
        self, kind: str, value: Any, files: wire.Files, field_name: str, mime: str
    ) -> obj.StoredFile:
        if isinstance(value, str) and value.startswith("attach://"):
            field_name, value = value.removeprefix("attach://"), None
        upload = files.get(field_name)
        if upload is not None:
            content = upload.file.read()
            return self.add_file(kind, content, upload.content_type or mime, upload.filename)
        if isinstance(value, str) and value in self.files:
            return self.files[value]
        if isinstance(value, str) and value.startswith(("http://", "https://")):
            # The real server fetches the URL; the double keeps a stand-in body.
            return self.add_file(kind, f"fetched from {value}".encode(), mime)
        raise obj.BadRequest("wrong file identifier/HTTP URL specified")

    async def _send_location(self, params: JSONDict, files: wire.Files) -> Answer:
        chat_id = wire.required_chat(params)
        try:
            latitude, longitude = float(params["latitude"]), float(params["longitude"])
        except (KeyError, TypeError, ValueError) as exc:
            raise obj.BadRequest("wrong latitude or longitude") from exc
        if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
            raise obj.BadRequest("wrong latitude or longitude")
        location = {"latitude": latitude, "longitude": longitude}
        markup = obj.check_reply_markup(params.get("reply_markup"))
        message = self.store_message(chat_id, self.bot_user, location=location, reply_markup=markup)
        return message, None

    async def _get_file(self, params: JSONDict, files: wire.Files) -> Answer:
        file_id = str(params.get("file_id", ""))
        stored = self.files.get(file_id.removesuffix("-thumb"))
        if stored is None:
            raise obj.BadRequest("invalid file_id")
        return stored.as_file(), None

    async def _set_webhook(self, params: JSONDict, files: wire.Files) -> Answer:
        url = str(params.get("url", ""))
        if not url:
            return await self._delete_webhook(params, files)
        parts = urlsplit(url)
        if parts.scheme != "https":
            raise obj.BadRequest("bad webhook: An HTTPS URL must be provided for webhook")
        if parts.port not in (None, 80, 88, 443, 8443):
            raise obj.BadRequest(
                "bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443"
            )
        secret = params.get("secret_token")
        if secret is not None and not wire.valid_secret(str(secret)):
            raise obj.BadRequest("secret token contains unallowed characters")
        already = self.webhook.get("url") == url
        self.webhook = {key: value for key, value in params.items() if value is not None}
        return True, "Webhook is already set" if already else "Webhook was set"

    async def _delete_webhook(self, params: JSONDict, files: wire.Files) -> Answer:
        existed = bool(self.webhook)
        self.webhook = {}
        return True, "Webhook was deleted" if existed else "Webhook is already deleted"

    async def _get_webhook_info(self, params: JSONDict, files: wire.Files) -> Answer:
        info: JSONDict = {
            "url": self.webhook.get("url", ""),
            "has_custom_certificate": False,
            "pending_update_count": 0,
        }
        if self.webhook:
            info["max_connections"] = self.webhook.get("max_connections", 40)
            info["ip_address"] = "127.0.0.1"
            if "allowed_updates" in self.webhook:
                info["allowed_updates"] = self.webhook["allowed_updates"]
        return info, None

    async def _delete_message(self, params: JSONDict, files: wire.Files) -> Answer:
        chat_id = wire.required_chat(params)
        if not self.forget_message(chat_id, int(params.get("message_id", 0))):
            raise obj.BadRequest("message to delete not found")
        return True, None

    async def _accept_quietly(self, params: JSONDict, files: wire.Files) -> Answer:
        """Methods with no visible effect in a test (chat actions, command menus)."""
        return True, None

    async def _get_updates(self, params: JSONDict, files: wire.Files) -> Answer:
        if self.webhook:
            raise wire.ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active;"
                " use deleteWebhook to delete the webhook first",
            )
        return [], None
