"""SLA reminders and the escalation chain: an unclaimed escalation is never left unseen.

Each tick takes the escalations whose reminder is due. Taking one is a conditional write on
its reminder count (`Reminders.take_reminder`), so a due time gets one reminder however
many replicas tick and however their clocks differ. The reminder row it writes is then posted
once (`bot.flows.posting`), in the escalation's thread or, at a channel level of the chain,
in that channel. The next due reminder is taken while one is being posted, and posts go one
at a time in due order, each in its channel's turn (`bot.runtime.pacing`). A reminder taken
but not posted (Slack down, the replica killed) is posted by a later tick; one whose
escalation was claimed meanwhile is dropped.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime
from typing import Any

from bot import decision_log, slack
from bot.blocks.mentions import level_mention
from bot.blocks.reminders import reminder_blocks
from bot.domain import (
    Action,
    Escalation,
    EscalationState,
    LogEntry,
    Outcome,
    Reminder,
    SlackRef,
)
from bot.flows import surfaces
from bot.flows.posting import Post, post_once
from bot.rules.chain import LevelKind, level_index, next_reminder_at, parse_level, steps_up
from bot.runtime.batch import Tally, each, each_pipelined
from bot.services import Services

log = logging.getLogger("occ.reminders")

PAGE = 100
REMINDER_EVENT = "occ_reminder"  # Slack message metadata on every reminder
MAX_PAGES = 50  # a bounded run; whatever is left is due again on the next tick


async def remind_and_repost(services: Services) -> str:
    """The `reminders` job: the reminders due now, then those Slack did not take earlier."""
    taken = await remind_due(services)
    reposted = await repost_reminders(services)
    return f"{taken.describe('due reminders')}; {reposted.describe('unposted reminders')}"


async def remind_due(services: Services) -> Tally:
    """Take and post every reminder due now, page by page."""
    tally, tried = Tally(), set[str]()
    for _ in range(MAX_PAGES):
        due = [
            i for i in await services.store.due_reminders(services.clock(), PAGE) if i not in tried
        ]
        if not due:
            break
        tried.update(due)
        tally += await each_pipelined(
            due,
            lambda i: take_due_reminder(services, i),
            lambda taken: _post_taken(services, taken),
            what="reminding escalation",
        )
    return tally


async def repost_reminders(services: Services) -> Tally:
    """Post the reminders taken earlier that did not reach Slack."""

    async def repost(reminder_id: str) -> None:
        reminder = await services.store.get_reminder(reminder_id)
        if reminder is None:
            return
        escalation = await services.store.get_escalation(reminder.escalation_id)
        if escalation is not None:
            await post_reminder(services, reminder, escalation)

    ids = await services.store.unposted_reminders(services.clock())
    return await each(ids, repost, what="posting reminder")


async def _post_taken(services: Services, taken: tuple[Reminder, Escalation] | None) -> None:
    if taken is not None:
        await post_reminder(services, *taken)


async def take_due_reminder(
    services: Services, escalation_id: str
) -> tuple[Reminder, Escalation] | None:
    """Take the escalation's next reminder if it is due: the reminder, and the escalation as
    it stands once taken (posting it is `post_reminder`)."""
    store, settings = services.store, services.settings
    escalation = await store.get_escalation(escalation_id)
    now = services.clock()
    if escalation is None or escalation.state is not EscalationState.OPEN:
        return None
    scheduled = escalation.next_reminder_at or escalation.due_at
    if scheduled > now:
        return None
    chain, per_level = settings.escalation_chain, settings.reminders_per_level
    number = escalation.reminders_sent + 1
    level = level_index(number, per_level, len(chain))
    reminder = Reminder(
        id=services.new_id("rem"),
        escalation_id=escalation.id,
        number=number,
        level=level,
        notify=str(chain[level]),
        due_at=scheduled,
        created_at=now,
    )
    logs = []
    if steps_up(number, per_level, len(chain)):
        logs.append(
            _entry(
                services,
                Action.ESCALATION_STEPPED_UP,
                escalation,
                {"from": str(chain[level - 1]), "to": reminder.notify, "level": level + 1},
            )
        )
    taken = await store.take_reminder(
        reminder,
        expected_count=escalation.reminders_sent,
        next_reminder_at=next_reminder_at(scheduled, settings.sla_minutes[escalation.urgency], now),
        logs=logs,
    )
    if taken is None:
        return None  # another replica took this due time
    return taken, replace(escalation, reminders_sent=number)


async def post_reminder(
    services: Services, reminder: Reminder, escalation: Escalation
) -> Reminder | None:
    store, settings = services.store, services.settings
    now = services.clock()
    if escalation.state is not EscalationState.OPEN:
        await store.skip_reminder(reminder.id, now=now)
        return None
    level = parse_level(reminder.notify)
    called = level_mention(level, settings.managers, settings.managers_group)
    in_channel = level.kind is LevelKind.CHANNEL or escalation.message is None
    channel = level.target if level.kind is LevelKind.CHANNEL else settings.escalations_channel
    thread_ts = None
    if not in_channel and escalation.message is not None:
        channel, thread_ts = escalation.message.channel, escalation.message.ts
    link = None
    if in_channel and escalation.message is not None:
        link = await slack.permalink(services, escalation.message)
    draft = await store.get_draft(escalation.draft_id)
    stepped_up = steps_up(
        reminder.number, settings.reminders_per_level, len(settings.escalation_chain)
    )
    late = round((now - escalation.due_at).total_seconds())
    marker = slack.Metadata(REMINDER_EVENT, reminder.id)

    def render() -> tuple[list[dict[str, Any]], str]:
        return reminder_blocks(
            reminder,
            escalation,
            draft,
            now=now,
            called=called,
            level_count=len(settings.escalation_chain),
            stepped_up=stepped_up,
            in_channel=in_channel,
            escalation_link=link,
        )

    def entry(payload: dict[str, Any], outcome: Outcome) -> LogEntry:
        details = {
            "reminder": reminder.number,
            "level": reminder.level + 1,
            "notify": reminder.notify,
            "due_at": reminder.due_at.isoformat(),
            "overdue_seconds": late,
        }
        return _entry(services, Action.ESCALATION_REMINDED, escalation, details | payload, outcome)

    posted = await post_once(
        services,
        Post(
            what="reminder",
            channel=channel,
            setting="OCC_ESCALATION_CHAIN"
            if level.kind is LevelKind.CHANNEL
            else "OCC_ESCALATIONS_CHANNEL",
            render=render,
            entry=entry,
            claim=lambda at, until: _claim_while_open(services, reminder, at, until),
            record=lambda ref, at, log, until: store.record_reminder(
                reminder.id, ref, (log,), lease_until=until
            ),
            refused=lambda until, log: store.refuse_reminder_post(
                reminder.id, lease_until=until, log=log
            ),
            unpark=store.unpark_reminders,
            thread_ts=thread_ts,
            metadata=marker,
            posted_before=lambda claimed: _posted_before(
                services, claimed, channel, marker, thread_ts
            ),
            recorded=lambda: _recorded(services, reminder.id),
            lateness_watched=True,
        ),
    )
    if posted is not None:  # the message shows how late it is and where the chain has it
        events = [surfaces.Event(Action.ESCALATION_REMINDED, escalation)]
        if stepped_up:
            events.append(surfaces.Event(Action.ESCALATION_STEPPED_UP, escalation))
        await surfaces.changed(services, *events)
    return posted


async def _posted_before(
    services: Services,
    claimed: Reminder,
    channel: str,
    marker: slack.Metadata,
    thread_ts: str | None,
) -> SlackRef | None:
    """An earlier attempt's copy of this reminder, if its worker posted it and died."""
    if claimed.attempts <= 1:
        return None
    return await slack.find_posted(
        services, channel, marker, thread_ts=thread_ts, since=claimed.created_at
    )


async def _claim_while_open(
    services: Services, reminder: Reminder, now: datetime, lease_until: datetime
) -> Reminder | None:
    """Take the post lease, then look again: a claim that came since the reminder was taken
    means nobody needs it any more."""
    store = services.store
    claimed = await store.claim_reminder_post(reminder.id, now=now, lease_until=lease_until)
    if claimed is None:
        return None
    escalation = await store.get_escalation(reminder.escalation_id)
    if escalation is None or escalation.state is not EscalationState.OPEN:
        await store.skip_reminder(reminder.id, now=now)
        return None
    return claimed


async def _recorded(services: Services, reminder_id: str) -> SlackRef | None:
    stored = await services.store.get_reminder(reminder_id)
    return None if stored is None else stored.message


def _entry(
    services: Services,
    action: Action,
    escalation: Escalation,
    payload: dict[str, Any],
    outcome: Outcome = Outcome.SUCCESS,
) -> LogEntry:
    return decision_log.entry(
        services,
        action,
        subject_id=escalation.id,
        conversation_id=escalation.conversation_id,
        payload={"draft_id": escalation.draft_id, **payload},
        outcome=outcome,
    )
