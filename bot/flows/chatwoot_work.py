"""Work people do in Chatwoot itself retires the Slack cards it makes moot: when an agent
answers the customer there, or resolves the conversation, the conversation's waiting cards
say so and can no longer send anything (``draft.retired``), so nobody sends a second,
perhaps contradicting, reply from Slack.

occ-bot sends with an agent's API token, so its own replies reach the webhook looking like
that agent's (docs/research/chatwoot_events_issue20.md, 4). A reply is the bot's own when
Chatwoot stored it under a message id the bot recorded, or, before the bot has recorded it
(the webhook can come first), when the bot queued that very text for the conversation.
"""

from __future__ import annotations

from datetime import timedelta

from bot import decision_log
from bot.domain import Action, Draft, LogEntry, RetiredBecause, Retirement
from bot.flows import surfaces
from bot.integrations.chatwoot_webhook import AnsweredInChatwoot, ResolvedInChatwoot
from bot.services import Services

OWN_REPLY_WINDOW = timedelta(hours=1)  # how far back a queued reply of ours is looked for


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

    retired = await services.store.retire_waiting(work.conversation_id, retirement, entry)
    await surfaces.changed(services, *(surfaces.Event(Action.DRAFT_RETIRED, d) for d in retired))
    return retired


async def _ours(services: Services, work: AnsweredInChatwoot) -> bool:
    store = services.store
    if await store.outbox_message_sent_as(str(work.message_id)) is not None:
        return True
    since = services.clock() - OWN_REPLY_WINDOW
    queued = await store.replies_in_conversation(work.conversation_id, since)
    return any(reply.content == work.content for reply in queued)
