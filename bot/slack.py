"""The outbound Slack boundary: every Web API call the flows make (post, update, delete,
open a form, publish the Home tab, tell one user, look up a profile), what a call can fail
with, and the bot's own identity. Flows call these, never the client directly."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from slack_bolt.authorization import AuthorizeResult
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from bot.domain import SlackRef
from bot.services import Services

log = logging.getLogger("occ.slack")

# What a Web API call can fail with: Slack's own error answers, and the transport's.
SLACK_FAILURES = (SlackClientError, aiohttp.ClientError, TimeoutError)


def describe(error: BaseException) -> str:
    """Slack's error code (e.g. channel_not_found), or the transport error."""
    if isinstance(error, SlackApiError):
        return str(error.response.get("error"))
    return f"{type(error).__name__}: {error}"[:200]


Blocks = list[dict[str, Any]]


async def post(
    services: Services,
    channel: str,
    *,
    text: str,
    blocks: Blocks | None = None,
    thread_ts: str | None = None,
) -> SlackRef:
    """Post a message (in a thread, with ``thread_ts``); raises one of SLACK_FAILURES when
    Slack does not take it."""
    response = await services.slack.chat_postMessage(
        channel=channel, text=text, blocks=blocks, thread_ts=thread_ts
    )
    return SlackRef(channel=response["channel"], ts=response["ts"])


async def permalink(services: Services, ref: SlackRef) -> str | None:
    """A link to a posted message; None (and a warning) if Slack will not give one."""
    try:
        response = await services.slack.chat_getPermalink(channel=ref.channel, message_ts=ref.ts)
    except SLACK_FAILURES as error:
        log.warning("no permalink for %s/%s: %s", ref.channel, ref.ts, describe(error))
        return None
    link = response.get("permalink")
    return link if isinstance(link, str) else None


async def update(
    services: Services, ref: SlackRef, *, text: str, blocks: Blocks, what: str
) -> bool:
    """Redraw a posted message; False (and a warning naming ``what``) if Slack refused."""
    try:
        await services.slack.chat_update(channel=ref.channel, ts=ref.ts, text=text, blocks=blocks)
    except SLACK_FAILURES as error:
        log.warning("could not update %s: %s", what, describe(error))
        return False
    return True


async def delete(services: Services, ref: SlackRef, *, what: str) -> None:
    try:
        await services.slack.chat_delete(channel=ref.channel, ts=ref.ts)
    except SLACK_FAILURES as error:
        log.warning("could not delete %s: %s", what, describe(error))


async def open_form(services: Services, trigger_id: str, view: dict[str, Any]) -> None:
    """Open a modal; raises one of SLACK_FAILURES (the trigger expires 3 s after a click)."""
    await services.slack.views_open(trigger_id=trigger_id, view=view)


async def publish_home(services: Services, user: str, view: dict[str, Any]) -> None:
    try:
        await services.slack.views_publish(user_id=user, view=view)
    except SLACK_FAILURES as error:  # e.g. user_not_found: nothing to show, nothing lost
        log.warning("could not publish the Home tab for %s: %s", user, describe(error))


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


def bot_identity(slack: AsyncWebClient) -> Callable[..., Awaitable[AuthorizeResult]]:
    """Bolt's `authorize` hook: who the bot is in Slack (``auth.test``), asked once per start
    however many requests arrive together. (Bolt reads the hook's parameter names, so it is a
    plain function.)"""
    lock = asyncio.Lock()
    known: list[AuthorizeResult] = []

    async def authorize(enterprise_id: str | None, team_id: str | None) -> AuthorizeResult:
        async with lock:  # the first caller asks; the others wait for its answer
            if not known:
                response = await slack.auth_test()
                known.append(
                    AuthorizeResult.from_auth_test_response(
                        auth_test_response=response, bot_token=slack.token
                    )
                )
        return known[0]

    return authorize
