"""Start-up against a real workspace: is the token good (``auth.test``), and can the bot work
in each configured channel? It joins the public ones (``conversations.join``); one it
cannot work in (private and not invited, archived, missing) is named with its fix.

A token Slack rejects stops the start (`SlackRejected`); a Slack that does not answer is a
degraded state, tried again in the background, not an exit.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

from slack_sdk.errors import SlackApiError

from bot import slack
from bot.runtime.workspace import ChannelProblem, problem_for
from bot.services import Services

log = logging.getLogger("occ.slack")

# auth.test's answers for a token that will never work, and what to do about each.
REJECTED_TOKEN = {
    "invalid_auth": "is not a valid token for any workspace: copy the Bot User OAuth Token "
    "(xoxb-…) from your app's OAuth & Permissions page",
    "not_authed": "was not sent: set it to the Bot User OAuth Token (xoxb-…)",
    "token_revoked": "was revoked (the app was uninstalled or the token rotated): reinstall "
    "the app and copy the new Bot User OAuth Token",
    "token_expired": "has expired (token rotation is on): turn rotation off for this app or "
    "copy a fresh token",
    "account_inactive": "belongs to a deactivated user or workspace: reinstall the app in an "
    "active workspace",
}
RETRY_SECONDS = (5.0, 15.0, 30.0, 60.0)  # then every minute


class SlackRejected(Exception):
    """Slack rejected SLACK_BOT_TOKEN: nothing the bot does can work."""


async def connect(services: Services) -> bool:
    """Ask Slack who the bot is. True if it answered; False (and /healthz shows Slack
    degraded) if it could not be reached; `SlackRejected` if it refused the token."""
    workspace = services.workspace
    try:
        response = await services.slack.auth_test()
    except SlackApiError as error:
        code = str(error.response.get("error"))
        if code in REJECTED_TOKEN:
            raise SlackRejected(
                f"Slack rejected SLACK_BOT_TOKEN ({code}): it {REJECTED_TOKEN[code]}."
            ) from None
        return _unreachable(services, code)
    except slack.SLACK_FAILURES as error:
        return _unreachable(services, slack.describe(error))
    workspace.unreachable_since = None
    log.info("Slack: workspace %s, as @%s", response.get("team"), response.get("user"))
    return True


def _unreachable(services: Services, detail: str) -> bool:
    workspace = services.workspace
    if workspace.unreachable_since is None:
        workspace.unreachable_since = services.clock()
    log.warning("Slack did not answer auth.test (%s): serving degraded, trying again", detail)
    return False


async def join_channels(services: Services) -> None:
    """Join every configured public channel the bot is not in yet; name each one it cannot
    work in, once, with the fix (in the log, and in /healthz through the workspace).

    A channel named ``#name`` goes first, alone: looking at it lists the workspace's
    channels once (`slack.channel_id`), which the others, looked at together, then read.
    Serving starts after this, so against Slack a start waits for a few round trips, not
    two or three per channel."""
    channels = sorted(
        services.settings.channels().items(), key=lambda item: not item[0].startswith("#")
    )
    for channel, setting in channels[:1]:
        await _join(services, channel, setting)
    await asyncio.gather(*(_join(services, channel, setting) for channel, setting in channels[1:]))


async def _join(services: Services, channel: str, setting: str) -> None:
    try:
        problem, _ = await examine(services, channel, setting, join=True, now=services.clock())
    except slack.SLACK_FAILURES as error:  # Slack stopped answering: the next try joins
        log.warning("could not look at %s: %s", channel, slack.describe(error))
        return
    if problem is not None:
        services.workspace.refused(problem)
        log.warning("cannot work in %s (%s): %s", channel, setting, problem.fix)
    else:
        services.workspace.works(channel)


async def examine(
    services: slack.SlackSide, channel: str, setting: str, *, join: bool, now: datetime
) -> tuple[ChannelProblem | None, str]:
    """Whether the bot can work in ``channel``: a problem with its fix, or what was found
    (joining it first when ``join``; `occ-bot check` only looks). Raises one of
    SLACK_FAILURES when Slack does not answer."""
    try:
        found = await slack.channel_id(services, channel)
        if found is None:
            return problem_for(channel, setting, "not found", now), ""
        info = (await services.slack.conversations_info(channel=found)).get("channel") or {}
    except SlackApiError as error:
        return problem_for(channel, setting, str(error.response.get("error")), now), ""
    if info.get("is_archived"):
        return problem_for(channel, setting, "is_archived", now), ""
    if info.get("is_member") or info.get("is_private"):  # a private one shows to members only
        return None, f"{channel} ({found}): member"
    if not join:
        return None, f"{channel} ({found}): public; the bot joins it when it starts"
    refused = await slack.join(services, found)
    if refused is not None:
        return problem_for(channel, setting, refused, now), ""
    return None, f"{channel} ({found}): joined"


async def keep_connecting(services: Services) -> None:
    """Until Slack answers: try again, then join the channels. A token rejected meanwhile
    is logged; the bot stays up, degraded, for its intake and /healthz."""
    for attempt in range(10**6):  # bounded for form's sake: about two years of minutes
        await asyncio.sleep(RETRY_SECONDS[min(attempt, len(RETRY_SECONDS) - 1)])
        try:
            if await connect(services):
                await join_channels(services)
                log.info("Slack answers again")
                return
        except SlackRejected as error:
            log.error("%s", error)
            return
