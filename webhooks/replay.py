"""Playing the demo day live (`callout demo --replay`, the button on `/sim`).

The bundled day's requests go to the running server's simulator channel (`POST /sim/send`)
at their times, while the server's own clock runs `speed` times faster than real time. The
simulated technicians, customers and dispatcher are those of `callout simulate`
(`webhooks/simulate/world.py`): they answer what the server's worker delivered to their
phones. The preventive maintenance due that day opens when the day starts playing (the demo
holds it back so that it opens on an empty queue). When the day is over the clock goes back
to its speed before the replay."""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
from aiohttp import web
from sqlalchemy import func, select

from bot.notify import publish
from dispatch.clock import MAX_SPEED, Clock, FixedClock, StartedClock
from dispatch.company import Company
from dispatch.pm_orders import open_due_pm
from storage.tables import OutboxRow, WorkOrderRow
from webhooks.app import SERVICES, Services
from webhooks.demo import DAY_FILE
from webhooks.simulate.product import Product
from webhooks.simulate.run import day_span
from webhooks.simulate.scenario import (
    Scenario,
    ScenarioError,
    check_against_company,
    load_scenario,
)
from webhooks.simulate.world import Simulation

log = logging.getLogger("callout.replay")

DEFAULT_SPEED = 180.0  # three simulated minutes a second: the demo day in about four minutes
SPEEDS = (60, 180, 600)  # the choices on /sim
TICK_SECONDS = 0.2  # how often (real time) the simulated people look at their phones


class ReplayError(Exception):
    """Why the day cannot be played now, in one line for the person who asked."""


def replay_claim(day: date) -> str:
    """The database counter that lets a database play its demo day once."""
    return f"demo-replay-{day.isoformat()}"


@dataclass
class Replay:
    """The state of the one replay a server may run, for `GET /sim/replay`."""

    state: str = "idle"  # idle | running | done | failed | stopped
    speed: float = 0.0
    progress: float = 0.0
    message: str = ""
    task: asyncio.Task[None] | None = None
    done: list[Callable[[Replay], None]] = field(default_factory=list)

    def status(self, clock: Clock) -> dict[str, Any]:
        return {
            "state": self.state,
            "speed": self.speed,
            "progress": round(self.progress, 3),
            "clock": clock.now().isoformat(),
            "message": self.message,
        }


REPLAY = web.AppKey("replay", Replay)


@dataclass(kw_only=True)
class LiveDay(Simulation):
    """The simulated people of `callout simulate`, on the running server: they speak through
    its simulator channel over HTTP, read its clock, and leave delivery and deadlines to its
    worker."""

    live_clock: Clock
    base_url: str
    http: aiohttp.ClientSession

    @property
    def clock(self) -> Clock:
        return self.live_clock

    async def say(
        self, phone: str, text: str = "", *, choice: str | None = None, ext: str | None = None
    ) -> None:
        self.messages += 1
        body = {"from": phone, "text": text, "choice": choice}
        async with self.http.post(f"{self.base_url}/sim/send", json=body) as response:
            if response.status >= 300:
                log.warning(
                    "the simulator channel refused a replayed message",
                    extra={"status": response.status, "body": (await response.text())[:200]},
                )

    async def play(
        self, start: datetime, end: datetime, on_progress: Callable[[float], None]
    ) -> None:
        """Act at the day's times as the server's clock reaches them, until the day's end."""
        self.schedule_day()
        while (now := self.now) < end:
            while self.heap and self.heap[0][0] <= now:
                _, _, _, action = heapq.heappop(self.heap)
                await action()
            await self._move_idle_technicians()
            await self.react_to_delivered()
            on_progress(max(0.0, min(1.0, (now - start) / (end - start))))
            await asyncio.sleep(TICK_SECONDS)


def check_speed(speed: float) -> float:
    if not 0 < speed <= MAX_SPEED:
        raise ReplayError(
            f"speed: expected a number above 0 and at most {MAX_SPEED:g}, got {speed}"
        )
    return speed


async def start_replay(
    app: web.Application, base_url: str, speed: float = DEFAULT_SPEED, day_file: Path = DAY_FILE
) -> Replay:
    """Check that the day can be played here and now, then play it in the background."""
    services, replay = app[SERVICES], app[REPLAY]
    check_speed(speed)
    if replay.state == "running":
        raise ReplayError("the demo day is already playing")
    clock = services.clock
    if not isinstance(clock, StartedClock):
        raise ReplayError("the replay needs a running demo clock: start it with `callout demo`")
    async with services.uow() as uow:
        company = await uow.company.load()
    try:
        scenario = load_scenario(day_file)
        check_against_company(scenario, {t.id for t in company.technicians})
    except ScenarioError as err:
        raise ReplayError(f"this company cannot play the demo day: {err}") from None
    start, end = day_span(scenario, company)
    now = clock.now()
    today = now.astimezone(ZoneInfo(company.settings.timezone)).date()
    if today != scenario.day or now >= end:
        raise ReplayError(
            f"the clock ({now.isoformat()}) is not within the demo day {scenario.day}:"
            " start `callout demo --replay` for a fresh day"
        )
    async with services.uow() as uow:
        if await uow.next_number(replay_claim(scenario.day)) > 1:
            raise ReplayError(
                "this database has played the demo day already:"
                " start `callout demo --replay` for a fresh one"
            )
        await uow.commit()
    replay.state, replay.speed, replay.progress, replay.message = "running", speed, 0.0, ""
    replay.task = asyncio.create_task(
        _play(services, replay, scenario, company, base_url.rstrip("/"), start, end)
    )
    return replay


async def _play(
    services: Services,
    replay: Replay,
    scenario: Scenario,
    company: Company,
    base_url: str,
    start: datetime,
    end: datetime,
) -> None:
    clock = services.clock
    assert isinstance(clock, StartedClock)
    before = clock.speed
    clock.set_speed(replay.speed)
    log.info("replay started", extra={"speed": replay.speed, "base_url": base_url})
    try:
        assert services.engine is not None and services.sessions is not None
        deps = services.bot_deps()
        # The simulation's own clock is never read here: the live day reads the server's.
        product = Product(services.engine, services.sessions, FixedClock(start), deps)
        async with aiohttp.ClientSession() as http:
            day = LiveDay(
                scenario,
                company,
                product,
                scenario.seed,
                live_clock=clock,
                base_url=base_url,
                http=http,
            )
            async with services.sessions() as s:
                day.outbox_cursor = await s.scalar(select(func.max(OutboxRow.id))) or 0
            async with services.uow() as uow:
                opened, events = await open_due_pm(uow, clock, deps.geocode)
                await publish(uow, deps, events)
                await uow.commit()
            log.info(
                "replay opened the day's preventive maintenance", extra={"opened": len(opened)}
            )
            async with services.sessions() as s:
                day.max_seq = await s.scalar(select(func.max(WorkOrderRow.seq))) or 0

            def progress(share: float) -> None:
                replay.progress = share

            await day.play(start, end, progress)
        replay.state, replay.progress = "done", 1.0
        replay.message = "the demo day is over; the clock runs at its usual speed again"
    except asyncio.CancelledError:
        replay.state, replay.message = "stopped", "the server stopped"
        raise
    except Exception as err:  # the page shows it; the log has the trace
        log.exception("replay failed")
        replay.state, replay.message = "failed", f"the replay stopped: {err}"
    finally:
        clock.set_speed(before)
        for callback in replay.done:
            callback(replay)


async def replay_context(app: web.Application) -> AsyncIterator[None]:
    """A replay under way stops with the server (and puts the clock's speed back)."""
    yield
    task = app[REPLAY].task
    if task is not None and not task.done():
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
