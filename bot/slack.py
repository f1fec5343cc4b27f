"""The outbound Slack boundary: every Web API call the flows make (post, update, delete,
open a form, publish the Home tab, tell one user, look up a profile), what a call can fail
with, and the bot's own identity. Flows call these, never the client directly."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol, TypeVar

import aiohttp
from slack_bolt.authorization import AuthorizeResult
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.modals import loading_modal, nothing_modal
from bot.domain import SlackRef
from bot.integrations.retry_after import retry_after_seconds
from bot.runtime.workspace import Workspace
from bot.services import Services

log = logging.getLogger("occ.slack")

T = TypeVar("T")

# What a Web API call can fail with: Slack's own error answers, and the transport's.
SLACK_FAILURES = (SlackClientError, aiohttp.ClientError, TimeoutError)


# Slack's answers when the bot cannot work in a channel at all (it is missing, archived, or
# private and the bot was not invited): waiting and retrying changes nothing.
CHANNEL_REFUSALS = frozenset({"channel_not_found", "not_in_channel", "is_archived"})


def refusal(error: BaseException) -> str | None:
    """Slack's code if ``error`` says the bot cannot work in the channel, else None."""
    if isinstance(error, SlackApiError) and error.response.get("error") in CHANNEL_REFUSALS:
        return str(error.response.get("error"))
    return None


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
    metadata: Metadata | None = None,
) -> SlackRef:
    """Post a message (in a thread, with ``thread_ts``; carrying our ``metadata``, which
    `find_posted` looks for) in the channel's turn (`bot.runtime.pacing`); raises one of
    SLACK_FAILURES when Slack does not take it. A 429 did nothing, so the post waits out its
    ``Retry-After`` and is tried again, at most `RATE_LIMITED_RETRIES` times."""
    target = services.workspace.known_id(channel) or channel

    async def in_turn() -> SlackRef:
        await services.pacer.turn(target)
        response = await services.slack.chat_postMessage(
            channel=target,
            text=text,
            blocks=blocks,
            thread_ts=thread_ts,
            metadata=None if metadata is None else metadata.as_slack(),
        )
        return SlackRef(channel=response["channel"], ts=response["ts"])

    for _ in range(RATE_LIMITED_RETRIES):
        try:
            return await in_turn()
        except SlackApiError as error:
            wait = retry_after(error)
            if wait is None:
                raise
            services.pacer.rate_limited(target, wait)
    return await in_turn()


RATE_LIMITED_RETRIES = 5  # a 429 did nothing; the post lease outlasts these waits


def retry_after(error: SlackApiError) -> float | None:
    """Seconds Slack asks us to wait when it answered 429 (1 if it did not say); else None."""
    if error.response.status_code != 429:
        return None
    headers = {name.lower(): value for name, value in (error.response.headers or {}).items()}
    value = headers.get("retry-after")
    seconds = retry_after_seconds(value[0] if isinstance(value, list) else value)
    return 1.0 if seconds is None else seconds


@dataclass(frozen=True)
class Metadata:
    """Message metadata naming what a message is for, e.g. ("occ_reminder", "rem_…")."""

    event_type: str
    key: str

    def as_slack(self) -> dict[str, Any]:
        return {"event_type": self.event_type, "event_payload": {"id": self.key}}

    def marks(self, message: Mapping[str, Any]) -> bool:
        found = message.get("metadata")
        return (
            isinstance(found, Mapping)
            and found.get("event_type") == self.event_type
            and isinstance(found.get("event_payload"), Mapping)
            and found["event_payload"].get("id") == self.key
        )


FIND_PAGES = 5  # pages of 200 messages searched before posting again
PERMALINKS_KEPT = 10_000  # a replica's remembered permalinks, forgotten all at once past this
LIST_PAGES = 20  # pages of 1,000 channels searched for a channel's name


class SlackSide(Protocol):
    """What channel look-ups need: the Web API client and this replica's workspace view
    (`Services` has both; `occ-bot check` builds only these)."""

    slack: AsyncWebClient
    workspace: Workspace


async def channel_id(services: SlackSide, channel: str) -> str | None:
    """The ID of a channel given as ``#name`` (an ID is returned as is); None if the bot
    cannot see a channel of that name. The workspace's channels are listed once and
    remembered; a name not found is looked for again only after a while. Raises one of
    SLACK_FAILURES."""
    if not channel.startswith("#"):
        return channel
    workspace = services.workspace
    known = workspace.known_id(channel)
    if known is not None or not workspace.may_list_again():
        return known
    cursor = None
    for _ in range(LIST_PAGES):
        response = await services.slack.conversations_list(
            types="public_channel,private_channel", limit=1000, cursor=cursor
        )
        workspace.learn(
            {
                str(found["name"]): str(found["id"])
                for found in response.get("channels") or []
                if isinstance(found, Mapping) and found.get("name") and found.get("id")
            }
        )
        cursor = (response.get("response_metadata") or {}).get("next_cursor")
        if not cursor:
            break
    return workspace.known_id(channel)


async def join(services: SlackSide, channel: str) -> str | None:
    """Join a public channel (``conversations.join``): None once the bot is a member, else
    Slack's reason (a private channel needs an invitation; an archived one takes nobody)."""
    try:
        await services.slack.conversations_join(channel=channel)
    except SlackApiError as error:
        return str(error.response.get("error"))
    return None


async def _as_member(services: SlackSide, channel: str, call: Callable[[], Awaitable[T]]) -> T:
    """``call()``; if Slack answers not_in_channel, join the channel and call once more (real
    Slack lets a bot post to a public channel it never joined, but not read it, show an
    ephemeral or share a file there). Raises one of SLACK_FAILURES."""
    try:
        return await call()
    except SlackApiError as error:
        if error.response.get("error") != "not_in_channel":
            raise
        refused = await join(services, channel)
        if refused is not None:
            log.warning("cannot join %s to work in it: %s", channel, refused)
            raise
    return await call()


async def find_posted(
    services: Services,
    channel: str,
    metadata: Metadata,
    *,
    thread_ts: str | None = None,
    since: datetime | None = None,
) -> SlackRef | None:
    """Our message marked with ``metadata``: in a thread, or among a channel's messages since
    ``since`` (the channel by ID or ``#name``). A post whose outcome is unknown (its worker
    died) is looked for here before it is posted again. Raises one of SLACK_FAILURES when
    Slack cannot be read."""
    oldest = since - timedelta(minutes=1) if since is not None else None
    async for found_in, message in _messages(services, channel, thread_ts=thread_ts, oldest=oldest):
        if metadata.marks(message):
            return SlackRef(channel=found_in, ts=message["ts"])
    return None


async def marked(
    services: Services, channel: str, event_type: str, *, since: datetime
) -> list[tuple[str, str]]:
    """The (metadata id, ts) of the channel's messages of ``event_type`` since ``since``,
    newest first. Raises one of SLACK_FAILURES."""
    found: list[tuple[str, str]] = []
    async for _, message in _messages(services, channel, oldest=since):
        meta = message.get("metadata")
        if isinstance(meta, Mapping) and meta.get("event_type") == event_type:
            payload = meta.get("event_payload")
            if isinstance(payload, Mapping):
                found.append((str(payload.get("id")), str(message["ts"])))
    return found


async def _messages(
    services: Services,
    channel: str,
    *,
    thread_ts: str | None = None,
    oldest: datetime | None = None,
) -> AsyncIterator[tuple[str, Mapping[str, Any]]]:
    """(channel ID, message) for a thread's replies, or a channel's messages since ``oldest``
    (newest first), with their metadata; at most `FIND_PAGES` pages."""
    found_in = await channel_id(services, channel)  # history needs an ID, not a #name
    if found_in is None:
        log.warning("cannot read %s: no channel of that name is visible to the bot", channel)
        return
    cursor = None
    for _ in range(FIND_PAGES):
        if thread_ts is not None:
            read = functools.partial(
                services.slack.conversations_replies,
                channel=found_in,
                ts=thread_ts,
                include_all_metadata=True,
                limit=200,
                cursor=cursor,
            )
        else:
            read = functools.partial(
                services.slack.conversations_history,
                channel=found_in,
                oldest=f"{oldest.timestamp():.6f}" if oldest is not None else None,
                include_all_metadata=True,
                limit=200,
                cursor=cursor,
            )
        response = await _as_member(services, found_in, read)
        for message in response.get("messages") or []:
            if isinstance(message, Mapping):
                yield str(response.get("channel") or found_in), message
        cursor = (response.get("response_metadata") or {}).get("next_cursor")
        if not response.get("has_more") or not cursor:
            return


async def permalink(services: Services, ref: SlackRef) -> str | None:
    """A link to a posted message, asked of Slack once per replica; None (and a warning) if
    Slack will not give one."""
    known = services.permalinks.get(ref)
    if known is not None:
        return known
    try:
        response = await services.slack.chat_getPermalink(channel=ref.channel, message_ts=ref.ts)
    except SLACK_FAILURES as error:
        log.warning("no permalink for %s/%s: %s", ref.channel, ref.ts, describe(error))
        return None
    link = response.get("permalink")
    if not isinstance(link, str):
        return None
    if len(services.permalinks) >= PERMALINKS_KEPT:
        services.permalinks.clear()
    services.permalinks[ref] = link
    return link


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


async def upload(
    services: Services,
    ref: SlackRef,
    content: bytes,
    *,
    filename: str,
    title: str,
    comment: str | None = None,
) -> bool:
    """Share a file in the thread of the message at ``ref``; see `share_file`."""
    return await share_file(
        services,
        ref.channel,
        content,
        filename=filename,
        title=title,
        comment=comment,
        thread=ref.ts,
    )


async def share_file(
    services: Services,
    channel: str,
    content: bytes,
    *,
    filename: str,
    title: str,
    comment: str | None = None,
    thread: str | None = None,
) -> bool:
    """Share a file in a conversation (Slack's upload flow: files.getUploadURLExternal, the
    bytes, files.completeUploadExternal); False, with a warning, if Slack did not take it."""
    try:
        found = await channel_id(services, channel)  # the upload flow takes only an ID
        if found is None:
            log.warning(
                "could not upload %s: no channel %s is visible to the bot", filename, channel
            )
            return False
        upload = functools.partial(
            services.slack.files_upload_v2,
            channel=found,
            thread_ts=thread,
            content=content,
            filename=filename,
            title=title,
            initial_comment=comment,
        )
        await _as_member(services, found, upload)
    except SLACK_FAILURES as error:
        log.warning("could not upload %s: %s", filename, describe(error))
        return False
    return True


async def direct_message_channel(services: Services, user: str) -> str | None:
    """The id of the bot's direct-message conversation with ``user`` (conversations.open);
    None, with a warning, if Slack will not open it."""
    try:
        response = await services.slack.conversations_open(users=user)
    except SLACK_FAILURES as error:
        log.warning("no direct message with %s: %s", user, describe(error))
        return None
    channel = response.get("channel")
    found = channel.get("id") if isinstance(channel, dict) else None
    return found if isinstance(found, str) else None


# A click's trigger_id opens one modal within 3 s of the click; a form not ready by then
# opens as "Loading…" and is filled in once it is (views.update takes the modal's id).
LOADING_AFTER_SECONDS = 1.0


async def open_form(
    services: Services, trigger_id: str, prepare: Awaitable[dict[str, Any] | None]
) -> None:
    """Open the modal ``prepare`` builds (None: nothing to open, the user was told why).
    Raises one of SLACK_FAILURES if Slack would not open it."""
    building = asyncio.ensure_future(prepare)
    done, _ = await asyncio.wait({building}, timeout=LOADING_AFTER_SECONDS)
    if building in done:
        view = building.result()
        if view is not None:
            await services.slack.views_open(trigger_id=trigger_id, view=view)
        return
    try:
        opened = await services.slack.views_open(trigger_id=trigger_id, view=loading_modal())
    except BaseException:
        await building  # what it does (a refusal it tells) still happens
        raise
    view = await building
    await services.slack.views_update(
        view_id=opened["view"]["id"], hash=opened["view"]["hash"], view=view or nothing_modal()
    )


async def views_publish(services: Services, user: str, view: dict[str, Any]) -> None:
    """Show ``view`` as ``user``'s Home tab (what goes in it is `bot.flows.overview`'s)."""
    try:
        await services.slack.views_publish(user_id=user, view=view)
    except SLACK_FAILURES as error:  # e.g. user_not_found: nothing to show, nothing lost
        log.warning("could not publish the Home tab for %s: %s", user, describe(error))


# chat.postEphemeral's answers when the message cannot be shown in that channel: a user
# previewing a public channel they have not joined can still click its buttons; the bot
# itself must be a member, chat:write.public or not.
NOT_SHOWN_THERE = frozenset(
    {"user_not_in_channel", "channel_not_found", "is_archived", "not_in_channel"}
)


async def tell(services: Services, *, channel: str | None, user: str, text: str) -> None:
    """A message only `user` sees: in the channel where they acted, else (or when Slack cannot
    show it to them there) by direct message."""
    try:
        if channel and await _told_in_channel(services, channel, user, text):
            return
        await post(services, user, text=text)
    except SLACK_FAILURES as error:
        log.warning("could not tell %s: %s", user, describe(error))


async def _told_in_channel(services: Services, channel: str, user: str, text: str) -> bool:
    show = functools.partial(
        services.slack.chat_postEphemeral, channel=channel, user=user, text=text
    )
    try:
        await _as_member(services, channel, show)
    except SlackApiError as error:
        if error.response.get("error") not in NOT_SHOWN_THERE:
            raise
        return False
    return True


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
