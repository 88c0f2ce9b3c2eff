"""Time as a port: the clock may start at an instant (`CALLOUT_NOW`); tests inject one."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from time import monotonic
from typing import Protocol

MAX_SPEED = 10_000.0  # a working day in about four seconds


def local_time(at: datetime, zone: tzinfo, now: datetime) -> str:
    """A time as people read it in the company's zone: "14:30" today, "Tue 1 Dec 08:00"
    on another day."""
    here = at.astimezone(zone)
    if here.date() == now.astimezone(zone).date():
        return f"{here:%H:%M}"
    return f"{here:%a} {here.day} {here:%b %H:%M}"


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass
class StartedClock:
    """Starts at `start` and runs from there, in real time or `speed` times faster (a demo
    day replayed in minutes). The speed may change while it runs; time never goes back."""

    start: datetime
    _origin: float = field(default_factory=monotonic)
    speed: float = 1.0

    def __post_init__(self) -> None:
        _check_speed(self.speed)

    def now(self) -> datetime:
        return self._at(monotonic())

    def set_speed(self, speed: float) -> None:
        """From now on run `speed` times faster than real time (1 is real time)."""
        _check_speed(speed)
        tick = monotonic()
        self.start, self._origin, self.speed = self._at(tick), tick, speed

    def _at(self, tick: float) -> datetime:
        return self.start + timedelta(seconds=(tick - self._origin) * self.speed)


def _check_speed(speed: float) -> None:
    if not 0 < speed <= MAX_SPEED:
        raise ValueError(f"clock speed must be above 0 and at most {MAX_SPEED:g}, got {speed!r}")


@dataclass
class FixedClock:
    """Moves only when told to: for tests and simulations."""

    current: datetime

    def now(self) -> datetime:
        return self.current

    def advance(self, delta: timedelta) -> None:
        self.current += delta
