"""The load benchmark's own HTTP client (`tests/bench/loadgen.py`) against real aiohttp
servers on loopback: what it sends arrives whole, and what comes back is counted right,
whatever the framing, the status, or a connection that fails."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from aiohttp import web

from tests.bench import loadgen

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@asynccontextmanager
async def _serve(handler: Handler) -> AsyncIterator[int]:
    app = web.Application()
    app.router.add_post("/{tail:.*}", handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    # Port 0, read back from the runner (as tests/doubles/fixtures.py does): no window in
    # which another process could take a port picked ahead.
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield int(runner.addresses[0][1])
    finally:
        await runner.cleanup()


def _requests(port: int, count: int) -> list[loadgen.Raw]:
    return [
        loadgen.encode(
            f"http://127.0.0.1:{port}/webhooks/sms?n={n}",
            f"Body=text+{n}".encode(),
            {"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": f"s{n}"},
        )
        for n in range(count)
    ]


async def test_every_request_arrives_whole_and_each_answer_is_counted() -> None:
    seen: list[tuple[str, str, bytes, str, str]] = []
    peers: set[object] = set()

    async def handler(request: web.Request) -> web.Response:
        body = await request.read()
        seen.append(
            (
                request.path,
                request.query["n"],
                body,
                request.headers["X-Twilio-Signature"],
                request.content_type,
            )
        )
        peers.add(request.transport.get_extra_info("peername") if request.transport else None)
        n = int(request.query["n"])
        return web.Response(status=503 if n % 10 == 3 else 200, text=f"<Response>{n}</Response>")

    async with _serve(handler) as port:
        got = await loadgen.open_loop(_requests(port, 40), rate=400, patience=10)
    assert sorted(seen, key=lambda s: int(s[1])) == [
        (
            "/webhooks/sms",
            str(n),
            f"Body=text+{n}".encode(),
            f"s{n}",
            "application/x-www-form-urlencoded",
        )
        for n in range(40)
    ]
    assert len(got.latencies) == 36
    assert got.failed == {503: 4}
    assert all(ms >= 0 for ms in got.latencies)
    assert got.elapsed > 0
    assert len(peers) < 40  # kept alive: connections are used again


async def test_requests_are_not_held_back_by_slow_answers() -> None:
    """Open loop: with every answer held until all 12 requests have arrived, the 12 must
    have been sent on connections of their own."""
    arrived = 0
    everyone = asyncio.Event()

    async def handler(request: web.Request) -> web.Response:
        nonlocal arrived
        await request.read()
        arrived += 1
        if arrived == 12:
            everyone.set()
        await everyone.wait()
        return web.Response(text="ok")

    async with _serve(handler) as port:
        got = await loadgen.open_loop(_requests(port, 12), rate=1000, patience=10)
    assert len(got.latencies) == 12
    assert got.failed == {}


async def test_a_chunked_answer_is_complete() -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        await request.read()
        response = web.StreamResponse()
        response.enable_chunked_encoding()
        await response.prepare(request)
        await response.write(b"<Response>")
        await response.write(b"</Response>")
        await response.write_eof()
        return response

    async with _serve(handler) as port:
        got = await loadgen.open_loop(_requests(port, 6), rate=200, patience=10)
    assert len(got.latencies) == 6
    assert got.failed == {}


async def test_a_refused_connection_counts_as_refused() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])  # bound, never listening: connections are refused
        got = await loadgen.open_loop(_requests(port, 5), rate=500, patience=10)
    assert got.latencies == []
    assert got.failed == {loadgen.REFUSED: 5}


async def test_a_cut_answer_and_an_unanswered_request_count_as_refused() -> None:
    released = asyncio.Event()

    async def handler(request: web.Request) -> web.StreamResponse:
        await request.read()
        n = int(request.query["n"])
        if n == 0:  # headers promise 100 bytes, then the connection ends
            response = web.StreamResponse(headers={"Content-Length": "100"})
            await response.prepare(request)
            await response.write(b"short")
            assert request.transport is not None
            request.transport.close()
            return response
        if n == 1:  # not answered until the phase is over
            await released.wait()
        return web.Response(text="ok")

    async with _serve(handler) as port:
        got = await loadgen.open_loop(_requests(port, 3), rate=100, patience=1.0)
        released.set()
    assert len(got.latencies) == 1
    assert got.failed == {loadgen.REFUSED: 2}


def test_encode_writes_the_request_line_headers_and_length() -> None:
    raw = loadgen.encode("http://127.0.0.1:8080/a/b?x=1", b"k=v", {"X-Twilio-Signature": "sig"})
    assert (raw.host, raw.port) == ("127.0.0.1", 8080)
    assert raw.data == (
        b"POST /a/b?x=1 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nX-Twilio-Signature: sig\r\n"
        b"Content-Length: 3\r\n\r\nk=v"
    )


async def test_nothing_to_send_ends_at_once() -> None:
    got = await loadgen.open_loop([], rate=100, patience=10)
    assert (got.latencies, got.failed) == ([], {})
