"""Travel-time estimates between planning points (see `model.TravelTime`)."""

from __future__ import annotations

import math

from dispatch.engine.model import Point, Time, TravelTime

EARTH_RADIUS_KM = 6371.0088


def haversine_km(a: Point, b: Point) -> float:
    """Great-circle distance in km between two points given as x=latitude, y=longitude."""
    lat1, lon1, lat2, lon2 = map(math.radians, (a.x, a.y, b.x, b.y))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def euclidean(a: Point, b: Point) -> Time:
    """Plain x/y distance: the TRSP benchmark's travel time (speed 1, not rounded)."""
    return math.hypot(a.x - b.x, a.y - b.y)


class GreatCircleTravel:
    """Drive minutes: great-circle km × detour factor at an average speed, cached per pair."""

    __slots__ = ("_cache", "detour_factor", "max_cached", "speed_kmh")

    def __init__(
        self, detour_factor: float = 1.3, speed_kmh: float = 40.0, max_cached: int = 1_000_000
    ) -> None:
        if speed_kmh <= 0 or detour_factor <= 0:
            raise ValueError("speed and detour factor must be positive")
        self.detour_factor = detour_factor
        self.speed_kmh = speed_kmh
        self.max_cached = max_cached
        self._cache: dict[tuple[float, float, float, float], Time] = {}

    def uncached(self, a: Point, b: Point) -> Time:
        """The same estimate without touching the cache (for whole matrices, built once)."""
        return haversine_km(a, b) * self.detour_factor / self.speed_kmh * 60.0

    def __call__(self, a: Point, b: Point) -> Time:
        key = (a.x, a.y, b.x, b.y)
        minutes = self._cache.get(key)
        if minutes is None:
            minutes = self.uncached(a, b)
            if len(self._cache) >= self.max_cached:
                self._cache.clear()  # a day's worth of pairs fits; a runaway process must not
            self._cache[key] = minutes
        return minutes


class MatrixTravel:
    """Drive minutes from a routing server's matrix (OSRM, Valhalla), with the great-circle
    estimate for any pair the matrix does not hold."""

    __slots__ = ("_fallback", "_minutes")

    def __init__(self, minutes: dict[tuple[Point, Point], Time], fallback: TravelTime) -> None:
        self._minutes = minutes
        self._fallback = fallback

    def __call__(self, a: Point, b: Point) -> Time:
        found = self._minutes.get((a, b))
        return found if found is not None else self._fallback(a, b)
