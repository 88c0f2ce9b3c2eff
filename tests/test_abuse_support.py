"""Shared pieces of the fuzz tests: settings, the allowed statuses, JSON and phone strategies.

Each fuzz test is made twice by `fuzz`: 2,000 cases on SQLite (in `make test`) and 200 on
PostgreSQL (the server is slower per request; the SQLite run is the deep one). One product
app serves every case of a test, so state piles up the way it does in production.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from storage.tables import InboundRow
from tests.channel_app import Product

# CALLOUT_FUZZ_SCALE scales both down (or up) for a quick local run.
SCALE = float(os.environ.get("CALLOUT_FUZZ_SCALE", "1"))
SQLITE_EXAMPLES = max(1, int(2000 * SCALE))
POSTGRES_EXAMPLES = max(1, int(200 * SCALE))
ALLOWED = frozenset({200, 201, 202, 204, 400, 401, 403, 404, 413, 422})

KNOWN_PHONES = (
    "+15125550126",  # C007, a customer
    "+15125550101",  # T01, a technician
    "+15125550190",  # D01, a dispatcher
)

Body = Callable[[Product, Any], Awaitable[None]]
Test = Callable[..., Any]


def _one(body: Body, case: st.SearchStrategy[Any], database: Any, examples: int) -> Test:
    @pytest.mark.parametrize("database_url", [database], indirect=True)
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=case)
    async def test(product: Product, case: Any) -> None:
        await body(product, case)

    test.__doc__ = body.__doc__
    made: Test = test
    return made


def fuzz(case: st.SearchStrategy[Any]) -> Callable[[Body], tuple[Test, Test]]:
    """`test_x, test_x_postgres = fuzz(strategy)(body)`: one body, both databases."""

    def make(body: Body) -> tuple[Test, Test]:
        postgres = pytest.param("postgres", marks=pytest.mark.postgres)
        return (
            _one(body, case, "sqlite", SQLITE_EXAMPLES),
            _one(body, case, postgres, POSTGRES_EXAMPLES),
        )

    return make


def assert_allowed(status: int, what: object) -> None:
    assert status in ALLOWED, f"{status} for {what!r}"


async def assert_handled(p: Product, channel: str, external_id: str, what: object) -> None:
    """An accepted message was stored and handled without an exception (a failure would be
    answered with an apology, not a 500, so the status alone does not show it)."""
    async with p.engine.connect() as conn:
        query = select(InboundRow.processed_at, InboundRow.error).where(
            InboundRow.channel == channel, InboundRow.external_id == external_id
        )
        row = (await conn.execute(query)).one_or_none()
    assert row is not None, f"accepted but not stored: {what!r}"
    assert row.error is None, f"handling raised {row.error} for {what!r}"
    assert row.processed_at is not None, f"stored but never handled: {what!r}"


# Text as people (and attackers) type it: any Unicode but lone surrogates, incl. NUL and RTL.
texts = st.text(max_size=300)
short_texts = st.text(max_size=40)
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | texts
)
json_values: st.SearchStrategy[Any] = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(short_texts, inner, max_size=5),
    max_leaves=25,
)
# A few senders only: past 20 a minute (the clock stands still) the rate limit answers, so
# most cases test the webhook layer and the first ones the whole conversation core.
STRANGERS = ("+15125550170",)
# Telegram users: few, one with an id longer than Telegram's but within our columns (ids
# past them: test_abuse_regressions, one case still an xfail there).
TELEGRAM_USERS = (424242, -7, 10**60)
phones = st.sampled_from(KNOWN_PHONES + STRANGERS) | texts
