"""A local Slack Web API that the real ``slack_sdk`` clients talk to, for tests and the demo.

Point ``AsyncWebClient(token=..., base_url=standin.url + "/api/")`` at it. It answers the
methods the bot uses with the shapes of Slack's documented examples, keeps what was posted
(messages by channel and ts, ephemerals, modals), records every call, and can be told to fail
the next call of a method (a 429 with Retry-After, or an ``ok: false`` error).

It checks what Slack checks cheaply: the token, required arguments, and the Block Kit limits
(block counts and text lengths). Errors have Slack's form::

    {"ok": false, "error": "invalid_blocks", "errors": ["must be less than 3001 characters
     [json-pointer:/blocks/1/text/text]"], "response_metadata": {"messages": ["[ERROR] ..."]}}

A message whose blocks hold more than 12,000 characters of text is refused with
``msg_blocks_too_long``: Slack does not document the exact limit, it was seen from about
13,000 (slackapi/bolt-js#2509), so the stand-in errs on the strict side.

``{url}/hooks/<name>`` stands in for interaction ``response_url``\\ s (see :meth:`response_url`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from bot.demo.standins.server import Standin

DEFAULT_TOKEN = "xoxb-occ-standin"
MESSAGE_BLOCKS_MAX = 50
VIEW_BLOCKS_MAX = 100
MESSAGE_BLOCKS_TEXT_MAX = 12_000
MESSAGE_TEXT_MAX = 40_000  # Slack truncates longer text
TRIGGER_SECONDS = 3.0  # a trigger_id opens one modal, within 3 s of the click
JSON_ARGS = ("blocks", "attachments", "view", "metadata", "files")
# The channels every stand-in workspace has (the bot's default channel names); others are
# added with `SlackStandin.add_channel`. A name Slack does not know is `channel_not_found`.
DEFAULT_CHANNELS = (
    "occ-approvals",
    "occ-escalations",
    "occ-sales",
    "occ-reliability",
    "occ-training",
)
# files.completeUploadExternal's channel_id must be a conversation ID, never a #name.
CONVERSATION_ID = re.compile(r"^[CGDZ][A-Z0-9]{8,}$")

Handler = Callable[[dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class Call:
    """One Web API call as the stand-in received it (the token left out)."""

    method: str
    args: dict[str, Any]
    at: float
    ok: bool = True
    error: str | None = None


@dataclass(frozen=True)
class SlackUser:
    """A workspace member that ``users.info`` knows."""

    id: str
    name: str
    real_name: str | None = None
    email: str | None = None
    is_admin: bool = False
    is_bot: bool = False
    tz: str = "America/New_York"


@dataclass
class Channel:
    """A conversation as the workspace has it, and whether the bot is a member."""

    id: str
    name: str
    private: bool = False
    archived: bool = False
    bot_member: bool = False

    def as_slack(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "is_channel": not self.private,
            "is_group": self.private,
            "is_private": self.private,
            "is_archived": self.archived,
            "is_member": self.bot_member,
        }


@dataclass
class _Failure:
    error: str
    status: int
    retry_after: int | None
    remaining: int
    after_effect: bool = False


class Hold:
    """Calls of one method kept waiting; ``set()`` lets them (and later calls) through in
    arrival order, ``set_newest_first()`` in reverse, as a congested Slack may answer them."""

    def __init__(self, *, answered: bool = False) -> None:
        self.answered = answered  # the call takes effect first; only its answer waits
        self._waiting: list[asyncio.Event] = []
        self._open = False

    @property
    def held(self) -> int:
        return len(self._waiting)

    async def wait(self) -> None:
        if self._open:
            return
        event = asyncio.Event()
        self._waiting.append(event)
        await event.wait()

    def set(self) -> None:
        self._release(self._waiting)

    def set_newest_first(self) -> None:
        self._release(list(reversed(self._waiting)))

    def _release(self, order: list[asyncio.Event]) -> None:
        self._open = True
        for event in order:
            event.set()
        self._waiting.clear()


class SlackError(Exception):
    """An ``ok: false`` answer."""

    def __init__(
        self,
        error: str,
        *,
        status: int = 200,
        extra: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(error)
        self.error = error
        self.status = status
        self.extra = dict(extra or {})
        self.headers = dict(headers or {})


class SlackFailure(SlackError):
    """An injected failure (`SlackStandin.fail_next`)."""

    def __init__(
        self, error: str, *, status: int, headers: Mapping[str, str] | None, after_effect: bool
    ) -> None:
        super().__init__(error, status=status, headers=headers)
        self.after_effect = after_effect


class SlackStandin(Standin):
    """Slack's Web API on 127.0.0.1, with the state a test needs to look at.

    Args:
        tokens: the tokens it accepts (others get ``invalid_auth``).
        users: members ``users.info`` answers for (more with :meth:`add_user`).
        channels: public channels by name and id, e.g. ``{"occ-approvals": "C0APPROVALS"}``,
            besides `DEFAULT_CHANNELS` (whose ids derive from their names); more, private or
            archived ones with :meth:`add_channel`. The bot is a member of none until it
            joins (``conversations.join``) or is invited (:meth:`invite`).
        team_id, team, bot_user_id, bot_id, app_id: what ``auth.test`` and messages show.
        clock: seconds since the epoch; message ts are derived from it.
        limit_concurrency, log_level: passed to the server.
    """

    def __init__(
        self,
        *,
        tokens: Iterable[str] = (DEFAULT_TOKEN,),
        users: Iterable[SlackUser] = (),
        channels: Mapping[str, str] | None = None,
        team_id: str = "T0OCCSTAND",
        team: str = "OCC Stand-in",
        bot_user_id: str = "U0OCCBOT",
        bot_id: str = "B0OCCBOT",
        app_id: str = "A0OCCBOT",
        clock: Callable[[], float] = time.time,
        limit_concurrency: int | None = None,
        log_level: str | int | None = None,
    ) -> None:
        super().__init__(limit_concurrency=limit_concurrency, log_level=log_level)
        self.tokens = set(tokens)
        self.revoked: set[str] = set()  # tokens answered token_revoked (the app was removed)
        self.team_id, self.team = team_id, team
        self.bot_user_id, self.bot_id, self.app_id = bot_user_id, bot_id, app_id
        self._clock = clock
        self._users: dict[str, SlackUser] = {}
        self.add_user(SlackUser(id=bot_user_id, name="occ-bot", real_name="OCC Bot", is_bot=True))
        for user in users:
            self.add_user(user)
        self._channels: dict[str, str] = {}  # name -> id
        self._rooms: dict[str, Channel] = {}  # id -> the channel
        for name in DEFAULT_CHANNELS:
            self.add_channel(name)
        for name, channel_id in (channels or {}).items():
            self.add_channel(name, channel_id)
        self._dms: dict[str, str] = {}
        self._calls: list[Call] = []
        self._messages: dict[tuple[str, str], dict[str, Any]] = {}
        self._ephemerals: list[dict[str, Any]] = []
        self._views: dict[str, dict[str, Any]] = {}
        self._failures: dict[str, list[_Failure]] = {}
        self._holds: dict[str, Hold] = {}
        self._delays: dict[str, tuple[float, bool]] = {}  # method -> (seconds, after effect)
        self._post_limit: tuple[float, float] | None = None  # (per second, burst) per channel
        self._refused: dict[str, str] = {}  # channel id -> the error posting there answers
        self._buckets: dict[str, tuple[float, float]] = {}  # channel -> (tokens, at)
        self._last_micros = 0
        self._counter = 0
        self._handlers: dict[str, Handler] = {
            "auth.test": self._auth_test,
            "chat.postMessage": self._post_message,
            "chat.update": self._update,
            "chat.delete": self._delete,
            "chat.postEphemeral": self._post_ephemeral,
            "chat.getPermalink": self._get_permalink,
            "views.open": self._views_open,
            "views.update": self._views_update,
            "views.publish": self._views_publish,
            "users.info": self._users_info,
            "conversations.open": self._conversations_open,
            "conversations.replies": self._conversations_replies,
            "conversations.list": self._conversations_list,
            "conversations.history": self._conversations_history,
            "conversations.info": self._conversations_info,
            "conversations.join": self._conversations_join,
            "files.getUploadURLExternal": self._get_upload_url,
            "files.completeUploadExternal": self._complete_upload,
        }
        self._files: dict[str, dict[str, Any]] = {}
        self._triggers: dict[str, float] = {}  # issued by `trigger`: when
        self._used_triggers: set[str] = set()

    # -- setup and failure injection ----------------------------------------------------------

    def add_user(self, user: SlackUser) -> None:
        self._users[user.id] = user

    def trigger(self) -> str:
        """A trigger_id as a click's payload carries it, issued now: views.open takes it
        once, within `TRIGGER_SECONDS`."""
        self._counter += 1
        trigger = f"{int(self._clock())}{self._counter:04d}.{self.team_id}.standin{self._counter}"
        self._triggers[trigger] = self._clock()
        return trigger

    def add_channel(
        self,
        name: str,
        channel_id: str | None = None,
        *,
        private: bool = False,
        archived: bool = False,
        bot_member: bool = False,
    ) -> str:
        """A channel of the workspace (replacing one of that name); returns its id."""
        name = _channel_name(name)
        old = self._channels.pop(name, None)
        if old is not None:
            self._rooms.pop(old, None)
        channel_id = channel_id or self._derived_id(name, "G" if private else "C")
        self._channels[name] = channel_id
        self._rooms[channel_id] = Channel(channel_id, name, private, archived, bot_member)
        return channel_id

    def invite(self, channel: str) -> None:
        """Someone typed ``/invite @occ-bot`` in the channel."""
        self._room(self._resolve_channel(channel)).bot_member = True

    def kick(self, channel: str) -> None:
        """Someone removed the bot from the channel."""
        self._room(self._resolve_channel(channel)).bot_member = False

    def archive(self, channel: str) -> None:
        room = self._room(self._resolve_channel(channel))
        room.archived, room.bot_member = True, False

    def is_member(self, channel: str) -> bool:
        return self._room(self._resolve_channel(channel)).bot_member

    def fail_next(
        self,
        method: str,
        error: str = "ratelimited",
        *,
        status: int | None = None,
        retry_after: int | None = 1,
        times: int = 1,
        after_effect: bool = False,
    ) -> None:
        """Make the next ``times`` calls of ``method`` fail.

        ``ratelimited`` answers HTTP 429 with ``Retry-After`` (as Slack does); any other error
        answers HTTP 200 with ``ok: false`` unless ``status`` says otherwise. With
        ``after_effect`` the call takes effect first (the message is posted) and only its
        answer is the failure: Slack says a 500 or a dropped connection may hide a call that
        went through (docs/real-services.md).
        """
        if method not in self._handlers:
            raise ValueError(f"the stand-in does not implement {method}")
        code = status if status is not None else (429 if error == "ratelimited" else 200)
        wait = retry_after if code == 429 else None
        failure = _Failure(error, code, wait, times, after_effect)
        self._failures.setdefault(method, []).append(failure)

    def refuse_posts(self, channel: str, error: str | None = "not_in_channel") -> None:
        """Refuse every chat.postMessage to ``channel`` with ``error``, as Slack does while the
        bot is not a member of a private channel (``not_in_channel``) or the channel is
        archived (``is_archived``); ``None`` lets posts through again."""
        channel_id = self._resolve_channel(channel)
        if error is None:
            self._refused.pop(channel_id, None)
        else:
            self._refused[channel_id] = error

    def hold(self, method: str, *, after_effect: bool = False) -> Hold:
        """Keep every call of ``method`` waiting until the returned hold is released: a slow
        Slack, for tests of what happens meanwhile. With ``after_effect`` the call takes
        effect at once (the message is posted) and only its answer is held back."""
        gate = self._holds[method] = Hold(answered=after_effect)
        return gate

    def limit_posts(self, per_second: float, burst: int = 1) -> None:
        """Enforce a per-channel posting limit on chat.postMessage, as Slack does ("about one
        message per second per channel", short bursts allowed): a post over it is answered
        429 ``ratelimited`` with ``Retry-After`` in whole seconds."""
        self._post_limit = (per_second, float(burst))
        self._buckets.clear()

    def slow(self, method: str, seconds: float, *, after_effect: bool = False) -> None:
        """Answer every call of ``method`` ``seconds`` late: Slack under load. With
        ``after_effect`` the call takes effect first and only its answer is late."""
        self._delays[method] = (seconds, after_effect)

    # -- what happened -------------------------------------------------------------------------

    def calls(self, method: str | None = None) -> list[Call]:
        """Every call received, oldest first; only those of ``method`` if given."""
        return [c for c in self._calls if method is None or c.method == method]

    def last(self, method: str) -> Call | None:
        found = self.calls(method)
        return found[-1] if found else None

    def channel_id(self, channel: str) -> str:
        """The id the stand-in uses for a channel name (``#occ-approvals``), id or user id."""
        return self._resolve_channel(channel)

    def message(self, channel: str, ts: str) -> dict[str, Any] | None:
        """A posted message as it is now (after any chat.update)."""
        return self._messages.get((self._resolve_channel(channel), ts))

    def messages_in(self, channel: str) -> list[dict[str, Any]]:
        """Messages posted in a channel, thread replies included, in posting order."""
        channel_id = self._resolve_channel(channel)
        return [m for (c, _), m in self._messages.items() if c == channel_id]

    def thread(self, channel: str, thread_ts: str) -> list[dict[str, Any]]:
        """Replies in a message's thread, oldest first."""
        return [m for m in self.messages_in(channel) if m.get("thread_ts") == thread_ts]

    def ephemerals(self, user: str | None = None) -> list[dict[str, Any]]:
        """Ephemeral messages shown (to ``user`` only, if given), oldest first."""
        return [e for e in self._ephemerals if user is None or e["user"] == user]

    def view(self, view_id: str) -> dict[str, Any] | None:
        return self._views.get(view_id)

    @property
    def api_url(self) -> str:
        """The Web API base URL for ``AsyncWebClient(base_url=...)`` / ``SLACK_API_URL``."""
        return f"{self.url}/api/"

    def response_url(self, name: str = "default") -> str:
        """A URL to put in interaction payloads as ``response_url``; posts to it are recorded
        as calls of method ``response_url`` with the JSON body as args (plus ``hook``)."""
        return f"{self.url}/hooks/{name}"

    # -- HTTP ----------------------------------------------------------------------------------

    def build_app(self) -> ASGIApp:
        return Starlette(
            routes=[
                Route("/api/{method}", self._api, methods=["GET", "POST"]),
                Route("/hooks/{name:path}", self._hook, methods=["POST"]),
                Route("/upload/v1/{file_id}", self._upload, methods=["POST"]),
            ]
        )

    async def _api(self, request: Request) -> Response:
        method = request.path_params["method"]
        at = self._clock()
        args: dict[str, Any] = {}
        try:
            args, token = await _read_args(request)
            handler = self._handlers.get(method)
            if handler is None:
                raise SlackError("unknown_method")
            if not token:
                raise SlackError("not_authed")
            if token in self.revoked:
                raise SlackError("token_revoked")
            if token not in self.tokens:
                raise SlackError("invalid_auth")
            gate = self._holds.get(method)
            if gate is not None and not gate.answered:
                await gate.wait()
            delay, after_effect = self._delays.get(method, (0.0, False))
            if delay and not after_effect:
                await asyncio.sleep(delay)
            failure = self._take_failure(method)
            if failure is not None and not failure.after_effect:
                raise failure
            if method == "chat.postMessage" and self._post_limit is not None:
                self._take_post_token(args)
            result = handler(args)
            if failure is not None:
                raise failure
            if gate is not None and gate.answered:
                await gate.wait()
            if delay and after_effect:
                await asyncio.sleep(delay)
        except SlackError as err:
            self._calls.append(Call(method, args, at, ok=False, error=err.error))
            body = {"ok": False, "error": err.error, **err.extra}
            return JSONResponse(body, status_code=err.status, headers=err.headers)
        self._calls.append(Call(method, args, at))
        return JSONResponse({"ok": True, **result})

    async def _hook(self, request: Request) -> Response:
        try:
            body = json.loads(await request.body() or b"{}")
        except ValueError:
            return PlainTextResponse("invalid_payload", status_code=400)
        args = body if isinstance(body, dict) else {"body": body}
        self._calls.append(
            Call("response_url", {**args, "hook": request.path_params["name"]}, self._clock())
        )
        return PlainTextResponse("ok")

    def _take_post_token(self, args: dict[str, Any]) -> None:
        assert self._post_limit is not None
        rate, burst = self._post_limit
        channel = self._resolve_channel(args.get("channel"))
        now = self._clock()
        tokens, at = self._buckets.get(channel, (burst, now))
        tokens = min(burst, tokens + (now - at) * rate)
        if tokens < 1:
            self._buckets[channel] = (tokens, now)
            wait = max(1, math.ceil((1 - tokens) / rate))
            raise SlackError("ratelimited", status=429, headers={"Retry-After": str(wait)})
        self._buckets[channel] = (tokens - 1, now)

    def _take_failure(self, method: str) -> SlackFailure | None:
        queue = self._failures.get(method)
        if not queue:
            return None
        failure = queue[0]
        failure.remaining -= 1
        if failure.remaining <= 0:
            queue.pop(0)
        retry_after = failure.retry_after
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
        return SlackFailure(
            failure.error, status=failure.status, headers=headers, after_effect=failure.after_effect
        )

    # -- methods -------------------------------------------------------------------------------

    def _auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": self._workspace_url,
            "team": self.team,
            "user": self._users[self.bot_user_id].name,
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    def _post_message(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._resolve_channel(_required(args, "channel", "channel_not_found"))
        if channel in self._refused:
            raise SlackError(self._refused[channel])
        self._check_access(channel, member=False)
        if channel in self._rooms and self._rooms[channel].archived:
            raise SlackError("is_archived")
        content = _message_content(args)
        ts = self._next_ts()
        message: dict[str, Any] = {
            "type": "message",
            "subtype": "bot_message",
            "text": content.get("text", ""),
            "ts": ts,
            "username": self._users[self.bot_user_id].name,
            "bot_id": self.bot_id,
            "user": self.bot_user_id,
            "app_id": self.app_id,
            "team": self.team_id,
            **{k: v for k, v in content.items() if k != "text"},
        }
        if args.get("thread_ts"):
            message["thread_ts"] = str(args["thread_ts"])
        metadata = _metadata(args.get("metadata"))
        if metadata is not None:
            message["metadata"] = metadata
        self._messages[(channel, ts)] = message
        return {"channel": channel, "ts": ts, "message": dict(message)}

    # -- files: Slack's upload flow (getUploadURLExternal, POST the bytes, complete) ---------

    def files(self) -> list[dict[str, Any]]:
        """Uploaded files: ``filename``, ``title``, ``content`` (bytes), and where they were
        shared (``channel``, ``thread_ts``), oldest first."""
        return [dict(f) for f in self._files.values() if f.get("completed")]

    def _get_upload_url(self, args: dict[str, Any]) -> dict[str, Any]:
        filename = _required(args, "filename", "invalid_arguments")
        length = int(_required(args, "length", "invalid_arguments"))
        file_id = self._new_id("F")
        self._files[file_id] = {"id": file_id, "filename": filename, "length": length}
        return {"upload_url": f"{self.url}/upload/v1/{file_id}", "file_id": file_id}

    async def _upload(self, request: Request) -> Response:
        found = self._files.get(request.path_params["file_id"])
        if found is None:
            return PlainTextResponse("not found", status_code=404)
        content = await request.body()
        if len(content) != found["length"]:
            return PlainTextResponse("length mismatch", status_code=400)
        found["content"] = content
        return PlainTextResponse(f"OK - {len(content)}")

    def _complete_upload(self, args: dict[str, Any]) -> dict[str, Any]:
        files = args.get("files")
        if not isinstance(files, list) or not files:
            raise _invalid_arguments(["missing required field: files"])
        channel = args.get("channel_id")
        if channel:
            if not CONVERSATION_ID.fullmatch(str(channel)):  # docs/real-services.md
                raise _invalid_arguments(
                    [
                        "[ERROR] failed to match all allowed schemas [json-pointer:/channel_id]",
                        f"[ERROR] does not match pattern {CONVERSATION_ID.pattern} "
                        "[json-pointer:/channel_id]",
                    ]
                )
            self._check_access(str(channel), member=True)
        done = []
        for item in files:
            found = self._files.get(str(item.get("id")))
            if found is None or "content" not in found:
                raise SlackError("file_not_found")
            channel = args.get("channel_id")
            found.update(
                completed=True,
                title=item.get("title") or found["filename"],
                channel=self._resolve_channel(channel) if channel else None,
                thread_ts=args.get("thread_ts"),
            )
            done.append({"id": found["id"], "title": found["title"], "name": found["filename"]})
        channel = args.get("channel_id")
        if channel:  # Slack shares the files in a message of their own
            message = {
                "type": "message",
                "text": args.get("initial_comment") or "",
                "ts": self._next_ts(),
                "user": self.bot_user_id,
                "files": done,
                "upload": True,
            }
            if args.get("thread_ts"):
                message["thread_ts"] = str(args["thread_ts"])
            self._messages[(self._resolve_channel(channel), message["ts"])] = message
        return {"files": done}

    def _delete(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._resolve_channel(_required(args, "channel", "channel_not_found"))
        ts = str(_required(args, "ts", "message_not_found"))
        if self._messages.pop((channel, ts), None) is None:
            raise SlackError("message_not_found")
        return {"channel": channel, "ts": ts}

    def _update(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._resolve_channel(_required(args, "channel", "channel_not_found"))
        ts = str(_required(args, "ts", "message_not_found"))
        stored = self._messages.get((channel, ts))
        if stored is None:
            raise SlackError("message_not_found")
        content = _message_content(args)
        # Slack keeps the fields an update leaves out; an empty blocks list removes the blocks.
        stored.update(content)
        stored["edited"] = {"user": self.bot_user_id, "ts": self._next_ts()}
        return {"channel": channel, "ts": ts, "text": stored["text"], "message": dict(stored)}

    def _post_ephemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._resolve_channel(_required(args, "channel", "channel_not_found"))
        self._check_access(channel, member=True)  # even with chat:write.public
        user = str(_required(args, "user", "user_not_in_channel"))
        content = _message_content(args)
        ts = self._next_ts()
        self._ephemerals.append({"channel": channel, "user": user, "message_ts": ts, **content})
        return {"message_ts": ts}

    def _get_permalink(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._resolve_channel(_required(args, "channel", "channel_not_found"))
        ts = str(_required(args, "message_ts", "message_not_found"))
        if (channel, ts) not in self._messages:
            raise SlackError("message_not_found")
        link = f"{self._workspace_url}archives/{channel}/p{ts.replace('.', '')}"
        return {"channel": channel, "permalink": link}

    def _views_open(self, args: dict[str, Any]) -> dict[str, Any]:
        """A trigger works once (``exchanged_trigger_id``) and, for one the stand-in issued,
        only within 3 s (``expired_trigger_id``): the error names in Slack's views.open
        reference (docs/real-services.md)."""
        trigger = args.get("trigger_id") or args.get("interactivity_pointer")
        if not trigger:
            raise _invalid_arguments(["invalid `trigger_id`"])
        if trigger in self._used_triggers:
            raise SlackError("exchanged_trigger_id")
        issued = self._triggers.get(str(trigger))
        if issued is not None and self._clock() - issued > TRIGGER_SECONDS:
            raise SlackError("expired_trigger_id")
        self._used_triggers.add(str(trigger))
        view = _view_arg(args, "modal")
        stored = self._store_view(view, self._new_id("V"))
        return {"view": stored}

    def _views_update(self, args: dict[str, Any]) -> dict[str, Any]:
        view_id = args.get("view_id")
        if not view_id and args.get("external_id"):
            view_id = next(
                (i for i, v in self._views.items() if v["external_id"] == args["external_id"]),
                None,
            )
        if not view_id or view_id not in self._views:
            raise SlackError("not_found")
        current = self._views[view_id]
        if args.get("hash") and args["hash"] != current["hash"]:
            raise SlackError("hash_conflict")
        view = _view_arg(args, current["type"])
        return {"view": self._store_view(view, view_id, root=current["root_view_id"])}

    def _views_publish(self, args: dict[str, Any]) -> dict[str, Any]:
        user = str(_required(args, "user_id", "invalid_arguments"))
        view = _view_arg(args, "home")
        existing = next((i for i, v in self._views.items() if v.get("user_id") == user), None)
        return {"view": self._store_view(view, existing or self._new_id("V"), user_id=user)}

    def _users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        user = self._users.get(str(args.get("user") or ""))
        if user is None:
            raise SlackError("user_not_found")
        real_name = user.real_name or user.name
        return {
            "user": {
                "id": user.id,
                "team_id": self.team_id,
                "name": user.name,
                "deleted": False,
                "real_name": real_name,
                "tz": user.tz,
                "is_admin": user.is_admin,
                "is_owner": False,
                "is_bot": user.is_bot,
                "is_app_user": False,
                "profile": {
                    "real_name": real_name,
                    "real_name_normalized": real_name,
                    "display_name": user.name,
                    "display_name_normalized": user.name,
                    "email": user.email,
                    "team": self.team_id,
                },
            }
        }

    def _conversations_replies(self, args: dict[str, Any]) -> dict[str, Any]:
        """The parent and its replies, oldest first (metadata only with include_all_metadata)."""
        channel = self._resolve_channel(_required(args, "channel", "channel_not_found"))
        self._check_access(channel, member=True)
        ts = str(_required(args, "ts", "thread_not_found"))
        parent = self._messages.get((channel, ts))
        if parent is None:
            raise SlackError("thread_not_found")
        replies = [
            m for (c, _), m in self._messages.items() if c == channel and m.get("thread_ts") == ts
        ]
        return self._page([parent, *replies], args)

    def _conversations_history(self, args: dict[str, Any]) -> dict[str, Any]:
        """Top-level messages, newest first, after ``oldest`` if given."""
        channel = self._resolve_channel(_required(args, "channel", "channel_not_found"))
        self._check_access(channel, member=True)
        oldest = float(args.get("oldest") or 0)
        found = [
            m
            for (c, ts), m in self._messages.items()
            if c == channel and not m.get("thread_ts") and float(ts) > oldest
        ]
        return self._page(sorted(found, key=lambda m: float(m["ts"]), reverse=True), args)

    def _page(self, messages: list[dict[str, Any]], args: dict[str, Any]) -> dict[str, Any]:
        """One page (``limit``, default 100) and the cursor to the next, as Slack pages."""
        limit = int(args.get("limit") or 100)
        start = int(args.get("cursor") or 0)
        with_metadata = str(args.get("include_all_metadata")).lower() in ("true", "1")
        page = [
            m if with_metadata else {k: v for k, v in m.items() if k != "metadata"}
            for m in messages[start : start + limit]
        ]
        more = start + limit < len(messages)
        return {
            "messages": page,
            "has_more": more,
            "response_metadata": {"next_cursor": str(start + limit) if more else ""},
        }

    def _conversations_list(self, args: dict[str, Any]) -> dict[str, Any]:
        """The channels of ``types`` the bot can see (public ones, and private ones it is in),
        paged as Slack pages them."""
        types = set(str(args.get("types") or "public_channel").split(","))
        skip_archived = str(args.get("exclude_archived")).lower() in ("true", "1")
        channels = [
            room.as_slack()
            for room in sorted(self._rooms.values(), key=lambda r: r.name)
            if ("private_channel" if room.private else "public_channel") in types
            and (room.bot_member or not room.private)
            and not (skip_archived and room.archived)
        ]
        limit = int(args.get("limit") or 100)
        start = int(args.get("cursor") or 0)
        more = start + limit < len(channels)
        return {
            "channels": channels[start : start + limit],
            "response_metadata": {"next_cursor": str(start + limit) if more else ""},
        }

    def _conversations_info(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._resolve_channel(_required(args, "channel", "channel_not_found"))
        self._check_access(channel, member=False)
        return {"channel": self._room(channel).as_slack()}

    def _conversations_join(self, args: dict[str, Any]) -> dict[str, Any]:
        """Join a public channel; a private one needs an invitation, an archived one none."""
        channel = self._resolve_channel(_required(args, "channel", "channel_not_found"))
        room = self._room(channel)
        if room.private:  # joined only by invitation (docs/real-services.md)
            raise SlackError("method_not_supported_for_channel_type")
        if room.archived:
            raise SlackError("is_archived")
        answer: dict[str, Any] = {}
        if room.bot_member:
            answer = {
                "warning": "already_in_channel",
                "response_metadata": {"warnings": ["already_in_channel"]},
            }
        room.bot_member = True
        return {"channel": room.as_slack(), **answer}

    def _conversations_open(self, args: dict[str, Any]) -> dict[str, Any]:
        if args.get("channel"):
            return {
                "no_op": True,
                "already_open": True,
                "channel": {"id": self._resolve_channel(str(args["channel"]))},
            }
        users = [u for u in str(args.get("users") or "").split(",") if u]
        if not users:
            raise SlackError("users_list_not_supplied")
        unknown = [u for u in users if u not in self._users]
        if unknown:
            raise SlackError("user_not_found")
        if len(users) == 1:
            return {
                "no_op": True,
                "already_open": True,
                "channel": {"id": self._dm_channel(users[0])},
            }
        key = ",".join(sorted(users))
        if key not in self._dms:
            self._dms[key] = self._new_id("G")
        return {"channel": {"id": self._dms[key]}}

    # -- helpers -------------------------------------------------------------------------------

    @property
    def _workspace_url(self) -> str:
        return f"https://{re.sub(r'[^a-z0-9]+', '-', self.team.lower()).strip('-')}.slack.com/"

    def _resolve_channel(self, channel: Any) -> str:
        """The id of a channel given by id or ``#name`` (a user id: the app's DM with them);
        ``channel_not_found`` for a name the workspace does not have."""
        value = str(channel or "").strip()
        if not value:
            raise SlackError("channel_not_found")
        if re.fullmatch(r"[CGD][A-Z0-9]{2,}", value):
            return value
        if re.fullmatch(r"[UW][A-Z0-9]{2,}", value):
            return self._dm_channel(value)  # posting to a user id posts in the app's DM
        found = self._channels.get(_channel_name(value))
        if found is None:
            raise SlackError("channel_not_found")
        return found

    def _room(self, channel_id: str) -> Channel:
        room = self._rooms.get(channel_id)
        if room is None:
            raise SlackError("channel_not_found")
        return room

    def _check_access(self, channel_id: str, *, member: bool) -> None:
        """What Slack checks before acting in a conversation: a DM is the app's own; a
        private channel the bot is not in does not exist for it (``channel_not_found``); and
        reading it, an ephemeral or a file share needs membership (``not_in_channel``), where
        a post to a public channel does not (``chat:write.public``)."""
        if channel_id.startswith("D") or channel_id in self._dms.values():
            return
        room = self._room(channel_id)
        if room.private and not room.bot_member:
            raise SlackError("channel_not_found")
        if member and not room.bot_member:
            raise SlackError("not_in_channel")

    def _derived_id(self, name: str, prefix: str) -> str:
        """A stable id for a channel name, shaped as Slack's (at least 9 characters)."""
        base = (prefix + re.sub(r"[^A-Z0-9]", "", name.upper())[:10]).ljust(9, "0")
        candidate, n = base, 1
        while candidate in self._rooms:
            n += 1
            candidate = f"{base}{n}"
        return candidate

    def _dm_channel(self, user_id: str) -> str:
        if user_id not in self._dms:
            self._dms[user_id] = "D" + user_id[1:]
        return self._dms[user_id]

    def _next_ts(self) -> str:
        micros = max(int(self._clock() * 1_000_000), self._last_micros + 1)
        self._last_micros = micros
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def _new_id(self, prefix: str) -> str:
        self._counter += 1
        return f"{prefix}0{self._counter:08d}"

    def _store_view(
        self,
        view: dict[str, Any],
        view_id: str,
        *,
        root: str | None = None,
        user_id: str | None = None,
    ) -> dict[str, Any]:
        self._counter += 1
        stored = {
            "id": view_id,
            "team_id": self.team_id,
            "type": view.get("type"),
            "blocks": view.get("blocks", []),
            "private_metadata": view.get("private_metadata", ""),
            "callback_id": view.get("callback_id", ""),
            "state": {"values": {}},
            "hash": f"{int(self._clock())}.{self._counter:08d}",
            "title": view.get("title"),
            "clear_on_close": view.get("clear_on_close", False),
            "notify_on_close": view.get("notify_on_close", False),
            "close": view.get("close"),
            "submit": view.get("submit"),
            "previous_view_id": None,
            "root_view_id": root or view_id,
            "app_id": self.app_id,
            "external_id": view.get("external_id", ""),
            "app_installed_team_id": self.team_id,
            "bot_id": self.bot_id,
        }
        if user_id is not None:
            stored["user_id"] = user_id
        self._views[view_id] = stored
        return dict(stored)


# -- request parsing -----------------------------------------------------------------------------


async def _read_args(request: Request) -> tuple[dict[str, Any], str | None]:
    """Arguments from the query string and a JSON or form body, and the token."""
    args: dict[str, Any] = dict(request.query_params)
    body = await request.body()
    if body:
        if "json" in request.headers.get("content-type", ""):
            try:
                parsed = json.loads(body)
            except ValueError as exc:
                raise SlackError("invalid_json") from exc
            if not isinstance(parsed, dict):
                raise SlackError("invalid_json")
            args.update(parsed)
        else:
            args.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    for key in JSON_ARGS:  # form-encoded calls send these as JSON strings
        if isinstance(args.get(key), str) and args[key]:
            with contextlib.suppress(ValueError):  # left a string, then refused by validation
                args[key] = json.loads(args[key])
    token = args.pop("token", None)
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        token = auth[7:].strip()
    return args, token


def _required(args: dict[str, Any], key: str, error: str) -> Any:
    value = args.get(key)
    if value is None or value == "":
        raise SlackError(error)
    return value


def _channel_name(value: str) -> str:
    return value.strip().lstrip("#").lower()


def _invalid_arguments(messages: list[str]) -> SlackError:
    return SlackError("invalid_arguments", extra={"response_metadata": {"messages": messages}})


def _invalid_blocks(errors: list[str]) -> SlackError:
    return SlackError(
        "invalid_blocks",
        extra={
            "errors": errors,
            "response_metadata": {"messages": [f"[ERROR] {e}" for e in errors]},
        },
    )


def _metadata(value: Any) -> dict[str, Any] | None:
    """``metadata`` as chat.postMessage takes it: a JSON object (or its text) with an
    ``event_type`` and an ``event_payload`` object."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise SlackError("invalid_metadata_format") from None
    if (
        not isinstance(value, dict)
        or not isinstance(value.get("event_type"), str)
        or not isinstance(value.get("event_payload"), dict)
    ):
        raise SlackError("invalid_metadata_schema")
    return {"event_type": value["event_type"], "event_payload": value["event_payload"]}


def _message_content(args: dict[str, Any]) -> dict[str, Any]:
    """text / blocks / attachments of a message, checked as Slack checks them."""
    content: dict[str, Any] = {}
    if args.get("text") is not None:
        content["text"] = str(args["text"])[:MESSAGE_TEXT_MAX]
    blocks = args.get("blocks")
    if blocks is not None:
        if not isinstance(blocks, list):
            raise SlackError("invalid_blocks_format")
        errors = block_errors(blocks, max_blocks=MESSAGE_BLOCKS_MAX)
        if errors:
            raise _invalid_blocks(errors)
        if text_length(blocks) > MESSAGE_BLOCKS_TEXT_MAX:
            raise SlackError("msg_blocks_too_long")
        content["blocks"] = blocks
    if args.get("attachments") is not None:
        content["attachments"] = args["attachments"]
    if not content.get("text") and not blocks and not args.get("attachments"):
        raise SlackError("no_text")
    return content


def _view_arg(args: dict[str, Any], expected_type: str) -> dict[str, Any]:
    view = args.get("view")
    if not isinstance(view, dict):
        raise _invalid_arguments(["[ERROR] missing required field: view"])
    if view.get("type") != expected_type:
        raise _invalid_arguments([f"[ERROR] must be '{expected_type}' [json-pointer:/view/type]"])
    errors = view_errors(view)
    if errors:
        raise _invalid_arguments([f"[ERROR] {e}" for e in errors])
    return view


# -- Block Kit limits (see fixtures/real/SOURCES.md, "Block Kit limits") -------------------------


def block_errors(blocks: list[Any], *, max_blocks: int, pointer: str = "/blocks") -> list[str]:
    """Slack-style error strings for blocks that break Block Kit's limits; empty when valid."""
    errors = _items(blocks, max_blocks, pointer)
    for i, block in enumerate(blocks):
        errors += _block_errors(block, f"{pointer}/{i}")
    return errors


def view_errors(view: dict[str, Any]) -> list[str]:
    errors: list[str] = []
    for key in ("title", "submit", "close"):
        errors += _text_object(
            view.get(key),
            24,
            f"/view/{key}",
            required=key == "title" and view.get("type") == "modal",
        )
    errors += _length(view.get("private_metadata"), 3000, "/view/private_metadata")
    errors += _length(view.get("callback_id"), 255, "/view/callback_id")
    blocks = view.get("blocks", [])
    if not isinstance(blocks, list):
        return [*errors, "must be an array [json-pointer:/view/blocks]"]
    return errors + block_errors(blocks, max_blocks=VIEW_BLOCKS_MAX, pointer="/view/blocks")


def text_length(value: Any) -> int:
    """Characters of text in text objects and markdown blocks, however deeply nested."""
    if isinstance(value, list):
        return sum(text_length(v) for v in value)
    if not isinstance(value, dict):
        return 0
    return sum(
        len(v) if k == "text" and isinstance(v, str) else text_length(v) for k, v in value.items()
    )


def _block_errors(block: Any, p: str) -> list[str]:
    if not isinstance(block, dict) or not block.get("type"):
        return [f"missing required field: type [json-pointer:{p}]"]
    kind = block["type"]
    errors = _length(block.get("block_id"), 255, f"{p}/block_id")
    if kind == "section":
        if block.get("text") is None and not block.get("fields"):
            errors.append(f"must provide either text or fields [json-pointer:{p}]")
        errors += _text_object(block.get("text"), 3000, f"{p}/text")
        fields = block.get("fields") or []
        errors += _items(fields, 10, f"{p}/fields")
        for i, field in enumerate(fields):
            errors += _text_object(field, 2000, f"{p}/fields/{i}", required=True)
        if block.get("accessory") is not None:
            errors += _element_errors(block["accessory"], f"{p}/accessory")
    elif kind == "header":
        errors += _text_object(block.get("text"), 150, f"{p}/text", required=True)
    elif kind in ("actions", "context"):
        limit = 25 if kind == "actions" else 10
        elements = block.get("elements") or []
        errors += _items(elements, limit, f"{p}/elements")
        if kind == "actions":
            for i, element in enumerate(elements):
                errors += _element_errors(element, f"{p}/elements/{i}")
    elif kind == "input":
        errors += _text_object(block.get("label"), 2000, f"{p}/label", required=True)
        errors += _text_object(block.get("hint"), 2000, f"{p}/hint")
        errors += _element_errors(block.get("element"), f"{p}/element")
    elif kind == "markdown":
        errors += _length(block.get("text"), 12_000, f"{p}/text")
    return errors


def _element_errors(element: Any, p: str) -> list[str]:
    if not isinstance(element, dict) or not element.get("type"):
        return [f"missing required field: type [json-pointer:{p}]"]
    errors = _length(element.get("action_id"), 255, f"{p}/action_id")
    errors += _text_object(element.get("placeholder"), 150, f"{p}/placeholder")
    if element["type"] == "button":
        errors += _text_object(element.get("text"), 75, f"{p}/text", required=True)
        errors += _length(element.get("value"), 2000, f"{p}/value")
        errors += _length(element.get("url"), 3000, f"{p}/url")
    options = element.get("options") or []
    errors += _items(options, 100, f"{p}/options")
    errors += _items(element.get("option_groups") or [], 100, f"{p}/option_groups")
    for i, option in enumerate(options):
        errors += _text_object(option.get("text"), 75, f"{p}/options/{i}/text", required=True)
        errors += _length(option.get("value"), 150, f"{p}/options/{i}/value")
    return errors


def _text_object(obj: Any, limit: int, p: str, *, required: bool = False) -> list[str]:
    if obj is None:
        return [f"missing required field: text [json-pointer:{p}]"] if required else []
    text = obj.get("text") if isinstance(obj, dict) else None
    if not isinstance(text, str):
        return [f"must be a text object [json-pointer:{p}]"]
    if not text:
        return [f"must be more than 0 characters [json-pointer:{p}/text]"]
    return _length(text, limit, f"{p}/text")


def _length(value: Any, limit: int, p: str) -> list[str]:
    if isinstance(value, str) and len(value) > limit:
        return [f"must be less than {limit + 1} characters [json-pointer:{p}]"]
    return []


def _items(value: Any, limit: int, p: str) -> list[str]:
    if isinstance(value, list) and len(value) > limit:
        return [f"no more than {limit} items allowed [json-pointer:{p}]"]
    return []
