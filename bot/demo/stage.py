"""The stage of `occ-bot demo`: the fast clock, the cast, and what every act does with them.

`DemoClock` is the bot's "now", moved only by the rehearsal; `ErrorLog` catches what the bot
logs at ERROR on the way. `Stage` holds the running app and the stand-ins around it, and
gives the acts (`bot.demo.queue_acts`, `bot.demo.team_acts`) their two kinds of move:
printing (say, heading, show, when) and acting as Slack and Chatwoot do (post, press, click,
submit, command, open_home, run_job, ...). The small text helpers at the end are shared.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

import httpx

from bot.blocks.ids import ActionId, CallbackId
from bot.demo.render import SlackView
from bot.demo.standins.chatwoot import ChatwootAgent, ChatwootStandin
from bot.demo.standins.interactions import SlackSender, block_action, slash_command, view_submission
from bot.demo.standins.slack import SlackStandin, SlackUser
from bot.domain import Draft
from bot.jobs import JOBS
from bot.rules.periods import period_start
from bot.services import Services

# The app's secrets on the stand-ins, and the cast: who clicks in Slack, who works in Chatwoot.
SECRET = "demo-signing-secret"
INTAKE = "demo-intake-token"
OPERATOR = SlackUser("U0OLIVIA", "olivia", "Olivia Operator", "olivia@example.com")
MANAGER = SlackUser("U0MORGAN", "morgan", "Morgan Patel", "morgan@example.com")
LEAD = SlackUser("U0JAMIE", "jamie", "Jamie Chen", "jamie@example.com")  # the support lead
TRAINEE = SlackUser("U0SAM", "sam", "Sam Rivera", "sam@example.com")  # a new operator
PEOPLE = (OPERATOR, MANAGER, LEAD, TRAINEE)
AGENTS = (
    ChatwootAgent(1, "OCC Bot", "occ-bot@example.com", role="administrator"),
    ChatwootAgent(7, "Olivia Operator", "olivia@example.com"),
    ChatwootAgent(9, "Morgan Patel", "morgan@example.com", role="administrator"),
)
RULE = "=" * 78
SUBRULE = "-" * 78


@dataclass
class DemoClock:
    """The bot's "now": it only moves when the rehearsal moves it."""

    now: datetime

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)

    def timestamp(self) -> float:
        return self.now.timestamp()


def start_time(real_now: datetime) -> datetime:
    """Tuesday 14:00 UTC of the current week: a working afternoon, the same every run, far
    from midnight and the week's edges (the digest is of this week, posted next Monday)."""
    return period_start("week", real_now, UTC) + timedelta(days=1, hours=14)


class ErrorLog(logging.Handler):
    """What the bot logs at ERROR while the rehearsal runs (a bug: the demo then fails)."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(f"{record.name}: {record.getMessage()}")


class Stage:
    """One running app, the stand-ins around it, and the moves the acts are made of."""

    def __init__(
        self,
        out: TextIO,
        services: Services,
        clock: DemoClock,
        bot_url: str,
        http: httpx.AsyncClient,
        slack: SlackStandin,
        chatwoot: ChatwootStandin,
        shop: Any | None,
        out_dir: Path | None,
    ) -> None:
        self.out, self.services, self.clock = out, services, clock
        self.slack, self.chatwoot, self.shop = slack, chatwoot, shop
        self.bot_url = bot_url
        self.http = http
        self.out_dir = out_dir
        self.sender = SlackSender(bot_url, SECRET, http, clock=clock)
        self.view = SlackView(
            {user.id: user.name for user in (*PEOPLE, SlackUser(slack.bot_user_id, "occ-bot"))},
            services.settings.zone,
            clock,
        )

    # -- printing --------------------------------------------------------------------------------

    def say(self, text: str = "") -> None:
        self.out.write(text + "\n")

    def heading(self, title: str, subtitle: str = "") -> None:
        self.say(RULE)
        self.say(title)
        if subtitle:
            self.say(subtitle)
        self.say(SUBRULE)

    def show(self, where: str, message: dict[str, Any] | None, indent: bool = False) -> None:
        """A message as Slack shows it, under where it is."""
        self.say(f"{where}:\n")
        text = self.view.message(message) if message else "(nothing)"
        self.say(indented(text) if indent else text)
        self.say("")

    def when(self, moment: datetime) -> str:
        return f"{moment.astimezone(self.services.settings.zone):%a %Y-%m-%d %H:%M %Z}"

    # -- acting as Slack and Chatwoot ------------------------------------------------------------

    async def settle(self) -> None:
        await self.services.background.drain(timeout=30)

    async def post(self, payload: dict[str, Any]) -> Draft:
        response = await self.http.post(
            f"{self.bot_url}/drafts", json=payload, headers={"Authorization": f"Bearer {INTAKE}"}
        )
        response.raise_for_status()
        await self.settle()
        draft = await self.services.store.get_draft(response.json()["id"])
        assert draft is not None and draft.card is not None
        return draft

    def card(self, draft: Draft) -> str:
        assert draft.card is not None
        message = self.slack.message(draft.card.channel, draft.card.ts)
        return self.view.message(message) if message else "(no card)"

    async def press(self, action: ActionId, value: str, channel: str, ts: str, user: SlackUser):
        """A click on a button of the message at ``channel``/``ts``."""
        await self.sender.send(
            block_action(
                user=user.id, action_id=action.value, value=value, channel=channel, message_ts=ts
            )
        )
        await self.settle()

    async def click(self, draft: Draft, action: ActionId, user: SlackUser) -> None:
        assert draft.card is not None
        await self.press(action, draft.id, draft.card.channel, draft.card.ts, user)

    async def submit(
        self, callback: CallbackId, subject: str, user: SlackUser, values: dict[str, Any]
    ) -> None:
        await self.sender.send(
            view_submission(
                user=user.id, callback_id=callback.value, private_metadata=subject, values=values
            )
        )
        await self.settle()

    async def command(self, user: SlackUser, text: str) -> str:
        """`/occ <text>` as Slack delivers it; the answer shown to the user."""
        seen = len(self.slack.calls("response_url"))
        body = slash_command(
            user=user.id,
            command="/occ",
            text=text,
            channel=self.slack.channel_id(self.services.settings.approvals_channel),
            response_url=self.slack.response_url("occ"),
        )
        response = await self.sender.send(body)
        await self.settle()
        answers = self.slack.calls("response_url")[seen:]
        if answers:
            answer = answers[-1].args
            if answer.get("blocks"):
                return self.view.blocks(answer["blocks"])
            return self.view.mrkdwn(str(answer.get("text") or ""))
        return self.view.mrkdwn(response.text)

    async def open_home(self, user: SlackUser) -> str:
        """The user opens the bot's Home tab; what the bot publishes there."""
        seen = len(self.slack.calls("views.publish"))
        at = int(self.clock.timestamp())
        await self.sender.send_event(
            {
                "token": "verification_token_unused",
                "team_id": self.slack.team_id,
                "api_app_id": self.slack.app_id,
                "event": {
                    "type": "app_home_opened",
                    "user": user.id,
                    "channel": self.slack.channel_id(user.id),
                    "tab": "home",
                    "event_ts": f"{at}.000100",
                },
                "type": "event_callback",
                "event_id": f"Ev0HOME{user.id[2:]}",
                "event_time": at,
            }
        )
        await self.settle()
        published = [
            call
            for call in self.slack.calls("views.publish")[seen:]
            if call.args["user_id"] == user.id
        ]
        if not published:
            return "(nothing published)"
        view = published[-1].args["view"]
        return self.view.blocks((json.loads(view) if isinstance(view, str) else view)["blocks"])

    def opened_modal(self) -> dict[str, Any]:
        """The modal the last click opened, as it is now (a modal opened at once and filled
        in with views.update shows what it was filled in with)."""
        shown = [
            c for c in self.slack.calls() if c.ok and c.method in ("views.open", "views.update")
        ]
        assert shown, "no modal was opened"
        view = shown[-1].args["view"]
        return json.loads(view) if isinstance(view, str) else view

    def notices_for(self, user: SlackUser, since: int) -> list[str]:
        return [self.view.mrkdwn(e.get("text", "")) for e in self.slack.ephemerals(user.id)[since:]]

    async def run_job(self, name: str) -> str:
        said = await JOBS[name].run(self.services)
        await self.settle()
        return said

    def keep(self, name: str, content: bytes) -> Path | None:
        """Write a chart to ``--out``."""
        if self.out_dir is None:
            return None
        self.out_dir.mkdir(parents=True, exist_ok=True)
        path = self.out_dir / name
        path.write_bytes(content)
        return path

    def files_in_thread(self, channel: str, ts: str) -> list[dict[str, Any]]:
        channel_id = self.slack.channel_id(channel)
        return [
            f for f in self.slack.files() if f["channel"] == channel_id and f["thread_ts"] == ts
        ]

    def describe_file(self, file: dict[str, Any]) -> str:
        content = file.get("content") or b""
        size = ""
        if content[:8] == b"\x89PNG\r\n\x1a\n":
            width, height = int.from_bytes(content[16:20]), int.from_bytes(content[20:24])
            size = f", a {width}×{height} PNG"
        return f"📎 {file['filename']} ({len(content) / 1024:.0f} KB{size}): “{file['title']}”"


# -- text helpers the acts share ---------------------------------------------------------------


def indented(text: str) -> str:
    return "\n".join("    " + line if line else "" for line in text.splitlines())


def short(text: str, limit: int = 110) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def blocks_of(args: dict[str, Any]) -> list[dict[str, Any]]:
    blocks = args.get("blocks", [])
    return json.loads(blocks) if isinstance(blocks, str) else blocks


def initial_value(view: dict[str, Any], input_id: str) -> str | None:
    for block in view.get("blocks", []):
        if block.get("block_id") == input_id:
            return block.get("element", {}).get("initial_value")
    return None


def number_value(input_id: str, value: str) -> dict[str, Any]:
    """view.state.values for one number_input (Slack sends the typed text)."""
    return {input_id: {input_id: {"type": "number_input", "value": value}}}
