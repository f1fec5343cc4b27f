"""`/occ pulse`: the Sales Pulse tile on demand, answered from the snapshot the last Sales Pulse
run kept (`bot.rules.pulse`), never from Shopify, so that it answers at once and a question
spends none of the shop's API budget.

When the snapshot is older than the Sales Pulse period (`OCC_SALES_PULSE_MINUTES`), or there
is none yet, the answer comes at once all the same, from that snapshot, saying how old it is,
and a fresh read starts: the `sales-pulse` job's run for the current window, under the run
lease the schedule takes (`bot.flows.runs`). However many people ask at once, on however many
replicas, one of them takes the lease and reads the shop; that run is the one the schedule
would have made in this window anyway, so asking costs the shop nothing extra. Everyone who
asked waits for that run (their own, or the one another replica holds) and gets the fresh
numbers as a second answer through the same response_url.

The trend chart goes to the asker's direct messages with the bot. An ephemeral answer cannot
carry a file, and an image block's ``slack_file`` must name a file its viewer can already
see: a file the bot uploaded without sharing it is private to the bot, and Slack refuses the
block (docs/real-services.md, 18).
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta
from functools import partial
from zoneinfo import ZoneInfo

from bot import slack
from bot.blocks import text as t
from bot.blocks.pulse import NO_READING, OFF, Linked, age, tile_text
from bot.blocks.pulse_chart import today_png
from bot.domain import JobRun, PulseSnapshot, RunOutcome
from bot.flows import runs, sales_pulse
from bot.flows.answers import Answer, Respond
from bot.flows.freshness import source_lines
from bot.services import Services

REFRESH_POLL_SECONDS = 1.0
# How long an asker waits for a fresh read another replica (or asker) holds; a bulk read of a
# large shop takes a minute or so, and a response_url lasts 30 minutes.
REFRESH_WAIT_SECONDS = 600.0
NOT_ALLOWED = (
    "Sales Pulse is shown to operators and managers only (`OCC_OPERATORS`, `OCC_MANAGERS`). "
    "Ask whoever runs occ-bot to add you."
)
CHART = (
    ":chart_with_upwards_trend: The trend chart (today against the usual day) is in your "
    "direct messages with me."
)
NO_CHART = "Slack did not take the trend chart just now: `/occ pulse` again sends it."


async def answer(services: Services, user: str) -> Answer:
    if not services.settings.may_act_on_drafts(user):
        return Answer(NOT_ALLOWED)
    if services.shopify is None:
        return Answer(OFF)
    snapshot = await services.store.sales_snapshot()
    now = services.clock()
    if snapshot is None:
        return Answer(NO_READING, then=partial(_fresh, services, user, None))
    if now - snapshot.taken_at <= _period(services):
        text = await _tile(services, snapshot, now, after=CHART)
        return Answer(text, then=partial(_chart, services, user, snapshot))
    note = (
        f":hourglass_flowing_sand: This reading is {age(now - snapshot.taken_at)} old (Sales "
        f"Pulse reads the shop every {t.format_minutes(services.settings.sales_pulse_minutes)}"
        "): a fresh read is under way, and its numbers follow here."
    )
    text = await _tile(services, snapshot, now, before=note)
    return Answer(text, then=partial(_fresh, services, user, snapshot))


async def _tile(
    services: Services, snapshot: PulseSnapshot, now: datetime, *, before: str = "", after: str = ""
) -> str:
    """The tile, with the open alerts and the sources' freshness as they are now."""
    alerts, read = await asyncio.gather(
        services.store.open_sales_alerts(), source_lines(services, now)
    )
    links = await asyncio.gather(
        *(slack.permalink(services, a.message) if a.message else _none() for a in alerts)
    )
    linked: list[Linked] = list(zip(alerts, links, strict=True))
    text = tile_text(snapshot, now, alerts=linked, sources=read, note=before)
    return f"{text}\n{after}" if after else text


async def _none() -> None:
    return None


def _period(services: Services) -> timedelta:
    return timedelta(minutes=services.settings.sales_pulse_minutes)


async def _fresh(
    services: Services, user: str, stale: PulseSnapshot | None, respond: Respond
) -> None:
    """Read the shop now (this window's run, once across askers and replicas), then answer
    again with what it read, or say why there is nothing newer."""
    every = _period(services).total_seconds()
    window = runs.window_start(services.clock(), every)
    run = await runs.run_in_window(
        services, sales_pulse.JOB, every, lambda: sales_pulse.pulse(services)
    )
    if run is None:  # someone else's run: wait for it
        run = await _finished(services, window)
    snapshot = await services.store.sales_snapshot()
    now = services.clock()
    if snapshot is not None and (stale is None or snapshot.taken_at > stale.taken_at):
        text = await _tile(services, snapshot, now, after=CHART)
        await respond(text=text, response_type="ephemeral")
        await _chart(services, user, snapshot, respond)
        return
    if run is None:
        why = f"it is still going after {t.format_minutes(REFRESH_WAIT_SECONDS / 60)}"
    elif run.outcome is RunOutcome.FAILED:
        why = f"it failed ({t.inline(run.detail, 300)})"
    else:
        why = "it kept no newer reading"
    kept = "the reading above is the latest" if stale else "there is no reading yet"
    await respond(
        text=f":warning: The fresh read of the shop did not answer: {why}; {kept}. "
        "On-call hears of a Shopify failure in the reliability channel.",
        response_type="ephemeral",
    )


async def _finished(services: Services, window: datetime) -> JobRun | None:
    """The `sales-pulse` run of ``window`` (or a later one) once it has finished; None if it
    does not finish in time."""
    deadline = time.monotonic() + REFRESH_WAIT_SECONDS
    while time.monotonic() < deadline:
        last = await services.store.last_run(sales_pulse.JOB)
        if last is not None and last.window_start >= window and last.finished_at is not None:
            return last
        await asyncio.sleep(REFRESH_POLL_SECONDS)
    return None


async def _drawn(services: Services, snapshot: PulseSnapshot) -> bytes:
    """The snapshot's chart, drawn once on this replica (off the event loop): fifty people
    asking at once wait for one drawing, not fifty. Only the latest snapshot's is kept."""
    charts = services.pulse_charts
    drawing = charts.get(snapshot.taken_at)
    if drawing is None:
        charts.clear()
        drawing = charts[snapshot.taken_at] = asyncio.ensure_future(
            asyncio.to_thread(today_png, snapshot)
        )
    try:
        return await asyncio.shield(drawing)
    except Exception:
        charts.pop(snapshot.taken_at, None)  # drawn again next time
        raise


async def _chart(services: Services, user: str, snapshot: PulseSnapshot, respond: Respond) -> None:
    """The tile's trend chart, in the asker's direct messages with the bot."""
    png = await _drawn(services, snapshot)
    local = snapshot.taken_at.astimezone(ZoneInfo(snapshot.timezone))
    channel = await slack.direct_message_channel(services, user)
    shared = channel is not None and await slack.share_file(
        services,
        channel,
        png,
        filename=f"sales-pulse-{local:%Y-%m-%d-%H%M}.png",
        title="Sales Pulse: revenue today against the usual day",
        comment=f"Sales Pulse, read {t.slack_date(snapshot.taken_at)}: today's revenue so far, "
        "hour by hour, against the past 7 days' average.",
    )
    if not shared:
        await respond(text=NO_CHART, response_type="ephemeral")
