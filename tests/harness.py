"""The real app served over HTTP on loopback, wired to the Slack and Chatwoot stand-ins.

Tests drive it the way Slack and Chatwoot would: signed interaction payloads to
/slack/events, drafts to /drafts, webhooks to /webhooks/chatwoot. Time is a FakeClock that
starts at the real time and only moves when a test moves it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from bot.app import create_app, create_bolt_app
from bot.blocks.ids import ActionId, CallbackId, InputId
from bot.config import Settings
from bot.demo.standins.chatwoot import ChatwootStandin
from bot.demo.standins.interactions import (
    SlackSender,
    block_action,
    select_value,
    text_value,
    view_submission,
)
from bot.demo.standins.server import StandinServer, wait_for
from bot.demo.standins.slack import DEFAULT_TOKEN, SlackStandin
from bot.domain import Draft
from bot.services import IdFactory, Services, build_services, random_id

SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"  # Slack's published test vector secret
INTAKE_TOKEN = "intake-secret-for-tests"
OPERATOR, SECOND_OPERATOR, MANAGER, OUTSIDER = (
    "U0OPERATOR1",
    "U0OPERATOR2",
    "U0MANAGER1",
    "U0OUTSIDER",
)


@dataclass
class FakeClock:
    now: datetime = field(default_factory=lambda: datetime.now(UTC))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


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

    async def start(self) -> BotUnderTest:
        self.services = await build_services(self.settings, clock=self.clock, new_id=self.new_id)
        await self.services.store.migrate()
        app = create_app(self.services, bolt=create_bolt_app(self.services), run_jobs=False)
        self._server = StandinServer(app, graceful_seconds=5)
        await self._server.start()
        self.slack = SlackSender(self._server.url, SIGNING_SECRET, self._http)
        return self

    async def stop(self) -> None:
        if self._server is not None:
            await self._server.stop()
        if self.services is not None:
            await self.services.aclose()
        await self._http.aclose()

    @property
    def url(self) -> str:
        assert self._server is not None
        return self._server.url

    @property
    def store(self):
        assert self.services is not None
        return self.services.store

    async def settle(self) -> None:
        """Wait until all background work started by requests so far has finished."""
        assert self.services is not None
        await self.services.background.drain(timeout=20)

    async def post_draft(
        self, payload: dict[str, Any], token: str | None = INTAKE_TOKEN
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return await self._http.post(f"{self.url}/drafts", json=payload, headers=headers)

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
        assert draft.card is not None
        payload = block_action(
            user=user,
            action_id=action.value,
            value=draft.id,
            channel=draft.card.channel,
            message_ts=draft.card.ts,
        )
        return await self.slack.send(payload)

    async def submit(
        self, callback: CallbackId, draft_id: str, user: str, values: dict[str, Any]
    ) -> httpx.Response:
        payload = view_submission(
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

    async def actions(self, subject_id: str) -> list[str]:
        return [str(e.action) for e in await self.store.entries(subject_id=subject_id)]


async def eventually(predicate: Any, timeout: float = 10.0) -> Any:
    return await wait_for(predicate, timeout)
