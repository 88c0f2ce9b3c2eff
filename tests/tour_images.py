"""The README's tour images, made the way a newcomer sees them (`make tour-images`):

- `.github/images/board.png`: the board during `callout demo --replay`, mid-morning;
- `.github/images/day-chart.png`: each technician's demo day under the engine and under
  `first_free` (`callout simulate webhooks/demo/day.yaml --compare --chart FILE`).

Needs Debian's chromium (/usr/bin/chromium) and the `bench` extra (matplotlib)."""

from __future__ import annotations

import asyncio
import os
import re
import socket
import subprocess
import sys
import tempfile
from datetime import datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import aiohttp
from playwright.async_api import async_playwright

from tests.browser import ARGS, CHROMIUM

ROOT = Path(__file__).resolve().parent.parent
IMAGES = ROOT / ".github" / "images"
CALLOUT = str(Path(sys.executable).with_name("callout"))
ZONE = ZoneInfo("America/Chicago")  # the demo company's
SHOT_AT = time(10, 30)  # mid-morning: jobs under way, done and queued
SPEED = 240  # the morning in under a minute


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def board(out: Path) -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "CALLOUT_"))}
    with tempfile.TemporaryDirectory(prefix="callout-tour-") as folder:
        proc = await asyncio.create_subprocess_exec(
            CALLOUT,
            "demo",
            "--replay",
            "--speed",
            str(SPEED),
            cwd=folder,
            env={**env, "PORT": str(port)},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
        )
        try:
            assert proc.stdout is not None
            banner = ""
            while "Ctrl+C" not in banner:
                line = await asyncio.wait_for(proc.stdout.readline(), 60)
                if not line:
                    raise RuntimeError("`callout demo --replay` stopped before serving")
                banner += line.decode()
            token = re.search(r"Bearer (co_\S+)\)", banner)
            assert token is not None, banner
            base = f"http://127.0.0.1:{port}"
            await _wait_for_clock(base, SHOT_AT)
            await _shoot(base, token[1], out)
        finally:
            proc.terminate()
            await proc.wait()


async def _wait_for_clock(base: str, until: time) -> None:
    async with aiohttp.ClientSession() as http:
        while True:
            async with http.get(f"{base}/sim/replay") as response:
                status = await response.json()
            now = datetime.fromisoformat(status["clock"]).astimezone(ZONE).time()
            if status["state"] in ("done", "failed") or now >= until:
                return
            await asyncio.sleep(0.5)


async def _shoot(base: str, token: str, out: Path) -> None:
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        page = await browser.new_page(viewport={"width": 1500, "height": 860})
        await page.goto(f"{base}/board")
        await page.fill("#token", token)
        await page.click("#submit")
        await page.wait_for_selector("#live.on")
        await page.wait_for_timeout(1500)  # the first refresh after the stream opens
        out.parent.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(out))
        await browser.close()


def chart(out: Path) -> None:
    day = ROOT / "webhooks" / "demo" / "day.yaml"
    cmd = [CALLOUT, "simulate", str(day), "--compare", "--chart", str(out), "--quiet"]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)


def main() -> int:
    if not CHROMIUM.exists():
        print(f"tour images: headless Chromium is not installed at {CHROMIUM}", file=sys.stderr)
        return 2
    asyncio.run(board(IMAGES / "board.png"))
    chart(IMAGES / "day-chart.png")
    print(f"wrote {IMAGES / 'board.png'} and {IMAGES / 'day-chart.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
