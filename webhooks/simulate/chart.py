"""`--chart FILE`: each technician's day as a Gantt chart, engine above first_free."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from webhooks.simulate.kpis import Bar

COLOURS = {"travel": "#f2a541", "work": "#2f6690"}


def _hours(at: datetime, zone: ZoneInfo) -> float:
    local = at.astimezone(zone)
    return local.hour + local.minute / 60 + local.second / 3600


def gantt(
    path: Path,
    engine: Sequence[Bar],
    baseline: Sequence[Bar],
    *,
    technicians: Sequence[str],
    timezone: str,
    titles: tuple[str, str] = ("engine", "first_free"),
) -> None:
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    zone = ZoneInfo(timezone)
    rows = {t: i for i, t in enumerate(technicians)}
    fig, axes = plt.subplots(2, 1, figsize=(12, 1.2 + 0.9 * len(rows)), sharex=True)
    for ax, bars, title in zip(axes, (engine, baseline), titles, strict=True):
        for bar in bars:
            if bar.technician not in rows:
                continue
            start = _hours(bar.start, zone)
            width = max(_hours(bar.end, zone) - start, 1 / 60)
            ax.broken_barh(
                [(start, width)],
                (rows[bar.technician] - 0.4, 0.8),
                facecolors=COLOURS.get(bar.kind, "#999999"),
                edgecolor="white",
                linewidth=0.5,
            )
            if bar.kind == "work" and width > 0.6:
                ax.text(
                    start + width / 2,
                    rows[bar.technician],
                    bar.label,
                    ha="center",
                    va="center",
                    fontsize=6,
                    color="white",
                )
        ax.set_yticks(range(len(rows)), list(rows))
        ax.invert_yaxis()
        ax.set_title(title, loc="left", fontsize=10)
        ax.grid(axis="x", alpha=0.3)
    axes[-1].set_xlabel(f"hour of day ({timezone})")
    axes[0].legend(
        handles=[Patch(color=c, label=k) for k, c in COLOURS.items()],
        loc="upper right",
        fontsize=8,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
