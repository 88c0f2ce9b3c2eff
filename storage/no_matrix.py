"""The unit of work's travel matrix when no routing server is wired in: none."""

from __future__ import annotations

from collections.abc import Sequence

from dispatch.engine.model import Point


class NoMatrix:
    async def minutes(
        self, url: str, points: Sequence[Point]
    ) -> dict[tuple[Point, Point], float] | None:
        return None
