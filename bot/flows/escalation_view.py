"""How an escalation's message in the managers' channel looks now, and redrawing it.

The escalation workflow posts it; `bot.flows.surfaces` redraws it after a claim, a reminder
(how late it is, where the escalation chain has it) and a resolution, coalesced: one redraw
per pacing window, of the last state.
"""

from __future__ import annotations

from typing import Any

from bot import slack
from bot.blocks.escalation import escalation_message, escalation_text
from bot.blocks.mentions import level_mention, managers_mention
from bot.domain import Draft, Escalation, Urgency
from bot.rules.chain import LevelKind, level_index
from bot.services import Services


def render(
    services: Services, escalation: Escalation, draft: Draft
) -> tuple[list[dict[str, Any]], str]:
    """Blocks and notification text; an Urgent escalation mentions the managers in both."""
    called = urgent_mentions(services, escalation)
    blocks = escalation_message(
        escalation,
        draft,
        conversation_url=services.conversation_url(draft.input.conversation_id),
        sla_minutes=services.settings.sla_minutes,
        now=services.clock(),
        mentions=called,
        with_level=chain_position(services, escalation),
    )
    return blocks, escalation_text(escalation, draft, called)


REDRAWS = 3


def redraw_soon(services: Services, escalation: Escalation) -> None:
    """Redraw the escalation within one pacing window (`PostPacer.window`, a second at
    Slack's rate): however many changes come meanwhile (a burst of reminders, a claim), one
    `chat.update` draws it as it stands then, the last state."""
    if escalation.message is None:
        return
    services.background.spawn_coalesced(
        f"escalation-redraw:{escalation.id}",
        services.pacer.window,
        lambda: redraw(services, escalation),
        name=f"redraw escalation {escalation.id}",
    )


async def redraw(services: Services, escalation: Escalation) -> None:
    """Draw the escalation as it stands now. Two workers may redraw at once (a reminder and a
    claim) and Slack may apply their updates in either order, so after each update the
    escalation is read again and drawn again if it changed meanwhile: the last update drawn
    is never older than the last change."""
    if escalation.message is None:
        return
    latest = await services.store.get_escalation(escalation.id)
    draft = await services.store.get_draft(escalation.draft_id)
    for _ in range(REDRAWS):
        if latest is None or draft is None or latest.message is None:
            return
        blocks, text = render(services, latest, draft)
        what = f"escalation {latest.id}"
        await slack.update(services, latest.message, text=text, blocks=blocks, what=what)
        now = await services.store.get_escalation(escalation.id)
        if now == latest:
            return
        latest = now


def urgent_mentions(services: Services, escalation: Escalation) -> str:
    """Who an escalation calls on the moment it is posted: the managers, if it is Urgent."""
    if escalation.urgency is not Urgency.URGENT:
        return ""
    return managers_mention(services.settings.managers, services.settings.managers_group)


def chain_position(services: Services, escalation: Escalation) -> str:
    """Where the chain has an open escalation, once it has left the first level."""
    settings = services.settings
    chain = settings.escalation_chain
    if escalation.reminders_sent < 1:
        return ""
    level = level_index(escalation.reminders_sent, settings.reminders_per_level, len(chain))
    if level == 0:
        return ""
    called = level_mention(chain[level], settings.managers, settings.managers_group)
    if not called:
        called = "the managers" if chain[level].kind is LevelKind.MANAGERS else str(chain[level])
    return f"{called} (level {level + 1} of {len(chain)})"
