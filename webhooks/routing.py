"""Drive times from a routing server given by URL (`assignment.routing_url`): OSRM's table
service or Valhalla's sources_to_targets, asked for the whole matrix in one request."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import aiohttp

from dispatch.engine.model import Point

log = logging.getLogger("callout.routing")
MAX_POINTS = 100  # one request; bigger days fall back to the estimate for the rest


class HttpTravelMatrix:
    def __init__(self, timeout_seconds: float = 5.0) -> None:
        self.timeout = aiohttp.ClientTimeout(total=timeout_seconds)

    async def minutes(
        self, url: str, points: Sequence[Point]
    ) -> dict[tuple[Point, Point], float] | None:
        unique = list(dict.fromkeys(points))[:MAX_POINTS]
        if len(unique) < 2:
            return None
        try:
            async with aiohttp.ClientSession(timeout=self.timeout) as http:
                if "valhalla" in url or url.rstrip("/").endswith("sources_to_targets"):
                    seconds = await _valhalla(http, url, unique)
                else:
                    seconds = await _osrm(http, url, unique)
        except (aiohttp.ClientError, TimeoutError, ValueError, KeyError, TypeError) as err:
            log.warning(
                "routing server did not answer; using the estimate", extra={"err": str(err)}
            )
            return None
        out: dict[tuple[Point, Point], float] = {}
        for i, a in enumerate(unique):
            for j, b in enumerate(unique):
                value = seconds[i][j]
                if value is not None:
                    out[(a, b)] = float(value) / 60.0
        return out


async def _osrm(http: aiohttp.ClientSession, url: str, points: list[Point]) -> list[list[Any]]:
    coords = ";".join(f"{p.y:.6f},{p.x:.6f}" for p in points)  # OSRM wants lon,lat
    async with http.get(
        f"{url.rstrip('/')}/table/v1/driving/{coords}", params={"annotations": "duration"}
    ) as response:
        data = await response.json(content_type=None)
    if response.status != 200 or data.get("code") != "Ok":
        raise ValueError(f"OSRM answered {response.status} {data.get('code')}")
    durations: list[list[Any]] = data["durations"]
    return durations


async def _valhalla(http: aiohttp.ClientSession, url: str, points: list[Point]) -> list[list[Any]]:
    where = [{"lat": p.x, "lon": p.y} for p in points]
    endpoint = url.rstrip("/")
    if not endpoint.endswith("sources_to_targets"):
        endpoint += "/sources_to_targets"
    body = {"sources": where, "targets": where, "costing": "auto"}
    async with http.post(endpoint, json=body) as response:
        data = await response.json(content_type=None)
    if response.status != 200:
        raise ValueError(f"Valhalla answered {response.status}")
    return [[cell.get("time") for cell in row] for row in data["sources_to_targets"]]
