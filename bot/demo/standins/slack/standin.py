"""`SlackStandin`: the Slack stand-in's server. It routes ``/api/<method>`` to the method's
handler after Slack's checks (the method exists, the token is valid and not revoked) and the
faults a test set, records every call, and answers in Slack's form; ``/hooks/<name>`` stands
in for interaction ``response_url``\\ s."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from bot.demo.standins.server import Standin
from bot.demo.standins.slack.arguments import read_args
from bot.demo.standins.slack.blocks import MESSAGE_BLOCKS_MAX, block_errors, slack_file_errors
from bot.demo.standins.slack.chat import Chat
from bot.demo.standins.slack.conversations import Conversations
from bot.demo.standins.slack.faults import Faults
from bot.demo.standins.slack.files import Files
from bot.demo.standins.slack.identity import Identity
from bot.demo.standins.slack.model import Call, SlackError, SlackUser
from bot.demo.standins.slack.views import Views
from bot.demo.standins.slack.workspace import DEFAULT_CHANNELS

DEFAULT_TOKEN = "xoxb-occ-standin"


class SlackStandin(Chat, Conversations, Views, Files, Identity, Faults, Standin):
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
        self._users = {}
        self.add_user(SlackUser(id=bot_user_id, name="occ-bot", real_name="OCC Bot", is_bot=True))
        for user in users:
            self.add_user(user)
        self._channels = {}  # name -> id
        self._rooms = {}  # id -> the channel
        for name in DEFAULT_CHANNELS:
            self.add_channel(name)
        for name, channel_id in (channels or {}).items():
            self.add_channel(name, channel_id)
        self._dms = {}
        self._calls: list[Call] = []
        self._messages = {}
        self._ephemerals = []
        self._views = {}
        self._failures = {}
        self._holds = {}
        self._delays = {}  # method -> (seconds, after effect)
        self._post_limit = None  # (per second, burst) per channel
        self._refused = {}  # channel id -> the error posting there answers
        self._buckets = {}  # channel -> (tokens, at)
        self._last_micros = 0
        self._counter = 0
        self._handlers = {
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
        self._files = {}
        self._triggers = {}  # issued by `trigger`: when
        self._used_triggers = set()

    def calls(self, method: str | None = None) -> list[Call]:
        """Every call received, oldest first; only those of ``method`` if given."""
        return [c for c in self._calls if method is None or c.method == method]

    def last(self, method: str) -> Call | None:
        found = self.calls(method)
        return found[-1] if found else None

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
            args, token = await read_args(request)
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
        call = Call("response_url", {**args, "hook": request.path_params["name"]}, self._clock())
        blocks = args.get("blocks")
        if isinstance(blocks, list) and (
            block_errors(blocks, max_blocks=MESSAGE_BLOCKS_MAX)
            or slack_file_errors(blocks, self._files)
        ):
            # As Slack answered a response_url message whose image named a file the bot had
            # uploaded without sharing it (slackapi/java-slack-sdk#1349).
            self._calls.append(replace(call, ok=False, error="invalid_blocks"))
            return JSONResponse({"ok": False, "error": "invalid_blocks"}, status_code=404)
        self._calls.append(call)
        return PlainTextResponse("ok")
