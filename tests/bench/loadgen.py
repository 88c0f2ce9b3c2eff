"""The load benchmark's open-loop HTTP/1.1 client, on asyncio's transports and llhttp.

The generator shares the server's two cores, so every microsecond it spends on a request is
taken from the server. aiohttp's client spent 0.2 to 0.35 ms of CPU a request here (a task,
a timer, its request and response objects, a connector lookup), this 0.07 to 0.17 ms
(tests/bench/HISTORY.md, the twenty-fifth stop): it sends bytes encoded before the phase and
parses only the status line and the end of the response, with httptools (llhttp, Node's C
parser), so it can tell a complete response (Content-Length or chunked, as aiohttp's server
frames every one) from a cut one.

Open loop: request i is written at start + i/rate whatever happened to the earlier ones (one
`loop.call_at` at a time, waking for the next due request and writing all that are due, no
task per request), and its latency counts from that planned moment (no coordinated
omission). Each connection carries one request at a time and is kept alive for the next,
like aiohttp's connector with no limit: a request that finds no idle connection to its
server opens one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httptools

REFUSED = 0  # the status recorded for a timeout, a refused connection or a cut response


@dataclass(frozen=True)
class Raw:
    """One request's bytes, ready to write, and the server it goes to."""

    host: str
    port: int
    data: bytes


def encode(url: str, body: bytes, headers: dict[str, str]) -> Raw:
    """A POST of `body` to `url` as HTTP/1.1 bytes (keep-alive)."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    lines = [f"POST {path} HTTP/1.1", f"Host: {host}:{port}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    lines += [f"Content-Length: {len(body)}", "", ""]
    return Raw(host, port, "\r\n".join(lines).encode("latin-1") + body)


@dataclass
class Outcome:
    """What a phase got back: the latency in ms of each 2xx, and the count of every other
    status (REFUSED for a timeout or a connection that failed)."""

    latencies: list[float] = field(default_factory=list)
    failed: dict[int, int] = field(default_factory=dict)
    elapsed: float = 0.0

    def fail(self, status: int) -> None:
        self.fail_many(status, 1)

    def fail_many(self, status: int, count: int) -> None:
        if count:
            self.failed[status] = self.failed.get(status, 0) + count


class _Connection(asyncio.Protocol):
    """One keep-alive connection; at most one request in flight."""

    def __init__(self, run: _Run, key: tuple[str, int]) -> None:
        self.run = run
        self.key = key
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.planned: float | None = None  # the planned start of the request in flight
        self.keep = True

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def send(self, raw: Raw, planned: float) -> None:
        assert self.transport is not None
        self.planned = planned
        self.transport.write(raw.data)

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except (httptools.HttpParserError, httptools.HttpParserUpgrade):
            self._cut()

    def on_headers_complete(self) -> None:
        self.keep = self.parser.should_keep_alive()

    def on_message_complete(self) -> None:
        planned, self.planned = self.planned, None
        if planned is None:
            return
        status = self.parser.get_status_code()
        if self.keep and not self.run.over and self.transport and not self.transport.is_closing():
            self.run.idle.setdefault(self.key, []).append(self)
        else:
            self._close()
        self.run.done(planned, status)

    def connection_lost(self, exc: Exception | None) -> None:
        idle = self.run.idle.get(self.key, [])
        if self in idle:
            idle.remove(self)
        self.run.connections.discard(self)
        self._fail()  # a response still in flight was cut (httptools cannot end one at EOF)

    def _cut(self) -> None:
        self._fail()
        self._close()

    def _fail(self) -> None:
        planned, self.planned = self.planned, None
        if planned is not None:
            self.run.done(planned, REFUSED)

    def _close(self) -> None:
        if self.transport is not None:
            self.transport.close()


class _Run:
    """One phase's requests in flight and the connections they use."""

    def __init__(self, loop: asyncio.AbstractEventLoop, total: int, timeout: float) -> None:
        self.loop = loop
        self.timeout = timeout
        self.outcome = Outcome()
        self.left = total
        self.finished = loop.create_future()
        self.idle: dict[tuple[str, int], list[_Connection]] = {}
        self.connections: set[_Connection] = set()
        self.opening: set[asyncio.Task[None]] = set()
        self.over = False  # the phase has ended: what still arrives is not counted
        if not total:
            self.finished.set_result(None)

    def fire(self, raw: Raw, planned: float) -> None:
        key = (raw.host, raw.port)
        idle = self.idle.get(key)
        if idle:
            idle.pop().send(raw, planned)
            return
        task = self.loop.create_task(self._open(key, raw, planned))
        self.opening.add(task)
        task.add_done_callback(self.opening.discard)

    async def _open(self, key: tuple[str, int], raw: Raw, planned: float) -> None:
        try:
            _, connection = await self.loop.create_connection(
                lambda: _Connection(self, key), key[0], key[1]
            )
        except OSError:
            self.done(planned, REFUSED)
            return
        self.connections.add(connection)
        connection.send(raw, planned)

    def done(self, planned: float, status: int) -> None:
        if self.over:
            return
        latency = self.loop.time() - planned
        if 200 <= status < 300 and latency <= self.timeout:
            self.outcome.latencies.append(latency * 1000)
        else:
            self.outcome.fail(status if latency <= self.timeout else REFUSED)
        self.left -= 1
        if not self.left and not self.finished.done():
            self.finished.set_result(None)

    def close(self) -> None:
        self.over = True
        for task in self.opening:
            task.cancel()
        for connection in list(self.connections):
            connection._close()


async def open_loop(requests: Sequence[Raw], rate: float, patience: float) -> Outcome:
    """Send `requests` at `rate` a second, open loop; wait for each answer up to `patience`
    seconds after its planned start; what is still unanswered then counts as REFUSED."""
    loop = asyncio.get_running_loop()
    run = _Run(loop, len(requests), patience)
    start = loop.time()
    sent = 0

    def due() -> None:
        """Write every request whose moment has come, then wake at the next one's."""
        nonlocal sent
        now = loop.time()
        while sent < len(requests) and start + sent / rate <= now:
            run.fire(requests[sent], start + sent / rate)
            sent += 1
        if sent < len(requests) and not run.over:
            loop.call_at(start + sent / rate, due)

    due()
    last = start + max(0, len(requests) - 1) / rate
    try:
        await asyncio.wait_for(asyncio.shield(run.finished), last + patience - loop.time())
    except TimeoutError:
        run.outcome.fail_many(REFUSED, run.left)
    finally:
        run.close()
    run.outcome.elapsed = loop.time() - start
    return run.outcome
