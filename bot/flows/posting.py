"""Posting a Slack message that must appear exactly once: a draft's card, an escalation's
message to the managers.

1. Take the post lease (a conditional write), so one worker posts at a time.
2. Post. A transient failure (rate limited beyond the client's retries, a 5xx, the network)
   is logged as ``retry`` and alerted as Slack failing; the lease runs out and the
   ``reposts`` job posts again. A permanent refusal (the channel is missing, archived, or
   the bot is not in it) is counted: after `PARK_AFTER_REFUSALS` the message is parked
   rather than retried, and one alert names the channel to fix. The first post to that
   channel that works again closes the alert and offers every parked message again.
3. Record where it went, fenced by the lease. A worker whose lease ran out while it posted
   (so another may have posted too) deletes its own copy instead of leaving it orphaned.

A worker that dies between posting and recording leaves a posted message the database does
not know. Messages that carry `metadata` (reminders) are therefore looked for in Slack before
a later attempt posts them again (`posted_before`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar

from slack_sdk.errors import SlackApiError

from bot import slack
from bot.blocks.text import escape
from bot.domain import LogEntry, Outcome, SlackRef
from bot.flows import database_down
from bot.flows.incidents import clear_incident, dependency_failed, dependency_ok, raise_incident
from bot.services import Services
from bot.store.posts import PARK_AFTER_REFUSALS

log = logging.getLogger("occ.posting")

T = TypeVar("T")


@dataclass(frozen=True)
class Post(Generic[T]):
    """One message and how its subject (a draft, an escalation) takes, records and counts it."""

    what: str  # "card", "escalation message": in logs and alerts
    channel: str
    setting: str  # the variable that names the channel, for the alert
    render: Callable[[], tuple[list[dict[str, Any]], str]]  # blocks and fallback text
    entry: Callable[[dict[str, Any], Outcome], LogEntry]
    claim: Callable[[datetime, datetime], Awaitable[object | None]]
    record: Callable[[SlackRef, datetime, LogEntry, datetime], Awaitable[T | None]]
    refused: Callable[[datetime, LogEntry], Awaitable[int | None]]
    unpark: Callable[[], Awaitable[None]]
    thread_ts: str | None = None  # a reply in that message's thread
    metadata: slack.Metadata | None = None  # marks the message, so it can be found again
    # Given what the claim returned: where an earlier attempt, whose worker died before it
    # recorded anything, posted the message (None: it did not, or this is the first attempt).
    posted_before: Callable[[Any], Awaitable[SlackRef | None]] | None = None
    # Where the message is recorded now: a late worker must not delete the copy that a
    # later attempt found and recorded (see posted_before).
    recorded: Callable[[], Awaitable[SlackRef | None]] | None = None
    # A rate limit that outlasts the retries is no incident for this message: something
    # watches how late such messages are (`bot.flows.reminder_lag`), and a planned burst
    # meeting 429s for a while is not an outage.
    lateness_watched: bool = False


def found_in_slack(
    services: Services,
    channel: str,
    marker: slack.Metadata,
    *,
    since: datetime,
    thread_ts: str | None = None,
) -> Callable[[object], Awaitable[SlackRef | None]]:
    """`Post.posted_before` for a post tried again: the message an earlier attempt posted
    (marked ``marker``), if Slack took it before its answer was lost."""

    async def posted_before(_claimed: object) -> SlackRef | None:
        return await slack.find_posted(services, channel, marker, thread_ts=thread_ts, since=since)

    return posted_before


def refusal_incident(channel: str) -> str:
    return f"slack-post:{channel}"


async def post_once(services: Services, post: Post[T]) -> T | None:
    """Post and record the message, unless it is posted or being posted already."""
    now = services.clock()
    lease_until = now + timedelta(seconds=services.settings.slack_post_lease_seconds)
    claimed = await post.claim(now, lease_until)
    if claimed is None:
        return None
    blocks, text = post.render()
    started = time.perf_counter()
    found = None
    try:
        if post.posted_before is not None:
            found = await post.posted_before(claimed)
        ref = found or await slack.post(
            services,
            post.channel,
            text=text,
            blocks=blocks,
            thread_ts=post.thread_ts,
            metadata=post.metadata,
        )
    except slack.SLACK_FAILURES as error:
        await _not_posted(services, post, error, lease_until)
        return None
    await dependency_ok(services, "slack")
    payload: dict[str, Any] = {
        "channel": ref.channel,
        "ts": ref.ts,
        "latency_ms": round((time.perf_counter() - started) * 1000, 1),
    }
    if found is not None:
        payload["reconciled"] = True  # an earlier attempt had posted it: not posted again
    recorded = await post.record(
        ref, services.clock(), post.entry(payload, Outcome.SUCCESS), lease_until
    )
    if recorded is None:
        if found is None and not await _recorded_elsewhere(post, ref):
            await _delete_copy(services, post, ref)
        return None
    await _channel_works(services, post)
    return recorded


async def _not_posted(
    services: Services, post: Post[T], error: BaseException, lease_until: datetime
) -> None:
    detail = slack.describe(error)
    code = error.response.get("error") if isinstance(error, SlackApiError) else None
    payload = {"error": detail, "channel": post.channel}
    if slack.refusal(error) is None:
        await database_down.keep(services, post.entry(payload, Outcome.RETRY))
        if code == "ratelimited" and post.lateness_watched:
            return
        await dependency_failed(
            services,
            "slack",
            f"posting a {post.what}: {detail}",
            rate_limited=code == "ratelimited",
        )
        return
    refusals = await post.refused(lease_until, post.entry(payload, Outcome.RETRY))
    if refusals is None or refusals < PARK_AFTER_REFUSALS:
        return  # retried by the `reposts` job once the lease runs out
    await database_down.keep(services, post.entry(payload | {"parked": True}, Outcome.FAILED))
    await raise_incident(
        services,
        refusal_incident(post.channel),
        subject="slack",
        detail=f"{post.channel}: {detail}",
        text=(
            f":no_entry: Slack refuses posts to {escape(post.channel)} ({escape(detail)}), "
            f"so {post.what}s for it wait unposted. Invite the bot to the channel or fix "
            f"`{post.setting}`: they go out as soon as a post there works again."
        ),
    )


async def _channel_works(services: Services, post: Post[T]) -> None:
    cleared = await clear_incident(
        services,
        refusal_incident(post.channel),
        subject="slack",
        text=f":white_check_mark: Posting to {escape(post.channel)} works again; "
        f"the {post.what}s that waited are going out.",
    )
    if cleared:
        await post.unpark()


async def _recorded_elsewhere(post: Post[T], ref: SlackRef) -> bool:
    """True if this very message is the one recorded (another attempt found it)."""
    if post.recorded is None:
        return False
    return await post.recorded() == ref


async def _delete_copy(services: Services, post: Post[T], ref: SlackRef) -> None:
    log.warning("%s posted after its lease ran out; deleting this copy (%s)", post.what, ref.ts)
    await slack.delete(services, ref, what=f"the extra {post.what} {ref.ts}")
