"""Everything the bot says in Slack outside an acknowledgement: cards, notices, alerts."""

from __future__ import annotations

import logging

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.blocks.card import draft_card, draft_card_text
from bot.domain import Action, Draft, DraftState, Escalation, LogEntry, Outcome, Scope
from bot.health import Transition
from bot.policy import requires_manager
from bot.services import Services, new_id

log = logging.getLogger("occ.slack")

# What a Web API call can fail with: Slack's own error answers, and the transport's.
SLACK_FAILURES = (SlackClientError, aiohttp.ClientError, TimeoutError)


def describe(error: BaseException) -> str:
    """Slack's error code (e.g. channel_not_found), or the transport error."""
    if isinstance(error, SlackApiError):
        return str(error.response.get("error"))
    return f"{type(error).__name__}: {error}"[:200]


def card_blocks(
    services: Services, draft: Draft, escalation: Escalation | None = None
) -> list[dict]:
    return draft_card(
        draft,
        conversation_url=services.conversation_url(draft.input.conversation_id),
        chatwoot_enabled=services.chatwoot is not None,
        managers_only=requires_manager(draft.flags),
        escalation=escalation,
    )


async def refresh_card(
    services: Services, draft: Draft, escalation: Escalation | None = None
) -> bool:
    """Redraw a posted card from the stored draft; False (and a log line) if Slack refused."""
    if draft.card is None:
        return False
    if escalation is None and draft.state is DraftState.ESCALATED:
        escalation = await services.store.escalation_for_draft(draft.id)
    try:
        await services.slack.chat_update(
            channel=draft.card.channel,
            ts=draft.card.ts,
            blocks=card_blocks(services, draft, escalation),
            text=draft_card_text(draft),
        )
    except SLACK_FAILURES as error:
        log.warning("could not update card of %s: %s", draft.id, describe(error))
        return False
    return True


async def tell(services: Services, *, channel: str | None, user: str, text: str) -> None:
    """A message only `user` sees: in the channel where they acted, else by direct message."""
    try:
        if channel:
            await services.slack.chat_postEphemeral(channel=channel, user=user, text=text)
        else:
            await services.slack.chat_postMessage(channel=user, text=text)
    except SLACK_FAILURES as error:
        log.warning("could not tell %s: %s", user, describe(error))


async def user_profile(services: Services, user: str) -> dict[str, str | None]:
    """The Slack user's name and email (cached), for attribution in Chatwoot."""
    if user not in services.user_cache:
        try:
            response = await services.slack.users_info(user=user)
            profile = response["user"].get("profile", {})
            services.user_cache[user] = {
                "name": profile.get("real_name") or response["user"].get("name"),
                "email": profile.get("email"),
            }
        except SLACK_FAILURES as error:
            log.warning("users.info %s failed: %s", user, describe(error))
            return {"name": None, "email": None}
    return services.user_cache[user]


async def dependency_failed(services: Services, dependency: str, detail: str) -> None:
    """First failure of a streak: alert reliability on-call once."""
    if services.health.failed(dependency, services.clock()) is not Transition.WENT_DOWN:
        return
    await _reliability(services, Action.RELIABILITY_ALERT, dependency, detail, Outcome.FAILED)


async def dependency_ok(services: Services, dependency: str) -> None:
    if services.health.succeeded(dependency) is not Transition.RECOVERED:
        return
    await _reliability(services, Action.RELIABILITY_RECOVERED, dependency, "", Outcome.SUCCESS)


async def _reliability(
    services: Services, action: Action, dependency: str, detail: str, outcome: Outcome
) -> None:
    if action is Action.RELIABILITY_ALERT:
        text = (
            f":rotating_light: *{dependency}* is failing: {detail}. "
            "Affected work is kept and retried automatically."
        )
    else:
        text = f":white_check_mark: *{dependency}* has recovered; queued work is going out."
    posted = True
    try:
        await services.slack.chat_postMessage(
            channel=services.settings.reliability_channel, text=text
        )
    except SLACK_FAILURES as error:
        posted = False
        log.error("could not post reliability alert: %s", describe(error))
    await services.store.log(
        LogEntry(
            id=new_id("log"),
            created_at=services.clock(),
            actor="system",
            action=action,
            scope=Scope.RELIABILITY,
            subject_id=dependency,
            conversation_id=None,
            payload={"dependency": dependency, "detail": detail, "posted_to_slack": posted},
            outcome=outcome,
        )
    )
