"""Sales Pulse's trend chart: a small PNG (matplotlib, Agg backend) readable at Slack's preview
size. matplotlib is imported on first use: it costs half a second."""

from __future__ import annotations

import io
from typing import Any

from bot.domain import Finding

WIDTH, HEIGHT, DPI = 6.4, 2.6, 125  # 800 × 325 px
NOW_COLOUR, PAST_COLOUR, BASELINE_COLOUR = "#d1495b", "#8d99ae", "#2b2d42"


def trend_png(finding: Finding) -> bytes:
    """The finding's trend as bars (the last one, now, highlighted) with its baseline."""
    values = list(finding.trend)
    labels = [f"-{len(values) - 1 - i}d" for i in range(len(values) - 1)] + ["today"]
    # a product's title is the shop's text: drawn as written, never read as $math$
    figure, axes = new_figure(finding.metric)
    colours = [PAST_COLOUR] * (len(values) - 1) + [NOW_COLOUR]
    axes.bar(labels, values, color=colours)
    if finding.baseline is not None and finding.unit != "units":
        axes.axhline(finding.baseline, color=BASELINE_COLOUR, linestyle="--", linewidth=1)
        axes.annotate(
            "baseline",
            (0, finding.baseline),
            textcoords="offset points",
            xytext=(0, 3),
            fontsize=8,
            color=BASELINE_COLOUR,
        )
    axes.set_xlabel(finding.trend_label, fontsize=8, parse_math=False)
    return png_of(figure)


def new_figure(title: str) -> tuple[Any, Any]:
    """A chart's figure and axes in the house style: its size, a title on the left (drawn as
    written, never read as $math$), small ticks, no top or right spine."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(WIDTH, HEIGHT), dpi=DPI)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    axes.set_title(title, fontsize=10, loc="left", parse_math=False)
    axes.tick_params(labelsize=8)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    return figure, axes


def png_of(figure: Any) -> bytes:
    figure.tight_layout()
    png = io.BytesIO()
    # The canvas's own print, not `savefig`: the same PNG, byte for byte, without the extra
    # (unrendered) draw `savefig` makes of a figure that went through a layout. A chart costs a
    # fifth less (docs/benchmarks.md, 6).
    figure.canvas.print_png(png)
    return png.getvalue()
