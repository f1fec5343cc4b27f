"""The weekly digest: last week's numbers beside the week before, three charts, the most edited
topics and the top rejection reasons with an example of each, each operator's decision quality
(QA review) and the calibration of the confidence bands beside the documents' pilot.

The `digest` job posts it to `OCC_DIGEST_CHANNEL` once a week, on `OCC_DIGEST_WEEKDAY` from
`OCC_DIGEST_HOUR` in `OCC_TIMEZONE`: the week is taken with a conditional insert (a
``job_runs`` row for the week), so one replica posts it, once. `occ-bot digest` builds it now,
and posts it or writes it to a folder.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from itertools import pairwise
from pathlib import Path

from bot import slack
from bot.blocks import text as t
from bot.blocks.digest_charts import decisions_png, escalation_rate_png, time_to_decide_png
from bot.blocks.quality import calibration_lines, operator_quality_lines
from bot.blocks.stats import person_lines, team_lines
from bot.domain import (
    RESOLVED_REASONS,
    BandOutcomes,
    DecisionKind,
    DecisionStats,
    Draft,
    JobRun,
    OperatorQuality,
    RunOutcome,
    SlackRef,
)
from bot.flows.incidents import channel_refused, channel_works
from bot.rules.periods import period_start
from bot.services import Services
from bot.slack import Metadata

log = logging.getLogger("occ.digest")

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
LOOKED_AT = 2000  # the week's edited and rejected drafts read for topics and reasons
LISTED = 3  # topics and reasons shown
WEEK_CLAIM = "digest-week"
STALE_CLAIM = timedelta(minutes=30)  # a try of the week unfinished this long died


@dataclass(frozen=True)
class Digest:
    week_start: datetime
    days: list[tuple[date, DecisionStats]]
    week: DecisionStats
    previous: DecisionStats
    edited_topics: list[tuple[str, int, str]]  # topic, edits, an example customer message
    rejections: list[tuple[str, int, str]]  # reason, count, an example (message and notes)
    quality: list[OperatorQuality]  # each operator's replies reviewed in the week
    calibration: list[BandOutcomes]  # the week's decisions by confidence band

    def charts(self) -> dict[str, bytes]:
        return {
            "decisions-per-day.png": decisions_png(self.days),
            "time-to-decide.png": time_to_decide_png(self.days),
            "escalation-rate.png": escalation_rate_png(self.days),
        }


async def build_digest(services: Services, now: datetime) -> Digest:
    """The last full week (Monday to Sunday, in the team's time zone) before ``now``."""
    store = services.store
    this_monday = period_start("week", now, services.settings.zone)
    start = this_monday - timedelta(days=7)
    starts = [start + timedelta(days=n) for n in range(8)]  # local midnights, DST included
    closing = timedelta(microseconds=1)  # the stats' windows include their end
    end = this_monday - closing
    days, week, previous, quality, calibration = await asyncio.gather(
        asyncio.gather(
            *(store.decision_stats(since=a, until=b - closing) for a, b in pairwise(starts))
        ),
        store.decision_stats(since=start, until=end),
        store.decision_stats(since=start - timedelta(days=7), until=start - closing),
        store.quality_by_operator(since=start, until=end),
        store.calibration(since=start, until=end),
    )
    edited = await store.decided_between(start, this_monday, [DecisionKind.EDIT], LOOKED_AT)
    rejected = await store.decided_between(start, this_monday, [DecisionKind.REJECT], LOOKED_AT)
    return Digest(
        week_start=start,
        days=[(a.date(), stats) for a, stats in zip(starts[:7], days, strict=True)],
        week=week,
        previous=previous,
        edited_topics=_most_edited(edited),
        rejections=_top_reasons(
            [d for d in rejected if d.decision and d.decision.reason not in RESOLVED_REASONS]
        ),
        quality=quality,
        calibration=calibration,
    )


def due(services: Services, now: datetime) -> bool:
    """It is the digest's day, at or past its hour, in the team's time zone."""
    local = now.astimezone(services.settings.zone)
    weekday = WEEKDAYS[local.weekday()]
    return (
        weekday == services.settings.digest_weekday and local.hour >= services.settings.digest_hour
    )


async def post_weekly(services: Services) -> str:
    """The `digest` job: post the digest once a week when it is due."""
    now = services.clock()
    if not due(services, now):
        return "not due"
    store = services.store
    week = period_start("week", now, services.settings.zone)
    claim = JobRun(job=WEEK_CLAIM, window_start=week, runner=services.runner, started_at=now)
    if not await store.start_run(claim):
        last = await store.last_run(WEEK_CLAIM)
        stale = last is not None and last.window_start == week and last.finished_at is None
        if stale and last is not None and now - last.started_at > STALE_CLAIM:
            await store.forget_runs(WEEK_CLAIM, before=week + timedelta(seconds=1))
            return "an unfinished try of this week was given back; the next run posts"
        return "already posted this week"
    if services.workspace.recently_refused(services.settings.digest_channel, now):
        await store.forget_runs(WEEK_CLAIM, before=week + timedelta(seconds=1))
        return "waiting: Slack refused the channel a moment ago (on-call was told)"
    posted = None
    try:
        posted = await post_digest(services, await build_digest(services, now))
    finally:
        if posted is None:  # failed, or raised: give the week back, so that the next run
            # (any replica's) tries again, and finds the message if this try's post landed
            await store.forget_runs(WEEK_CLAIM, before=week + timedelta(seconds=1))
    if posted is None:
        return "not posted: Slack refused it or did not answer (see the log); tried again next run"
    await store.finish_run(
        WEEK_CLAIM, week, outcome=RunOutcome.SUCCESS, detail="posted", finished_at=services.clock()
    )
    return "posted"


async def post_digest(services: Services, digest: Digest) -> SlackRef | None:
    """Post the digest, its charts in the message's thread, unless it is in the channel
    already (marked with the week); None, with a warning, if Slack refused or did not say."""
    channel = services.settings.digest_channel
    marker = Metadata("occ_digest", f"{digest.week_start:%Y-%m-%d}")
    try:
        found = await slack.find_posted(services, channel, marker, since=digest.week_start)
        if found is not None:
            return found
        ref = await slack.post(services, channel, text=slack_text(digest), metadata=marker)
    except slack.SLACK_FAILURES as error:
        code = slack.refusal(error)
        if code is not None:
            await channel_refused(services, channel, "OCC_DIGEST_CHANNEL", code)
        log.warning("could not post the weekly digest: %s", slack.describe(error))
        return None
    await channel_works(services, channel)
    # drawn off the event loop: the first chart imports matplotlib (half a second)
    charts = await asyncio.to_thread(digest.charts)
    for name, png in charts.items():
        await slack.upload(services, ref, png, filename=name, title=name.removesuffix(".png"))
    return ref


def write_digest(digest: Digest, folder: Path) -> list[Path]:
    """The digest as Markdown and its charts as PNGs, in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, png in digest.charts().items():
        (folder / name).write_bytes(png)
        written.append(folder / name)
    charts = "\n".join(f"![{name}]({name})" for name in digest.charts())
    markdown = slack_text(digest).replace("*", "**") + "\n\n" + charts + "\n"
    (folder / "digest.md").write_text(markdown, encoding="utf-8")
    return [folder / "digest.md", *written]


def slack_text(digest: Digest) -> str:
    week_of = f"{digest.week_start:%b} {digest.week_start.day}"
    lines = [
        f"*Weekly digest: the week of {week_of}*",
        *team_lines(digest.week),
        "*The week before:*",
        *person_lines(digest.previous),
        _change(digest.week, digest.previous),
        "*Most edited topics:*",
        *_listed(digest.edited_topics, "edit"),
        "*Top rejection reasons:*",
        *_listed(digest.rejections, "rejection"),
        *operator_quality_lines(digest.quality),
        *calibration_lines(digest.calibration),
    ]
    return "\n".join(line for line in lines if line)


def _change(week: DecisionStats, previous: DecisionStats) -> str:
    if not previous.decisions:
        return ""
    change = (week.decisions - previous.decisions) / previous.decisions
    return f"• decisions {'+' if change >= 0 else ''}{round(change * 100)} % on the week before"


def _listed(items: list[tuple[str, int, str]], noun: str) -> list[str]:
    if not items:
        return [f"• no {noun}s"]
    return [
        f"• {t.inline(name, 80)}: {count} {noun}{'' if count == 1 else 's'}, e.g. "
        f"“{t.inline(example, 160)}”"
        for name, count, example in items
    ]


def _most_edited(drafts: list[Draft]) -> list[tuple[str, int, str]]:
    """Edits by topic: the first knowledge-base article the draft cited (else "no article")."""
    topics: Counter[str] = Counter()
    examples: dict[str, str] = {}
    for draft in drafts:
        topic = draft.input.kb_sources[0].title if draft.input.kb_sources else "no article"
        topics[topic] += 1
        examples.setdefault(topic, draft.input.customer_message)
    return [(topic, count, examples[topic]) for topic, count in topics.most_common(LISTED)]


def _top_reasons(drafts: list[Draft]) -> list[tuple[str, int, str]]:
    reasons: Counter[str] = Counter()
    examples: dict[str, str] = {}
    for draft in drafts:
        decision = draft.decision
        reason = (
            decision.reason.value.replace("_", " ") if decision and decision.reason else "other"
        )
        reasons[reason] += 1
        notes = f" ({decision.notes})" if decision and decision.notes else ""
        examples.setdefault(reason, draft.input.customer_message + notes)
    return [(reason, count, examples[reason]) for reason, count in reasons.most_common(LISTED)]
