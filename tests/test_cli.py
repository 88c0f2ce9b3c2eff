"""The `callout` command as a user runs it: real processes, real HTTP on loopback."""

from __future__ import annotations

import asyncio
import os
import re
import socket
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp

CALLOUT = str(Path(sys.executable).with_name("callout"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def env_for(folder: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "CALLOUT_"))}
    env.update({"DATABASE_URL": f"sqlite+aiosqlite:///{folder / 'callout.db'}", **extra})
    return env


async def run(folder: Path, *args: str, **extra: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        CALLOUT,
        *args,
        cwd=folder,
        env=env_for(folder, **extra),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


@asynccontextmanager
async def server(folder: Path, *args: str, **extra: str) -> AsyncIterator[tuple[str, list[str]]]:
    """Start `callout ARGS`, wait until /healthz answers, yield (base URL, stdout lines)."""
    port = free_port()
    proc = await asyncio.create_subprocess_exec(
        CALLOUT,
        *args,
        cwd=folder,
        env=env_for(folder, PORT=str(port), **extra),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    base, lines = f"http://127.0.0.1:{port}", list[str]()
    try:
        assert proc.stdout is not None
        async with aiohttp.ClientSession() as http:
            for _ in range(600):  # up to 60 s, the README's promise
                try:
                    async with http.get(f"{base}/healthz") as response:
                        if response.status == 200:
                            break
                except aiohttp.ClientConnectionError:
                    pass
                assert proc.returncode is None, "the server exited"
                await asyncio.sleep(0.1)
            else:
                raise AssertionError("/healthz did not answer within 60 s")
        while not lines or "Ctrl+C" not in lines[-1]:
            line = await asyncio.wait_for(proc.stdout.readline(), 10)
            if not line:
                break
            lines.append(line.decode().rstrip())
        yield base, lines
    finally:
        proc.terminate()
        await proc.wait()


async def test_serve_refuses_a_database_without_the_schema_and_says_how_to_fix_it(
    tmp_path: Path,
) -> None:
    code, _, err = await run(tmp_path, "serve", PORT=str(free_port()))
    assert code == 2
    assert "run `callout db upgrade`" in err
    assert len(err.strip().splitlines()) == 1


async def test_a_bad_setting_stops_the_start_with_one_line(tmp_path: Path) -> None:
    code, _, err = await run(tmp_path, "serve", PORT="eighty")
    assert code == 2
    assert err.strip() == "callout: PORT: expected a port number 1-65535, got 'eighty'"


async def test_upgrade_import_token_then_serve(tmp_path: Path) -> None:
    company = Path(__file__).resolve().parent.parent / "webhooks" / "demo" / "company.yaml"
    assert (await run(tmp_path, "db", "upgrade"))[0] == 0
    assert (await run(tmp_path, "db", "upgrade"))[0] == 0  # idempotent
    code, out, _ = await run(tmp_path, "import", str(company))
    assert code == 0
    assert "technicians: 12 new" in out
    code, out, _ = await run(tmp_path, "token", "create", "ops")
    assert code == 0
    token = out.strip()
    assert re.fullmatch(r"co_[A-Za-z0-9_-]{40,}", token)
    async with (
        server(tmp_path, "serve", "--no-worker") as (base, _),
        aiohttp.ClientSession() as http,
        http.get(
            f"{base}/api/v1/technicians", headers={"Authorization": f"Bearer {token}"}
        ) as response,
    ):
        assert response.status == 200
        assert len((await response.json())["items"]) == 12


async def test_demo_starts_on_an_empty_folder_and_prints_its_urls(tmp_path: Path) -> None:
    async with server(tmp_path, "demo") as (base, lines):
        text = "\n".join(lines)
        assert f"{base}/healthz" in text
        assert "starts at 2026-11-30T07:00:00-06:00" in text
        token = re.search(r"Bearer (co_\S+)\)", text)
        assert token is not None
        async with (
            aiohttp.ClientSession() as http,
            http.get(
                f"{base}/api/v1/customers/C001", headers={"Authorization": f"Bearer {token[1]}"}
            ) as response,
        ):
            assert (await response.json())["name"] == "Lone Star Restaurant Group"
    assert (tmp_path / "callout.db").exists()


async def test_demo_speed_goes_with_replay_and_must_be_a_sane_number(tmp_path: Path) -> None:
    code, _, err = await run(tmp_path, "demo", "--speed", "60")
    assert (code, err.strip()) == (2, "callout demo: --speed goes with --replay")
    code, _, err = await run(tmp_path, "demo", "--replay", "--speed", "0")
    assert code == 2
    assert err.strip().startswith("callout demo: --speed: expected a number above 0")
    assert not (tmp_path / "callout.db").exists()


async def test_a_bad_clock_speed_stops_the_start_with_one_line(tmp_path: Path) -> None:
    code, _, err = await run(tmp_path, "serve", CALLOUT_CLOCK_SPEED="fast")
    assert code == 2
    assert err.strip().startswith("callout: CALLOUT_CLOCK_SPEED: expected a number above 0")


async def test_demo_replay_plays_the_day_on_the_running_server(tmp_path: Path) -> None:
    async with server(tmp_path, "demo", "--replay", "--speed", "600") as (base, lines):
        text = "\n".join(lines)
        assert "the demo day plays at 600x" in text
        token = re.search(r"Bearer (co_\S+)\)", text)
        assert token is not None
        auth = {"Authorization": f"Bearer {token[1]}"}
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{base}/sim/replay") as response:
                assert (await response.json())["state"] == "running"
            for _ in range(600):  # until the day's first requests are work orders
                async with http.get(f"{base}/api/v1/work-orders?limit=100", headers=auth) as r:
                    items = (await r.json())["items"]
                if any(i["source_channel"] == "sim" for i in items):
                    break
                await asyncio.sleep(0.1)
            else:
                raise AssertionError("no replayed request became a work order")
