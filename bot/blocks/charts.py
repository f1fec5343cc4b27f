"""Sales Pulse's trend chart: a small PNG (matplotlib, Agg backend) readable at Slack's preview
size. matplotlib is imported on first use: it costs half a second."""

from __future__ import annotations

import io

from bot.domain import Finding

WIDTH, HEIGHT, DPI = 6.4, 2.6, 125  # 800 × 325 px
NOW_COLOUR, PAST_COLOUR, BASELINE_COLOUR = "#d1495b", "#8d99ae", "#2b2d42"


def trend_png(finding: Finding) -> bytes:
    """The finding's trend as bars (the last one, now, highlighted) with its baseline."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    values = list(finding.trend)
    labels = [f"-{len(values) - 1 - i}d" for i in range(len(values) - 1)] + ["today"]
    figure = Figure(figsize=(WIDTH, HEIGHT), dpi=DPI)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
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
    # a product's title is the shop's text: drawn as written, never read as $math$
    axes.set_title(finding.metric, fontsize=10, loc="left", parse_math=False)
    axes.set_xlabel(finding.trend_label, fontsize=8, parse_math=False)
    axes.tick_params(labelsize=8)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    figure.tight_layout()
    png = io.BytesIO()
    figure.savefig(png, format="png")
    return png.getvalue()
