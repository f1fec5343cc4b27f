"""The real app served over HTTP on loopback, wired to the Slack and Chatwoot stand-ins.

Tests drive it the way Slack and Chatwoot would: signed interaction payloads to
/slack/events, drafts to /drafts, webhooks to /webhooks/chatwoot. Time is a FakeClock that
starts at the real time and only moves when a test moves it.
"""

from __future__ import annotations

import contextlib
import copy
import itertools
import json
import logging
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import httpx

from bot.app import create_app, create_bolt_app
from bot.blocks.ids import ActionId, CallbackId, InputId
from bot.config import Settings
from bot.connect import join_channels
from bot.demo.standins.chatwoot import ChatwootStandin
from bot.demo.standins.interactions import SlackSender
from bot.demo.standins.server import StandinServer, wait_for
from bot.demo.standins.slack import DEFAULT_TOKEN, SlackStandin
from bot.domain import Draft, Escalation
from bot.services import IdFactory, Services, build_services, random_id
from tests.openai_standin import Delivery, OpenAIStandin

SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"  # Slack's published test vector secret
INTAKE_TOKEN = "intake-secret-for-tests"
OPERATOR, SECOND_OPERATOR, MANAGER, OUTSIDER = (
    "U0OPERATOR1",
    "U0OPERATOR2",
    "U0MANAGER1",
    "U0OUTSIDER",
)


SETTLE_SECONDS = 20.0
FIXTURES = Path(__file__).parent / "fixtures" / "real"
REAL_BUTTON_CLICK = "slack_block_actions_message_button_bolt_python.json"
REAL_VIEW_SUBMISSION = "slack_view_submission_bolt_python.json"
REAL_SIGNED_COMMAND = "slack_request_signing_test_vector.json"


@cache
def _fixture_text(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def real_fixture(name: str) -> Any:
    """A fresh copy of a captured vendor payload from tests/fixtures/real."""
    return json.loads(_fixture_text(name))


def swap(payload: dict[str, Any], path: str, value: Any) -> None:
    """Replace the value at a dotted `path` (digits index lists) that the capture already has;
    never add a field Slack did not send."""
    *parents, last = path.split(".")
    node: Any = payload
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    key: Any = int(last) if isinstance(node, list) else last
    if isinstance(node, list):
        assert key < len(node), f"{path}: not in the captured payload"
    else:
        assert key in node, f"{path}: not in the captured payload"
    node[key] = value


_triggers = itertools.count(1)


def real_block_action(
    *,
    user: str,
    action_id: str,
    value: str,
    channel: str,
    message_ts: str,
    trigger_id: str | None = None,
) -> dict[str, Any]:
    """Slack's captured button click on a channel message (bolt-python's scenario test), with
    only the ids swapped in: who clicked, which button, its value, where the message is, and
    a trigger of its own (Slack's work once)."""
    payload = real_fixture(REAL_BUTTON_CLICK)
    trigger_id = trigger_id or f"{payload['trigger_id']}{next(_triggers)}"
    for path, new in (
        ("trigger_id", trigger_id),
        ("user.id", user),
        ("container.channel_id", channel),
        ("container.message_ts", message_ts),
        ("channel.id", channel),
        ("message.ts", message_ts),
        ("actions.0.action_id", action_id),
        ("actions.0.value", value),
    ):
        swap(payload, path, new)
    return payload


def real_view_submission(
    *, user: str, callback_id: str, private_metadata: str, values: dict[str, Any]
) -> dict[str, Any]:
    """Slack's captured modal submission (bolt-python's scenario test) with who submitted it,
    the modal's callback_id and private_metadata, and view.state.values swapped in."""
    payload = real_fixture(REAL_VIEW_SUBMISSION)
    for path, new in (
        ("user.id", user),
        ("view.callback_id", callback_id),
        ("view.private_metadata", private_metadata),
        ("view.state.values", copy.deepcopy(values)),
    ):
        swap(payload, path, new)
    return payload


def text_value(input_id: str, value: str) -> dict[str, Any]:
    """view.state.values for one plain_text_input, shaped as in the captured submission."""
    return {input_id: {input_id: {"type": "plain_text_input", "value": value}}}


def optional_text(input_id: str, value: str | None) -> dict[str, Any]:
    """An optional plain_text_input: Slack sends null when it was left empty."""
    return {input_id: {input_id: {"type": "plain_text_input", "value": value}}}


def number_value(input_id: str, value: str | None) -> dict[str, Any]:
    """view.state.values for one number_input (Slack sends the typed text, or null)."""
    return {input_id: {input_id: {"type": "number_input", "value": value}}}


def select_value(input_id: str, value: str, label: str = "") -> dict[str, Any]:
    """view.state.values for one static_select, shaped as Slack sends a selected option."""
    option = {"text": {"type": "plain_text", "text": label or value, "emoji": True}, "value": value}
    return {input_id: {input_id: {"type": "static_select", "selected_option": option}}}


def real_slash_command(
    *, user: str, command: str, text: str, channel: str, response_url: str
) -> str:
    """The slash-command form body of Slack's request-signing test vector (field order and
    every other value as captured), with the user, command, text, channel and response_url
    swapped in. Returns the form-encoded body, to be signed afresh."""
    fields = parse_qsl(real_fixture(REAL_SIGNED_COMMAND)["raw_body"], keep_blank_values=True)
    new = {
        "user_id": user,
        "command": command,
        "text": text,
        "channel_id": channel,
        "response_url": response_url,
    }
    names = {name for name, _ in fields}
    assert set(new) <= names, f"{sorted(set(new) - names)}: not in the captured body"
    return urlencode([(name, new.get(name, value)) for name, value in fields])


class BackgroundFailed(AssertionError):
    """Background work raised, or was still running when settle() gave up waiting."""


class _Failures(logging.Handler):
    """What `Background` logs when an item of work raises (it logs and goes on)."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def take(self) -> list[str]:
        taken, self.records = self.records, []
        return [
            record.getMessage()
            + (f": {record.exc_info[1]!r}" if record.exc_info and record.exc_info[1] else "")
            for record in taken
        ]


@dataclass
class FakeClock:
    now: datetime = field(default_factory=lambda: datetime.now(UTC))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


class WallClock(FakeClock):
    """The real time, for tests that sign with time.time() and never move the clock."""

    def __call__(self) -> datetime:
        return datetime.now(UTC)


def settings_for(
    database_url: str,
    slack: SlackStandin,
    chatwoot: ChatwootStandin | None,
    **overrides: Any,
) -> Settings:
    values: dict[str, Any] = {
        "slack_bot_token": DEFAULT_TOKEN,
        "slack_signing_secret": SIGNING_SECRET,
        "slack_api_url": f"{slack.url}/api/",
        "database_url": database_url,
        "OCC_INTAKE_TOKEN": INTAKE_TOKEN,
        "OCC_MANAGERS": MANAGER,
        "OCC_OPERATORS": "",
        "OCC_JOB_TICK_SECONDS": 3600,
        "OCC_DRAFT_QUIET_SECONDS": 0.05,
        "OCC_HOME_REFRESH_SECONDS": 0.05,
        "OCC_SPOOL_DIR": tempfile.mkdtemp(prefix="occ-spool-"),
        # The stand-in limits posts only when a test asks (`limit_posts`); such a test sets
        # the bot's pace to match.
        "OCC_SLACK_POSTS_PER_SECOND": 1000,
        "OCC_SLACK_POST_BURST": 1000,
    }
    if chatwoot is not None:
        values |= {
            "chatwoot_url": chatwoot.url,
            "chatwoot_api_token": chatwoot.token,
            "chatwoot_account_id": str(chatwoot.account_id),
        }
    values |= overrides
    return Settings(_env_file=None, **values)


class BotUnderTest:
    """One running instance of the bot (a "replica")."""

    def __init__(self, settings: Settings, clock: FakeClock, new_id: IdFactory = random_id) -> None:
        self.settings = settings
        self.clock = clock
        self.new_id = new_id
        self.services: Services | None = None
        self._server: StandinServer | None = None
        self._http = httpx.AsyncClient(timeout=10)
        self._failures = _Failures()

    async def start(self) -> BotUnderTest:
        logging.getLogger("occ.background").addHandler(self._failures)
        self.services = await build_services(self.settings, clock=self.clock, new_id=self.new_id)
        await join_channels(self.services)  # as `occ-bot serve` does before it serves
        await self.services.store.migrate()
        app = create_app(self.services, bolt=create_bolt_app(self.services), run_jobs=False)
        self._server = StandinServer(app, graceful_seconds=5)
        await self._server.start()
        self.slack = SlackSender(self._server.url, SIGNING_SECRET, self._http, clock=self.clock)
        return self

    async def stop(self) -> None:
        try:
            if self._server is not None:
                await self._server.stop()
            if self.services is not None:
                await self.services.aclose()
            await self._http.aclose()
        finally:
            logging.getLogger("occ.background").removeHandler(self._failures)

    @property
    def url(self) -> str:
        assert self._server is not None
        return self._server.url

    @property
    def store(self):
        assert self.services is not None
        return self.services.store

    async def settle(self, timeout: float = SETTLE_SECONDS) -> None:
        """Wait until all background work started by requests so far has finished.

        `Background.drain` logs and returns when time runs out, and a worker logs and goes on
        when an item raises; either would let a test pass on work that never finished. So this
        raises `BackgroundFailed` when work is still pending after `timeout`, or when any
        background work raised since the last settle() (on any replica: the log is shared).
        """
        assert self.services is not None
        background = self.services.background
        await background.drain(timeout=timeout)
        failed = self._failures.take()
        if failed:
            raise BackgroundFailed("background work raised:\n" + "\n".join(failed))
        if background.pending:
            raise BackgroundFailed(
                f"{background.pending} item(s) of background work still pending after {timeout} s"
            )

    async def post_draft(
        self, payload: dict[str, Any], token: str | None = INTAKE_TOKEN
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return await self._http.post(f"{self.url}/drafts", json=payload, headers=headers)

    async def chatwoot_event(self, payload: dict[str, Any]) -> httpx.Response:
        """Deliver a Chatwoot webhook event, as Chatwoot does (with the intake token)."""
        url = f"{self.url}/webhooks/chatwoot?token={INTAKE_TOKEN}"
        return await self._http.post(url, json=payload)

    async def posted_draft(self, payload: dict[str, Any]) -> Draft:
        """POST a draft and wait until its card is in Slack."""
        response = await self.post_draft(payload)
        assert response.status_code == 202, response.text
        draft_id = response.json()["id"]
        await self.settle()
        draft = await self.store.get_draft(draft_id)
        assert draft is not None and draft.card is not None, "card was not posted"
        return draft

    async def click(self, action: ActionId, draft: Draft, user: str) -> httpx.Response:
        """Click a button on the draft's card, as Slack's captured block_actions payload."""
        assert draft.card is not None
        payload = real_block_action(
            user=user,
            action_id=action.value,
            value=draft.id,
            channel=draft.card.channel,
            message_ts=draft.card.ts,
        )
        return await self.slack.send(payload)

    async def click_escalation(
        self, action: ActionId, escalation: Escalation, user: str
    ) -> httpx.Response:
        """Click Claim or Resolve on the managers' escalation message."""
        assert escalation.message is not None, "the escalation message was not posted"
        payload = real_block_action(
            user=user,
            action_id=action.value,
            value=escalation.id,
            channel=escalation.message.channel,
            message_ts=escalation.message.ts,
        )
        return await self.slack.send(payload)

    async def submit(
        self, callback: CallbackId, draft_id: str, user: str, values: dict[str, Any]
    ) -> httpx.Response:
        """Submit a modal, as Slack's captured view_submission payload."""
        payload = real_view_submission(
            user=user, callback_id=callback.value, private_metadata=draft_id, values=values
        )
        return await self.slack.send(payload)

    async def submit_edit(self, draft_id: str, user: str, text: str) -> httpx.Response:
        return await self.submit(
            CallbackId.EDIT, draft_id, user, text_value(InputId.EDIT_TEXT, text)
        )

    async def submit_reject(
        self, draft_id: str, user: str, reason: str, notes: str = ""
    ) -> httpx.Response:
        values = select_value(InputId.REJECT_REASON, reason) | text_value(
            InputId.REJECT_NOTES, notes
        )
        return await self.submit(CallbackId.REJECT, draft_id, user, values)

    async def submit_escalation(
        self, draft_id: str, user: str, *, type: str, urgency: str, notes: str
    ) -> httpx.Response:
        values = (
            select_value(InputId.ESCALATION_TYPE, type)
            | select_value(InputId.ESCALATION_URGENCY, urgency)
            | text_value(InputId.ESCALATION_NOTES, notes)
        )
        return await self.submit(CallbackId.ESCALATE, draft_id, user, values)

    async def submit_resolution(
        self,
        escalation_id: str,
        user: str,
        *,
        outcome: str,
        summary: str,
        amount: str | None = None,
        reply: str | None = None,
        notes: str | None = None,
    ) -> httpx.Response:
        values = (
            text_value(InputId.RESOLUTION_SUMMARY, summary)
            | select_value(InputId.RESOLUTION_OUTCOME, outcome)
            | number_value(InputId.RESOLUTION_AMOUNT, amount)
            | optional_text(InputId.RESOLUTION_REPLY, reply)
            | optional_text(InputId.RESOLUTION_NOTES, notes)
        )
        return await self.submit(CallbackId.RESOLVE, escalation_id, user, values)

    async def actions(self, subject_id: str) -> list[str]:
        return [str(e.action) for e in await self.store.entries(subject_id=subject_id)]


async def eventually(predicate: Any, timeout: float = 10.0) -> Any:
    return await wait_for(predicate, timeout)


@contextlib.asynccontextmanager
async def bot_with_model(
    database_url: str,
    slack: SlackStandin,
    chatwoot: ChatwootStandin | None,
    clock: FakeClock,
    reply: Delivery,
    **overrides: Any,
) -> AsyncIterator[tuple[BotUnderTest, OpenAIStandin]]:
    """A running bot that drafts with an OpenAI model: the stand-in, which records prompts."""
    with OpenAIStandin(reply=reply, api_key="sk-test") as api:
        settings = settings_for(
            database_url,
            slack,
            chatwoot,
            openai_api_key="sk-test",
            openai_base_url=api.base_url,
            **overrides,
        )
        bot = await BotUnderTest(settings, clock).start()
        try:
            yield bot, api
        finally:
            await bot.stop()


async def ask_occ(bot: BotUnderTest, slack: SlackStandin, text: str, user: str = OPERATOR) -> dict:
    """Run `/occ <text>` as Slack delivers it; the answer posted to its response_url."""
    body = real_slash_command(
        user=user,
        command="/occ",
        text=text,
        channel="C0APPROVALS",
        response_url=slack.response_url("occ"),
    )
    response = await bot.slack.send(body)
    assert response.status_code == 200
    await bot.settle()
    return slack.last("response_url").args
