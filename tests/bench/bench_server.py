"""Running `callout` as real subprocesses on loopback for the benchmarks, and cleaning up."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import aiohttp

from tests.bench import bench_company
from tests.doubles.twilio_forms import sign

CALLOUT = [sys.executable, "-c", "import sys; from webhooks.cli import main; sys.exit(main())"]
ROOT = Path(__file__).resolve().parents[2]
PUBLIC = "https://callout.bench.example"
ACCOUNT_SID = "AC" + "be7c4000" * 4
AUTH_TOKEN = "bench0auth0token0bench0auth0tok0"
FROM_NUMBER = "+15005550006"
DEMO_NOW = "2026-11-30T13:00:00+00:00"  # 07:00 in Austin on the demo day: crews on shift
SMS_PATH = "/webhooks/twilio/sms"
FORM_TYPE = "application/x-www-form-urlencoded"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def environment(database_url: str, media_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TWILIO_", "TELEGRAM_"))}
    env.update(
        DATABASE_URL=database_url,
        PUBLIC_BASE_URL=PUBLIC,
        TWILIO_ACCOUNT_SID=ACCOUNT_SID,
        TWILIO_AUTH_TOKEN=AUTH_TOKEN,
        TWILIO_FROM_NUMBER=FROM_NUMBER,
        # Nothing is sent (--no-worker), but point it at a closed loopback port regardless.
        TWILIO_API_BASE_URL="http://127.0.0.1:9",
        MEDIA_DIR=str(media_dir),
        CALLOUT_NOW=DEMO_NOW,
        LOG_LEVEL="WARNING",
        PYTHONPATH=str(ROOT),
    )
    return env


def callout(env: dict[str, str], *args: str, timeout: float = 600) -> str:
    done = subprocess.run(
        [*CALLOUT, *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout
    )
    if done.returncode != 0:
        raise RuntimeError(f"callout {' '.join(args)} failed: {done.stderr.strip()[-2000:]}")
    return done.stdout


def prepare(env: dict[str, str], company_file: Path) -> None:
    callout(env, "db", "upgrade")
    callout(env, "import", str(company_file))


def spawn(args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    """A quiet process of the project's, in a session of its own (stop() ends it)."""
    return subprocess.Popen(
        args,
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


@contextmanager
def servers(env: dict[str, str], count: int = 1) -> Iterator[list[tuple[int, int]]]:
    """`count` × `callout serve --no-worker`; yields (port, pid) pairs, stops them after."""
    procs: list[tuple[int, subprocess.Popen[bytes]]] = []
    try:
        for _ in range(count):
            port = free_port()
            proc = spawn(
                [*CALLOUT, "serve", "--no-worker", "--host", "127.0.0.1", "--port", str(port)], env
            )
            procs.append((port, proc))
        for port, proc in procs:
            asyncio.run(wait_healthy(port, proc))
        yield [(port, proc.pid) for port, proc in procs]
    finally:
        for _, proc in procs:
            stop(proc)


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


async def wait_healthy(port: int, proc: subprocess.Popen[bytes], limit: float = 60) -> None:
    deadline = time.monotonic() + limit
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"the server on port {port} exited with {proc.returncode}")
            try:
                async with http.get(f"http://127.0.0.1:{port}/healthz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.2)
    raise RuntimeError(f"the server on port {port} did not become healthy in {limit:.0f} s")


def rss_mib(pid: int) -> tuple[float, float]:
    """(current, peak) resident memory of a process in MiB, from /proc."""
    fields: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0]) / 1024
    return round(fields["VmRSS"], 1), round(fields["VmHWM"], 1)


def sms_form(sid: str, from_: str, body: str) -> dict[str, str]:
    return {
        "MessageSid": sid,
        "SmsSid": sid,
        "AccountSid": ACCOUNT_SID,
        "From": from_,
        "To": FROM_NUMBER,
        "Body": body,
        "NumMedia": "0",
    }


def signature(form: dict[str, str]) -> str:
    return sign(PUBLIC + SMS_PATH, form, AUTH_TOKEN)


@dataclass(frozen=True)
class Built:
    """A request encoded (and signed) ahead: the load generator shares the server's two
    cores, so what it can do before a phase starts it does then."""

    url: str
    body: bytes
    headers: dict[str, str]


def form_request(url: str, form: dict[str, str], headers: dict[str, str] | None = None) -> Built:
    """A form POST as aiohttp would encode `data=form`."""
    return Built(url, urlencode(form).encode(), {**(headers or {}), "Content-Type": FORM_TYPE})


def new_problem(port: int, n: int, phones: list[str]) -> Built:
    """The n-th signed SMS: a new problem, from one of `phones` in turn."""
    form = sms_form(f"SM{n:032d}", phones[n % len(phones)], bench_company.new_problem_text(n))
    url = f"http://127.0.0.1:{port}{SMS_PATH}"
    return form_request(url, form, {"X-Twilio-Signature": signature(form)})


async def post(http: aiohttp.ClientSession, built: Built) -> int:
    """Send a request built ahead; the status."""
    async with http.post(built.url, data=built.body, headers=built.headers) as r:
        await r.read()
        return r.status


async def send_new_problem(
    http: aiohttp.ClientSession, port: int, n: int, phones: list[str]
) -> int:
    """The n-th signed SMS (a new problem, from one of `phones` in turn); the status."""
    return await post(http, new_problem(port, n, phones))
