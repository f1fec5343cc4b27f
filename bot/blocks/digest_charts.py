"""The weekly digest's charts: small PNGs (matplotlib, Agg backend) readable at Slack's preview
size, one a figure: decisions per day by outcome, time to decide against the 3-minute line,
and the escalation rate against its 10-15 % band."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from bot.blocks.charts import new_figure, png_of
from bot.blocks.stats import DECIDE_TARGET_SECONDS, ESCALATION_BAND
from bot.domain import DecisionStats

Day = tuple[date, DecisionStats]
OUTCOMES = (
    ("approved", "#2a9d8f"),
    ("edited", "#e9c46a"),
    ("rejected", "#8d99ae"),
    ("escalated", "#d1495b"),
)
TARGET_COLOUR = "#2b2d42"


def decisions_png(days: Sequence[Day]) -> bytes:
    figure, axes = new_figure("Decisions per day, by outcome")
    labels = _labels(days)
    bottom = [0] * len(days)
    for name, colour in OUTCOMES:
        values = [getattr(stats, name) for _, stats in days]
        axes.bar(labels, values, bottom=bottom, color=colour, label=name)
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    axes.legend(fontsize=7, ncols=4, loc="upper left", frameon=False)
    axes.set_ylim(0, max([*bottom, 1]) * 1.3)
    return png_of(figure)


def time_to_decide_png(days: Sequence[Day]) -> bytes:
    figure, axes = new_figure("Time to decide (minutes): median and p90")
    labels = _labels(days)
    for name, colour, key in (
        ("median", "#2a9d8f", "median_seconds"),
        ("p90", "#e76f51", "p90_seconds"),
    ):
        values = [_minutes(getattr(stats, key)) for _, stats in days]
        axes.plot(labels, values, marker="o", color=colour, label=name)
    axes.axhline(DECIDE_TARGET_SECONDS / 60, color=TARGET_COLOUR, linestyle="--", linewidth=1)
    axes.annotate("3-minute target", (0, DECIDE_TARGET_SECONDS / 60), textcoords="offset points",
                  xytext=(0, 3), fontsize=7, color=TARGET_COLOUR)  # fmt: skip
    axes.legend(fontsize=7, loc="upper right", frameon=False)
    axes.set_ylim(bottom=0)
    return png_of(figure)


def escalation_rate_png(days: Sequence[Day]) -> bytes:
    figure, axes = new_figure("Escalation rate (%)")
    labels = _labels(days)
    rates = [(s.escalation_rate or 0) * 100 for _, s in days]
    axes.bar(labels, rates, color="#d1495b")
    low, high = (edge * 100 for edge in ESCALATION_BAND)
    axes.axhspan(low, high, color="#2a9d8f", alpha=0.2, label="target 10–15 %")
    axes.legend(fontsize=7, loc="upper right", frameon=False)
    axes.set_ylim(0, max([*rates, high]) * 1.3)
    return png_of(figure)


def _labels(days: Sequence[Day]) -> list[str]:
    return [f"{day:%a} {day.day}" for day, _ in days]


def _minutes(seconds: float | None) -> float:
    return seconds / 60 if seconds is not None else float("nan")
