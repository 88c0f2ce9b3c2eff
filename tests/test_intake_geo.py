"""Intake's ZIP codes (`bot/intake/geo.py`): the shipped bitmap of real ZIPs agrees with the
`zipcodes` table, and a five-digit number that is no ZIP is told without searching it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import zipcodes

from bot.intake import geo

IS_REAL: Callable[[str], bool] = zipcodes.is_real


def test_the_shipped_bitmap_is_the_zipcodes_table() -> None:
    table = geo.real_zips_bitmap()  # from zipcodes' own table, about half a second
    made_from, _, bits = geo.REAL_ZIPS.read_bytes().partition(b"\n")
    if made_from == f"zipcodes {zipcodes.__version__}".encode():
        assert bits == table, (
            "zipcodes' table changed under the same version: run "
            "python -c 'from bot.intake.geo import write_real_zips; write_real_zips()'"
        )
    assert geo._real_zips() == table  # the file's, or made afresh


def test_a_bitmap_made_from_another_version_is_not_trusted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stale = tmp_path / "real_zips.bin"
    stale.write_bytes(b"zipcodes 0.0.1\n" + bytes(12_500))  # no ZIP at all
    monkeypatch.setattr(geo, "REAL_ZIPS", stale)
    geo._real_zips.cache_clear()
    try:
        assert geo.is_real_zip("78701")
    finally:
        geo._real_zips.cache_clear()


@pytest.mark.parametrize("start", range(7))
def test_is_real_zip_agrees_with_zipcodes(start: int) -> None:
    # Every 97th number, from `start` × 97 on: about 1,030 of the 100,000 in all, both kinds.
    for n in range(start * 97, 100_000, 97 * 7):
        code = f"{n:05d}"
        assert geo.is_real_zip(code) == IS_REAL(code), code


def test_not_five_ascii_digits_is_no_zip() -> None:
    for text in ("7870", "787011", "7870a", "", "٧٨٧٠١", "78 70"):
        assert not geo.is_real_zip(text)
    assert geo.is_real_zip("78701")
    assert geo.zip_info("78701") is not None


def test_a_number_that_is_no_zip_is_not_looked_up(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[str] = []

    def matching(code: str) -> list[dict[str, object]]:
        asked.append(code)
        return []

    monkeypatch.setattr(geo, "_matching", matching)
    geo.zip_info.cache_clear()
    try:
        assert geo.zip_info("99999") is None  # no ZIP
        assert geo.zip_info("00000") is None
        assert asked == []
        geo.zip_info("78702")  # a real one still goes to the table, for its city
        assert asked == ["78702"]
    finally:
        geo.zip_info.cache_clear()
