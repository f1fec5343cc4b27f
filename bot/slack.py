"""The outbound Slack boundary: what a Web API call can fail with, telling one user, profiles."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import aiohttp
from slack_bolt.authorization import AuthorizeResult
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from bot.services import Services

log = logging.getLogger("occ.slack")

# What a Web API call can fail with: Slack's own error answers, and the transport's.
SLACK_FAILURES = (SlackClientError, aiohttp.ClientError, TimeoutError)


def describe(error: BaseException) -> str:
    """Slack's error code (e.g. channel_not_found), or the transport error."""
    if isinstance(error, SlackApiError):
        return str(error.response.get("error"))
    return f"{type(error).__name__}: {error}"[:200]


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
