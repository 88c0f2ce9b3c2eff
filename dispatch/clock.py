"""Time as a port: the clock may start at an instant (`CALLOUT_NOW`); tests inject one."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from time import monotonic
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass
class StartedClock:
    """Starts at `start` and runs in real time from there (demos, trials)."""

    start: datetime
    _origin: float = field(default_factory=monotonic)

    def now(self) -> datetime:
        return self.start + timedelta(seconds=monotonic() - self._origin)


@dataclass
class FixedClock:
    """Moves only when told to: for tests and simulations."""

    current: datetime

    def now(self) -> datetime:
        return self.current

    def advance(self, delta: timedelta) -> None:
        self.current += delta
