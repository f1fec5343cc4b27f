"""The Sales Pulse tile's chart: today's revenue so far, hour by hour and added up, against the
usual day's (the past 7 days' average) across the whole day. A small PNG (matplotlib, Agg
backend) like the alerts' and the digest's."""

from __future__ import annotations

from itertools import accumulate
from zoneinfo import ZoneInfo

from bot.blocks.charts import BASELINE_COLOUR, NOW_COLOUR, new_figure, png_of
from bot.domain import PulseSnapshot


def today_png(snapshot: PulseSnapshot) -> bytes:
    figure, axes = new_figure(
        f"Revenue today against the usual day ({snapshot.currency}, added up)"
    )
    # The money taken by the end of each hour, from midnight; today's last point is now.
    usual = [0.0, *accumulate(snapshot.usual_by_hour)]
    today = [0.0, *accumulate(snapshot.today_by_hour)]
    local = snapshot.taken_at.astimezone(ZoneInfo(snapshot.timezone))
    today_at = [*range(len(today) - 1), local.hour + local.minute / 60]
    axes.plot(range(len(usual)), usual, color=BASELINE_COLOUR, linestyle="--", linewidth=1,
              label="usual (average of the past 7 days)")  # fmt: skip
    axes.plot(today_at, today, color=NOW_COLOUR, linewidth=2, label="today so far")
    axes.set_xlim(0, 24)
    axes.set_xticks(range(0, 25, 3), [f"{h:02d}:00" for h in range(0, 25, 3)])
    axes.set_ylim(bottom=0)
    axes.set_xlabel(f"hour of the shop's day ({snapshot.timezone})", fontsize=8, parse_math=False)
    axes.legend(fontsize=7, loc="upper left", frameon=False)
    return png_of(figure)
