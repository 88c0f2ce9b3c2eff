"""Real `callout` processes for deployment tests: web and worker on one database."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

CALLOUT = str(Path(sys.executable).with_name("callout"))
# The processes run the code these tests were loaded from, whatever the install points at.
ROOT = str(Path(__file__).resolve().parent.parent)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Deployment:
    """`release`, then web and worker processes as the Procfile has them."""

    env: dict[str, str]
    folder: Path
    procs: dict[str, asyncio.subprocess.Process] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)

    async def run(self, *args: str) -> str:
        proc = await asyncio.create_subprocess_exec(
            CALLOUT,
            *args,
            env={**self.env, "PYTHONPATH": ROOT},
            cwd=self.folder,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(proc.communicate(), 120)
        assert proc.returncode == 0, err.decode()[-2000:]
        return out.decode()

    async def start(self, name: str, *args: str) -> None:
        env = {**self.env, "PYTHONPATH": ROOT}
        if args[:1] == ("serve",):
            self.ports[name] = free_port()
            env["PORT"] = str(self.ports[name])
        log = (self.folder / f"{name}.log").open("ab")
        self.procs[name] = await asyncio.create_subprocess_exec(
            CALLOUT, *args, env=env, cwd=self.folder, stdout=log, stderr=log
        )
        if name in self.ports:
            await self.wait_healthy(name)

    async def wait_healthy(self, name: str) -> None:
        url = f"http://127.0.0.1:{self.ports[name]}/healthz"
        async with aiohttp.ClientSession() as http:
            for _ in range(300):
                try:
                    async with http.get(url) as response:
                        if response.status == 200:
                            return
                except aiohttp.ClientConnectionError:
                    pass
                assert self.procs[name].returncode is None, f"{name} exited"
                await asyncio.sleep(0.1)
        raise AssertionError(f"{name} did not become healthy")

    def kill(self, name: str) -> None:
        """kill -9: no cleanup, no goodbye."""
        os.kill(self.procs[name].pid, signal.SIGKILL)

    async def stop_all(self) -> None:
        for proc in self.procs.values():
            if proc.returncode is None:
                proc.terminate()
        for proc in self.procs.values():
            try:
                await asyncio.wait_for(proc.wait(), 15)
            except TimeoutError:
                proc.kill()
                await proc.wait()
