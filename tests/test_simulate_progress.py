"""`callout simulate`'s progress bar: redrawn in place on a terminal, whole lines every tenth
into a file or a CI log."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from webhooks.simulate.report import progress_bar

ZONE = ZoneInfo("America/Chicago")
START = datetime(2026, 11, 30, 13, 0, tzinfo=UTC)  # 07:00 in Austin


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _play(out: io.StringIO) -> str:
    draw = progress_bar("engine", ZONE, out, width=10)
    for i in range(201):  # two calls a percent: a repeated percentage draws nothing
        draw(i / 200, START + timedelta(minutes=3 * i))
    return out.getvalue()


def test_a_terminal_gets_one_line_redrawn_a_hundred_and_one_times() -> None:
    shown = _play(Terminal())
    assert shown.count("\r") == 101 and shown.count("\n") == 1 and shown.endswith("\n")
    assert "\rengine     [#####-----]  50% 12:00" in shown
    assert shown.rsplit("\r", 1)[1] == "engine     [##########] 100% 17:00\n"


def test_a_file_gets_a_whole_line_every_tenth() -> None:
    lines = _play(io.StringIO()).splitlines()
    assert "\r" not in "".join(lines)
    assert [line.split("]")[1].split("%")[0].strip() for line in lines] == [
        str(p) for p in range(0, 101, 10)
    ]
    assert lines[-1] == "engine     [##########] 100% 17:00"
