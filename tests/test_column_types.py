"""Column types: what UTCDateTime stores on SQLite is the text SQLAlchemy's own DATETIME
stores, character for character (stored values are compared and ordered as text), and it
reads back as the same instant in UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.sqlite import DATETIME

from storage.types import UTCDateTime

SQLITE = sqlite.dialect()
THEIRS = DATETIME()  # type: ignore[no-untyped-call]
OFFSETS = st.integers(min_value=-14 * 60, max_value=14 * 60).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)
INSTANTS = st.datetimes(
    min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=OFFSETS
)


@given(INSTANTS)
def test_sqlite_text_is_sqlalchemys_datetime_text(at: datetime) -> None:
    stored = UTCDateTime().bind_processor(SQLITE)
    theirs = THEIRS.bind_processor(SQLITE)
    assert stored is not None and theirs is not None
    assert stored(at) == theirs(at.astimezone(UTC).replace(tzinfo=None))
    back = UTCDateTime().process_result_value(
        THEIRS.result_processor(SQLITE, None)(stored(at)),  # type: ignore[misc]
        SQLITE,
    )
    assert back == at and back is not None and back.tzinfo is UTC


def test_whole_seconds_keep_their_microseconds_and_none_stays_none() -> None:
    stored = UTCDateTime().bind_processor(SQLITE)
    assert stored is not None
    at = datetime(2026, 12, 4, 7, 0, tzinfo=timezone(timedelta(hours=-6)))
    assert stored(at) == "2026-12-04 13:00:00.000000"
    assert stored(None) is None


def test_a_naive_datetime_is_refused_on_both_databases() -> None:
    for dialect in (SQLITE, postgresql.dialect()):  # type: ignore[no-untyped-call]
        process = UTCDateTime().bind_processor(dialect)
        assert process is not None
        with pytest.raises(ValueError, match="naive"):
            process(datetime(2026, 12, 4, 7, 0))
