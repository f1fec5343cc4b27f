"""Work people do in Chatwoot itself retires the Slack cards it makes moot: when an agent
answers the customer there, or resolves the conversation, the conversation's waiting cards
say so and can no longer send anything (``draft.retired``), so nobody sends a second,
perhaps contradicting, reply from Slack. An assignment to a person only says who is on it:
the waiting cards show it (``draft.assigned``), and so do cards posted later.

Drafting takes time, so a person may answer (or resolve) before the draft of the messages
they answered is stored: the webhook then finds no card. The time of that work is kept per
conversation, written before the webhook looks for cards; a draft is stored, and then checked
against it (`retire_if_answered`): one of the two always sees the other, so the draft is
retired either way, once, and its card is never posted.

occ-bot sends with an agent's API token, so its own replies reach the webhook looking like
that agent's (docs/research/chatwoot_events_issue20.md, 4). A reply is the bot's own when
Chatwoot stored it under a message id the bot recorded, or, before the bot has recorded it
(the webhook can come first), when the bot queued that very text for the conversation.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from bot import decision_log
from bot.domain import Action, Assignee, Draft, LogEntry, RetiredBecause, Retirement
from bot.flows import surfaces
from bot.integrations.chatwoot_answers import ChatwootError
from bot.integrations.chatwoot_webhook import (
    AnsweredInChatwoot,
    AssignedInChatwoot,
    ResolvedInChatwoot,
    WorkInChatwoot,
)
from bot.services import Services

log = logging.getLogger("occ.chatwoot_work")

OWN_REPLY_WINDOW = timedelta(hours=1)  # how far back a queued reply of ours is looked for


async def seen_in_chatwoot(services: Services, work: WorkInChatwoot) -> list[Draft]:
    """Act on what a webhook says people did in Chatwoot; the drafts whose cards changed."""
    if isinstance(work, AssignedInChatwoot):
        return await assigned_in_chatwoot(services, work)
    return await done_in_chatwoot(services, work)


async def done_in_chatwoot(
    services: Services, work: AnsweredInChatwoot | ResolvedInChatwoot
) -> list[Draft]:
    """Retire the conversation's waiting drafts; the drafts retired."""
    now = services.clock()
    if isinstance(work, ResolvedInChatwoot):
        retirement = Retirement(RetiredBecause.RESOLVED, now)
        payload: dict[str, object] = {"because": "resolved"}
    elif await _ours(services, work):
        return []
    else:
        retirement = Retirement(RetiredBecause.ANSWERED, now, work.agent_name)
        payload = {
            "because": "answered",
            "agent": {"id": work.agent_id, "name": work.agent_name},
            "message_id": work.message_id,
        }

    def entry(draft: Draft) -> LogEntry:
        return decision_log.draft_entry(
            services, Action.DRAFT_RETIRED, draft, payload, actor="chatwoot"
        )

    store = services.store
    # First the conversation's record, then the cards: a draft stored meanwhile sees the one.
    await store.record_done_in_chatwoot(work.conversation_id, retirement)
    retired = await store.retire_waiting(work.conversation_id, retirement, entry)
    _forget(services, retired)
    await surfaces.changed(services, *(surfaces.Event(Action.DRAFT_RETIRED, d) for d in retired))
    return retired


async def retire_if_answered(services: Services, draft: Draft, newest_message: datetime) -> Draft:
    """A draft just stored, whose customer's newest message came before a person answered
    (or resolved) the conversation in Chatwoot, is moot: retire it, with its
    ``draft.retired`` row, before its card is posted. The draft as it now stands."""
    done = (await services.store.conversation_in_chatwoot(draft.input.conversation_id)).done
    if done is None or newest_message >= done.at:
        return draft
    payload = {
        "because": done.because.value,
        "agent": {"name": done.by} if done.by else None,
        "done_at": done.at.isoformat(),
        "newest_message_at": newest_message.isoformat(),
        "found": "when the draft was stored",  # the webhook had come while it was drafted
    }

    def entry(retired: Draft) -> LogEntry:
        return decision_log.draft_entry(
            services, Action.DRAFT_RETIRED, retired, payload, actor="chatwoot"
        )

    conversation = draft.input.conversation_id
    retired = await services.store.retire_waiting(conversation, done, entry, only=draft.id)
    _forget(services, retired)
    await surfaces.changed(services, *(surfaces.Event(Action.DRAFT_RETIRED, d) for d in retired))
    return retired[0] if retired else await services.store.get_draft(draft.id) or draft


def _forget(services: Services, retired: list[Draft]) -> None:
    for draft in retired:
        services.pending_drafts.forget(draft.id)


async def _ours(services: Services, work: AnsweredInChatwoot) -> bool:
    store = services.store
    if await store.outbox_message_sent_as(str(work.message_id)) is not None:
        return True
    since = services.clock() - OWN_REPLY_WINDOW
    queued = await store.replies_in_conversation(work.conversation_id, since)
    return any(reply.content == work.content for reply in queued)


async def assigned_in_chatwoot(services: Services, work: AssignedInChatwoot) -> list[Draft]:
    """Keep who the conversation is assigned to in Chatwoot, a person or nobody (occ-bot's own
    agent is nobody: no person is on it), and show it on its waiting cards, each with its
    ``draft.assigned`` row; the drafts whose cards now show the change."""
    store = services.store
    at = work.changed_at or services.clock()
    assignee = None
    if work.agent_id is not None and not await _bots_own_agent(services, work.agent_id):
        assignee = Assignee(work.agent_id, work.agent_name or f"agent {work.agent_id}", at)
    before = (await store.conversation_in_chatwoot(work.conversation_id)).assignee
    if _same_person(before, assignee):
        return []  # a redelivery, or occ-bot's own agent after nobody: nothing to show
    waiting = await store.drafts_awaiting_decision(work.conversation_id)
    payload = {
        "assignee": _agent(assignee),
        "previous": _agent(before),
        "chatwoot_agent_id": work.agent_id,  # occ-bot's own agent when not the assignee
    }
    rows = [
        decision_log.draft_entry(services, Action.DRAFT_ASSIGNED, d, payload, actor="chatwoot")
        for d in waiting
    ]
    if not await store.record_assignee(work.conversation_id, assignee, at=at, logs=rows):
        return []  # a newer assignment is stored already
    await surfaces.changed(services, *(surfaces.Event(Action.DRAFT_ASSIGNED, d) for d in waiting))
    return waiting


async def _bots_own_agent(services: Services, agent_id: int) -> bool:
    """Whether ``agent_id`` is occ-bot's own Chatwoot agent (its token's owner). Unknown when
    Chatwoot cannot say: then the assignee is shown, as Chatwoot shows it."""
    if services.chatwoot is None:
        return False
    try:
        return agent_id == await services.chatwoot.own_agent_id()
    except ChatwootError as error:
        log.warning("could not read occ-bot's own Chatwoot agent: %s", error)
        return False


def _same_person(before: Assignee | None, after: Assignee | None) -> bool:
    if before is None or after is None:
        return before is after
    return (before.agent_id, before.name) == (after.agent_id, after.name)


def _agent(assignee: Assignee | None) -> dict[str, object] | None:
    return None if assignee is None else {"id": assignee.agent_id, "name": assignee.name}
