"""The team's numbers as `/occ stats` shows them, against the source documents' targets."""

from __future__ import annotations

from bot.blocks import text as t
from bot.domain import DecisionStats
from bot.rules.qa import QUALITY_BAR

DECIDE_TARGET_SECONDS = 180  # decisions in under 3 minutes
ESCALATION_BAND = (0.10, 0.15)  # an escalation rate of 10-15 %


def person_lines(stats: DecisionStats) -> list[str]:
    if not stats.decisions:
        return ["• no decisions", *quality_lines(stats)]
    return [
        f"• *{stats.decisions}* decision{'' if stats.decisions == 1 else 's'}: "
        f"{stats.approved} approved, {stats.edited} edited, {stats.rejected} rejected, "
        f"{stats.escalated} escalated",
        f"• time to decide: {_times(stats)}",
        *quality_lines(stats),
    ]


def quality_lines(stats: DecisionStats) -> list[str]:
    """Decision quality (QA review: Good out of reviewed) against the 80 % bar, once a
    manager has reviewed some replies in the window."""
    if not stats.reviewed:
        return []
    return [f"• decision quality: {quality(stats.reviewed_good, stats.reviewed)}"]


def quality(good: int, reviewed: int) -> str:
    """ "4 of 5 reviewed replies Good (80%) ✅ (bar 80 %)"."""
    rate = good / reviewed
    return (
        f"{good} of {reviewed} reviewed repl{'y' if reviewed == 1 else 'ies'} Good "
        f"({t.percent(rate)}) {_mark(rate >= QUALITY_BAR)} (bar {round(QUALITY_BAR * 100)} %)"
    )


def team_lines(stats: DecisionStats) -> list[str]:
    lines = person_lines(stats)
    rate = stats.escalation_rate
    if rate is not None:
        low, high = ESCALATION_BAND
        mark = _mark(low <= rate <= high)
        lines.append(f"• escalation rate {t.percent(rate)} {mark} (target 10–15 %)")
    if stats.claims:
        share = t.percent(stats.claims_within_sla / stats.claims)
        lines.append(
            f"• escalations claimed within their SLA: {stats.claims_within_sla} of "
            f"{stats.claims} ({share})"
        )
    lines.append(f"• CX SLA breaches: {stats.breaches}")
    return lines


def _times(stats: DecisionStats) -> str:
    median, p90 = stats.median_seconds, stats.p90_seconds
    if median is None or p90 is None:
        return "not measured"
    mark = _mark(median < DECIDE_TARGET_SECONDS)
    return (
        f"median {t.format_minutes(median / 60)} {mark} (target under 3 min), "
        f"p90 {t.format_minutes(p90 / 60)}"
    )


def _mark(met: bool) -> str:
    return ":white_check_mark:" if met else ":x:"
