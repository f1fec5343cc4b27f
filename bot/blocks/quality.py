"""The weekly digest's quality figures: each operator's decision quality (QA review) against
the 80 % bar, and how often drafts of each confidence band were approved, beside the
documents' pilot figures (`bot.rules.qa`)."""

from __future__ import annotations

from collections.abc import Sequence

from bot.blocks import text as t
from bot.blocks.labels import BAND_BADGE
from bot.blocks.stats import quality
from bot.domain import BandOutcomes, OperatorQuality
from bot.rules.qa import PILOT, QUALITY_BAR


def operator_quality_lines(operators: Sequence[OperatorQuality]) -> list[str]:
    """A line per operator whose replies were reviewed: Good out of reviewed, against the bar."""
    head = (
        f"*Decision quality* (replies reviewed in the week, Good out of reviewed; the bar is "
        f"{round(QUALITY_BAR * 100)} %):"
    )
    if not operators:
        return [head, "• no replies reviewed: `/occ review` puts last week's sample before you"]
    return [
        head,
        *(f"• {t.mention(q.operator)}: {quality(q.good, q.reviewed)}" for q in operators),
    ]


def calibration_lines(bands: Sequence[BandOutcomes]) -> list[str]:
    """A line per confidence band: the week's decisions, approved as-is, and sent (as-is or
    edited), beside what the documents' pilot saw."""
    lines = ["*Calibration* (the week's decisions by the draft's confidence band; the pilot's):"]
    for outcome in bands:
        pilot = PILOT[outcome.band]
        seen = f"pilot ~{round(pilot.rate * 100)} % {pilot.counted}"
        if not outcome.decisions:
            lines.append(f"• {BAND_BADGE[outcome.band]}: no decisions · {seen}")
            continue
        assert outcome.as_is_rate is not None and outcome.sent_rate is not None
        lines.append(
            f"• {BAND_BADGE[outcome.band]}: {outcome.decisions} "
            f"decision{'' if outcome.decisions == 1 else 's'}, "
            f"*{t.percent(outcome.as_is_rate)} approved as-is*, "
            f"{t.percent(outcome.sent_rate)} sent as-is or edited · {seen}"
        )
    return lines
