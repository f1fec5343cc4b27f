"""Signed Slack interaction requests, as Slack sends them to a Request URL.

Used by `occ-bot demo`, the end-to-end tests and the benchmark to click buttons and submit
modals against the real app. Payload shapes follow Slack's (see bolt-python's scenario tests
and the fixtures in shared/fixtures/real): `block_actions` from a message button and
`view_submission` from a modal, form-encoded as `payload=<json>` and signed with v0 HMAC.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlencode

import httpx

TEAM = {"id": "T0OCCDEMO", "domain": "occ-demo"}
APP_ID = "A0OCCBOT"
_counter = itertools.count(1)


def signature_headers(secret: str, body: str, timestamp: int | None = None) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    return {
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": f"v0={digest}",
        "Content-Type": "application/x-www-form-urlencoded",
    }


def form_body(payload: dict[str, Any]) -> str:
    return "payload=" + quote(json.dumps(payload, separators=(",", ":")))


def block_action(
    *, user: str, action_id: str, value: str, channel: str, message_ts: str, text: str = ""
) -> dict[str, Any]:
    """A button click on a message in a channel (`block_actions`)."""
    n = next(_counter)
    return {
        "type": "block_actions",
        "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": TEAM["id"]},
        "api_app_id": APP_ID,
        "token": "verification_token_unused",
        "container": {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": channel,
            "is_ephemeral": False,
        },
        "trigger_id": f"{int(time.time())}{n:04d}.{TEAM['id']}.trigger{n}",
        "team": TEAM,
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel, "name": "occ-approvals"},
        "message": {"type": "message", "ts": message_ts, "text": text, "blocks": []},
        "state": {"values": {}},
        "response_url": f"https://hooks.slack.com/actions/{TEAM['id']}/{n}/demo",
        "actions": [
            {
                "action_id": action_id,
                "block_id": "draft_actions",
                "text": {"type": "plain_text", "text": action_id},
                "value": value,
                "type": "button",
                "action_ts": f"{time.time():.6f}",
            }
        ],
    }


def view_submission(
    *, user: str, callback_id: str, private_metadata: str, values: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    """A modal submitted (`view_submission`); `values` is view.state.values by block id."""
    n = next(_counter)
    return {
        "type": "view_submission",
        "team": TEAM,
        "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": TEAM["id"]},
        "api_app_id": APP_ID,
        "token": "verification_token_unused",
        "trigger_id": f"{int(time.time())}{n:04d}.{TEAM['id']}.view{n}",
        "view": {
            "id": f"V0VIEW{n:05d}",
            "team_id": TEAM["id"],
            "type": "modal",
            "blocks": [],
            "private_metadata": private_metadata,
            "callback_id": callback_id,
            "state": {"values": values},
            "hash": f"{int(time.time())}.hash{n}",
            "title": {"type": "plain_text", "text": "occ-bot"},
            "clear_on_close": False,
            "notify_on_close": False,
            "previous_view_id": None,
            "root_view_id": f"V0VIEW{n:05d}",
            "app_id": APP_ID,
            "external_id": "",
            "app_installed_team_id": TEAM["id"],
            "bot_id": "B0OCCBOT",
        },
        "response_urls": [],
    }


def text_value(input_id: str, value: str) -> dict[str, dict[str, Any]]:
    return {input_id: {input_id: {"type": "plain_text_input", "value": value}}}


def select_value(input_id: str, value: str, label: str = "") -> dict[str, dict[str, Any]]:
    option = {"text": {"type": "plain_text", "text": label or value}, "value": value}
    return {input_id: {input_id: {"type": "static_select", "selected_option": option}}}


def slash_command(*, user: str, command: str, text: str, channel: str, response_url: str) -> str:
    """A slash command's form body, field for field as Slack sends it."""
    n = next(_counter)
    return urlencode(
        {
            "token": "verification_token_unused",
            "team_id": TEAM["id"],
            "team_domain": TEAM["domain"],
            "channel_id": channel,
            "channel_name": "occ-approvals",
            "user_id": user,
            "user_name": user.lower(),
            "command": command,
            "text": text,
            "api_app_id": APP_ID,
            "response_url": response_url,
            "trigger_id": f"{int(time.time())}{n:04d}.{TEAM['id']}.command{n}",
        }
    )


class SlackSender:
    """Posts signed interactions to `{bot_url}/slack/events`."""

    def __init__(
        self,
        bot_url: str,
        signing_secret: str,
        http: httpx.AsyncClient,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        """Args:
        clock: what "now" is when signing; the bot's own clock in tests that move time.
        """
        self.url = bot_url.rstrip("/") + "/slack/events"
        self.secret = signing_secret
        self.http = http
        self.clock = clock

    def _now(self) -> int | None:
        return None if self.clock is None else int(self.clock().timestamp())

    async def send_event(self, envelope: dict[str, Any]) -> httpx.Response:
        """Post an Events API `event_callback` as Slack does: a signed JSON body."""
        body = json.dumps(envelope, separators=(",", ":"))
        headers = signature_headers(self.secret, body, self._now())
        headers |= {"Content-Type": "application/json"}
        return await self.http.post(self.url, content=body, headers=headers)

    async def send(
        self, payload: dict[str, Any] | str, *, timestamp: int | None = None
    ) -> httpx.Response:
        """Post an interaction payload (dict) or an already form-encoded body (str)."""
        body = form_body(payload) if isinstance(payload, dict) else payload
        signed_at = self._now() if timestamp is None else timestamp
        headers = signature_headers(self.secret, body, signed_at)
        return await self.http.post(self.url, content=body, headers=headers)
