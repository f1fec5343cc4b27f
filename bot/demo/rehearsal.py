"""`occ-bot demo`: the whole product rehearsed offline on embedded defaults.

The real app runs against the loopback stand-ins for Slack, Chatwoot and Shopify that the
tests use, on a throw-away SQLite database, with offline drafting, on an injected clock that
the rehearsal moves (so an SLA of 15 minutes passes at once). Scripted people click what the
training expects, with signed Slack requests, and the scheduled jobs are run the way the
scheduler runs them. It prints what each Slack surface shows (as `bot.demo.render` renders
it: emoji, dates and names as a reader sees them) and what each decision did:

1. the approval queue: the scenario packet approved, edited, rejected and escalated, with
   a refusal (Demo 3, whose escalation is left unclaimed, comes last);
2. that Urgent escalation: reminded in its thread, stepped up the chain (the `reminders`
   job), claimed, resolved through the Resolve modal, and the operator's DM;
3. a Chatwoot message drafted; Chatwoot down during an approval, and Retry;
4. a CX conversation past its SLA (the `cx-scan` job), its breach card marked resolved;
5. Sales Pulse (the `sales-pulse` job over the stand-in shop): an alert, its chart in its
   thread, acknowledged;
6. the Home tab and `/occ stats` after the decisions;
7. training: `/occ training start`, a card decided and scored;
8. the weekly digest (the `digest` job, the next Monday), with its charts;
9. the decision log.

With ``out_dir`` it also writes the Sales Pulse and digest charts and the digest's Markdown
there. Everything else lives in a temporary folder that is removed at the end.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

import httpx

from bot.app import create_app, create_bolt_app
from bot.blocks.ids import ActionId, CallbackId, InputId
from bot.blocks.text import percent
from bot.config import Settings
from bot.connect import join_channels
from bot.decision_log import export_row
from bot.demo.render import SlackView, emoji
from bot.demo.standins.chatwoot import ChatwootAgent, ChatwootStandin
from bot.demo.standins.interactions import (
    SlackSender,
    block_action,
    select_value,
    slash_command,
    text_value,
    view_submission,
)
from bot.demo.standins.server import StandinServer
from bot.demo.standins.slack import DEFAULT_TOKEN, SlackStandin, SlackUser
from bot.domain import DecisionKind, Draft, Escalation, LogEntry
from bot.flows.digest import build_digest, write_digest
from bot.jobs import JOBS
from bot.rules.chain import Level, LevelKind
from bot.rules.periods import period_start
from bot.rules.risk import requires_manager, suggested_escalation_type
from bot.scenarios import Scenario, load_packet
from bot.services import Services, build_services

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
SCENARIO_PREFIXES = ("demo-", "exercise-")
CHAINED = "demo-3-triple-charge"  # its Urgent escalation is left unclaimed, to be reminded
RULE = "=" * 78
SUBRULE = "-" * 78

PARTS = (
    "the approval queue: the scenario packet approved, edited, rejected and escalated;",
    "an Urgent escalation reminded, stepped up the chain, claimed and resolved;",
    "a Chatwoot message drafted, and Chatwoot down during an approval;",
    "a CX conversation past its SLA, carded and marked resolved;",
    "a Sales Pulse alert from the shop, with its chart, acknowledged;",
    "the Home tab and /occ stats after the decisions;",
    "training: a card decided and scored;",
    "the weekly digest, the next Monday;",
    "the decision log.",
)
# What the operator types into the Edit box, following the training guide's advice.
EDITS = {
    "demo-2-wrong-item": (
        "Hi Alex,\n\nI'm so sorry we sent the wrong color! That's incredibly frustrating, "
        "especially with your event on Saturday. Let's get this fixed right away.\n\n"
        "OPTION 1 - EXPEDITED EXCHANGE (FASTEST): I'll ship the blue sweater TODAY with "
        "overnight shipping - arrives Friday. Return the red one with this prepaid label: "
        "[link]. No charge for overnight shipping.\n\nOPTION 2 - REFUND: Full refund of $45.99 "
        "processed within 24 hours. Return label: [link]\n\nWhich works best for you? I'll make "
        "it happen immediately!\n\nAgain, my apologies for this mixup."
    ),
    "exercise-2-add-warmth": (
        "Hi David! So glad you're excited - we are too! Order #55555 shipped October 9 via "
        "USPS (tracking 9400100000000000000000) and should be with you on October 13. "
        "Track it here: [link]. Enjoy!"
    ),
    "exercise-8-multi-part": (
        "Hi James, thanks for laying it all out. 1) Order #44444: I'm sorry it never reached "
        "you - I've opened a carrier claim and will send a replacement as soon as it's filed. "
        "2) Order #55555: you can swap the Large for an XL with our free exchange: [link]. "
        "3) We offer shipping insurance at checkout for high-value items. 4) Our wireless "
        "headphones come with a 1-year manufacturer warranty. Anything else I can help with?"
    ),
}
REJECTIONS = {
    "exercise-3-wrong-return-window": (
        "factual_error",
        "Return Policy v2.1 is 30 days, not 14: at 21 days she can still return it.",
    ),
    "exercise-4-ambiguous": ("handle_manually", "No order history; ask in Chatwoot directly."),
}
# How long each card waits before its decision (minutes), so the team's numbers have a
# spread: the median is under the 3-minute target, the p90 over it.
THINKING = (1, 2, 1, 3, 2, 4, 1, 2, 5, 1, 2, 3)
# The shop's orders by this hour, from 7 days ago to today.
ORDERS_BY_DAY = (18, 22, 19, 21, 20, 23, 17, 8)
RESOLUTION_REPLY = (
    "Hi Michael, I'm so sorry about the triple charge. I've refunded the two duplicate "
    "charges ($900.00) to your card today; you'll see them within 3-5 business days. "
    "The bug that caused it has been reported to our engineers."
)


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


class _Errors(logging.Handler):
    """What the bot logs at ERROR while the rehearsal runs (a bug: the demo then fails)."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(f"{record.name}: {record.getMessage()}")


class Rehearsal:
    """The story, part by part, against one running app; see the module's docstring."""

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
        self.chained: Escalation | None = None

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
        self.say(_indent(text) if indent else text)
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

    # -- 1. the approval queue -------------------------------------------------------------------

    async def scenario(self, scenario: Scenario, thinking: int) -> None:
        self.heading(
            scenario.title,
            f"Training answer: {scenario.expected.decision.value.upper()} — "
            f"{scenario.expected.why}",
        )
        draft = await self.post(scenario.payload)
        self.say("Card posted in #occ-approvals:\n")
        self.say(self.card(draft))
        self.say("")
        self.clock.advance(minutes=thinking)
        self.say(f"({thinking} min later)")
        await self.decide(scenario, draft)
        decided = await self.services.store.get_draft(draft.id)
        assert decided is not None
        self.say("\nCard now:\n")
        self.say(self.card(decided))
        self.say("")

    async def decide(self, scenario: Scenario, draft: Draft) -> None:
        kind = scenario.expected.decision
        conversation = draft.input.conversation_id
        before = len(self.chatwoot.sent_replies(conversation))
        if kind is DecisionKind.APPROVE:
            self.say(f"▶ {OPERATOR.real_name} clicks Approve")
            await self.click(draft, ActionId.APPROVE, OPERATOR)
        elif kind is DecisionKind.EDIT:
            self.say(f"▶ {OPERATOR.real_name} clicks Edit; the modal opens with the draft:")
            await self.click(draft, ActionId.EDIT, OPERATOR)
            self.say(_indent(self.view.view(self.opened_modal())))
            self.say("▶ She rewrites it and submits")
            text = EDITS.get(scenario.key, draft.input.draft + "\n\nThanks for your patience!")
            await self.submit(
                CallbackId.EDIT, draft.id, OPERATOR, text_value(InputId.EDIT_TEXT, text)
            )
        elif kind is DecisionKind.REJECT:
            reason, notes = REJECTIONS.get(scenario.key, ("other", "Not right for this customer."))
            self.say(f"▶ {OPERATOR.real_name} clicks Reject and picks “{reason}”: {notes}")
            await self.click(draft, ActionId.REJECT, OPERATOR)
            values = select_value(InputId.REJECT_REASON, reason) | text_value(
                InputId.REJECT_NOTES, notes
            )
            await self.submit(CallbackId.REJECT, draft.id, OPERATOR, values)
        else:
            await self.escalate(scenario, draft)
        sent = self.chatwoot.sent_replies(conversation)[before:]
        for message in sent:
            self.say(
                f"✉ Chatwoot conversation #{conversation} received the reply "
                f"(message {message['id']}): {_short(message['content'])}"
            )
        for note in self.chatwoot.private_notes(conversation):
            self.say(f"🗒 Private note on #{conversation}: {_short(note['content'])}")
        if not sent and kind in (DecisionKind.APPROVE, DecisionKind.EDIT):
            self.say("✉ Nothing reached Chatwoot")

    async def escalate(self, scenario: Scenario, draft: Draft) -> None:
        if requires_manager(draft.flags):
            seen = len(self.slack.ephemerals(OPERATOR.id))
            self.say(f"▶ {OPERATOR.real_name} tries Approve first")
            await self.click(draft, ActionId.APPROVE, OPERATOR)
            for text in self.notices_for(OPERATOR, seen):
                self.say(f"  (only she sees) {text}")
        self.say(f"▶ {OPERATOR.real_name} clicks Escalate; the modal opens pre-filled:")
        await self.click(draft, ActionId.ESCALATE, OPERATOR)
        modal = self.opened_modal()
        self.say(_indent(self.view.view(modal)))
        notes = _initial_value(modal, InputId.ESCALATION_NOTES) or "See the card."
        urgency = str(scenario.expected.urgency or "normal")
        values = (
            select_value(InputId.ESCALATION_TYPE, suggested_escalation_type(draft.flags).value)
            | select_value(InputId.ESCALATION_URGENCY, urgency)
            | text_value(InputId.ESCALATION_NOTES, notes)
        )
        self.say(f"▶ She submits it as {urgency.upper()}")
        await self.submit(CallbackId.ESCALATE, draft.id, OPERATOR, values)
        escalation = await self.services.store.escalation_for_draft(draft.id)
        if escalation is None or escalation.message is None:
            return
        message = self.slack.message(escalation.message.channel, escalation.message.ts)
        self.show("Posted in #occ-escalations for the managers", message, indent=True)
        if scenario.key == CHAINED:
            self.chained = escalation
            self.say("(nobody claims this one: see what happens next)")
            return
        self.say(f"▶ {MANAGER.real_name} claims it")
        await self.press(
            ActionId.CLAIM,
            escalation.id,
            escalation.message.channel,
            escalation.message.ts,
            MANAGER,
        )

    async def chatwoot_message(self) -> None:
        self.heading("A customer writes in Chatwoot: the webhook stores it, then it is drafted")
        message = self.chatwoot.add_incoming(
            401,
            "Hi! Do you ship to Canada? How long does it take?",
            contact_name="Jen Walsh",
            contact_email="jen@example.com",
        )
        response = await self.http.post(
            f"{self.bot_url}/webhooks/chatwoot?token={INTAKE}",
            json=self.chatwoot.message_created_event(message),
        )
        response.raise_for_status()
        await self.settle()
        drafts = [
            call
            for call in self.slack.calls("chat.postMessage")
            if "401" in json.dumps(call.args.get("blocks", ""))
        ]
        if drafts:
            self.say("Card posted in #occ-approvals:\n")
            self.say(self.view.blocks(_blocks(drafts[-1].args)))
        self.say("(it stays waiting: the Home tab below lists it)")
        self.say("")

    async def outage(self, scenario: Scenario) -> None:
        self.heading("Chatwoot goes down while an approval is being sent")
        payload = {**scenario.payload, "conversation_id": 501, "external_id": None}
        draft = await self.post(payload)
        self.clock.advance(minutes=1)
        self.chatwoot.down(503)
        self.say(f"▶ {OPERATOR.real_name} clicks Approve while Chatwoot answers 503")
        await self.click(draft, ActionId.APPROVE, OPERATOR)
        failed = await self.services.store.get_draft(draft.id)
        assert failed is not None
        self.say(self.card(failed))
        self.say("")
        for message in self.slack.messages_in("#occ-reliability"):
            self.say(f"#occ-reliability: {self.view.message(message)}")
        self.chatwoot.up()
        self.clock.advance(minutes=1)
        self.say("▶ Chatwoot is back; she clicks Retry now")
        await self.click(draft, ActionId.RETRY, OPERATOR)
        done = await self.services.store.get_draft(draft.id)
        assert done is not None
        self.say(self.card(done))
        self.say("")
        self.say(f"Replies in conversation #501: {len(self.chatwoot.sent_replies(501))}")
        recovered = self.slack.messages_in("#occ-reliability")[-1]
        self.say(f"#occ-reliability: {self.view.message(recovered)}")
        self.say(
            f"(the `outbox` job would have sent it by itself: {await self.run_job('outbox')} now)"
        )
        self.say("")

    # -- 2. an Urgent escalation: reminded, up the chain, claimed, resolved ------------------------

    async def urgent_chain(self) -> None:
        escalation = self.chained
        if escalation is None or escalation.message is None:
            return
        channel, ts = escalation.message.channel, escalation.message.ts
        chain = " → ".join(self.level(level) for level in self.services.settings.escalation_chain)
        self.heading(
            "An Urgent escalation nobody claims: SLA reminders, up the chain, Claim and Resolve",
            f"Demo 3 was escalated URGENT at {self.when(escalation.created_at)}: its SLA is 15 "
            f"min.\nOCC_ESCALATION_CHAIN: {chain}; one reminder a level (OCC_REMINDERS_PER_LEVEL).",
        )
        if self.clock() < escalation.due_at:
            self.clock.now = escalation.due_at
        seen = 0
        for step in range(2):
            said = await self.run_job("reminders")
            self.say(f"⏱ {self.when(self.clock())}: the `reminders` job runs ({said})")
            replies = self.slack.thread(channel, ts)
            for reply in replies[seen:]:
                self.show("  Reminder in the escalation's thread", reply, indent=True)
            seen = len(replies)
            if step == 0:
                self.clock.advance(minutes=15)
        message = self.slack.message(channel, ts)
        self.show("The escalation in #occ-escalations now", message, indent=True)

        self.clock.advance(minutes=3)
        self.say(f"▶ {self.when(self.clock())}: {MANAGER.real_name} clicks Claim")
        await self.press(ActionId.CLAIM, escalation.id, channel, ts, MANAGER)
        self.show("Claimed", self.slack.message(channel, ts), indent=True)

        self.clock.advance(minutes=12)
        self.say(f"▶ {MANAGER.real_name} refunds the duplicate charges, then clicks Resolve:")
        await self.press(ActionId.RESOLVE, escalation.id, channel, ts, MANAGER)
        self.say(_indent(self.view.view(self.opened_modal())))
        self.say("▶ She fills it in and submits it")
        conversation = escalation.conversation_id
        replies_before = len(self.chatwoot.sent_replies(conversation)) if conversation else 0
        dms_before = len(self.slack.messages_in(OPERATOR.id))
        values = (
            text_value(InputId.RESOLUTION_SUMMARY, "Refunded the two duplicate charges in Shopify.")
            | select_value(InputId.RESOLUTION_OUTCOME, "refund")
            | _number_value(InputId.RESOLUTION_AMOUNT, "900")
            | text_value(InputId.RESOLUTION_REPLY, RESOLUTION_REPLY)
            | text_value(
                InputId.RESOLUTION_NOTES,
                "Triple charges are always a refund of the extras: check Shopify's payments first.",
            )
        )
        await self.submit(CallbackId.RESOLVE, escalation.id, MANAGER, values)
        self.show("Resolved", self.slack.message(channel, ts), indent=True)
        if conversation:
            for reply in self.chatwoot.sent_replies(conversation)[replies_before:]:
                self.say(
                    f"✉ Chatwoot conversation #{conversation} received her reply: "
                    f"{_short(reply['content'])}"
                )
        for dm in self.slack.messages_in(OPERATOR.id)[dms_before:]:
            self.show(f"  DM to {OPERATOR.real_name} (who escalated it)", dm, indent=True)

    def level(self, level: Level) -> str:
        if level.kind is LevelKind.MANAGERS:
            managers = sorted(self.services.settings.managers)
            return "the managers (" + ", ".join(self.view.mention(m) for m in managers) + ")"
        if level.kind is LevelKind.USER:
            return self.view.mention(level.target)
        return str(level)

    # -- 3. a CX conversation past its SLA -------------------------------------------------------

    async def cx_breach(self) -> None:
        minutes = self.services.settings.cx_sla_minutes
        self.heading(
            "A CX conversation waits past its SLA: the `cx-scan` job cards it",
            f"Dana wrote in Chatwoot 75 min ago and no agent has answered (the CX SLA is "
            f"{minutes:.0f} min, OCC_CX_SLA_MINUTES).",
        )
        self.chatwoot.add_incoming(
            601,
            "Hi, my tracking number hasn't updated in 5 days and my package still isn't here. "
            "Where is it?",
            contact_name="Dana Whitfield",
            contact_email="dana@example.com",
            created_at=int(self.clock.timestamp() - 75 * 60),
        )
        said = await self.run_job("cx-scan")
        self.say(f"⏱ {self.when(self.clock())}: the `cx-scan` job runs ({said})\n")
        breached = [e for e in await self.services.store.entries() if e.action == "cx.sla_breached"]
        for entry in breached:
            card = await self.services.store.get_draft(entry.subject_id)
            assert card is not None and card.card is not None
            self.say("Breach card posted in #occ-approvals:\n")
            self.say(self.card(card))
            self.say("")
            self.clock.advance(minutes=2)
            self.say(
                f"▶ {OPERATOR.real_name} phones Dana (the carrier delivers today, she confirms), "
                "then clicks Mark Resolved; the modal asks why:"
            )
            await self.click(card, ActionId.MARK_RESOLVED, OPERATOR)
            self.say(_indent(self.view.view(self.opened_modal())))
            self.say("▶ She picks “customer confirmed” and submits")
            values = select_value(InputId.REJECT_REASON, "customer_confirmed") | text_value(
                InputId.REJECT_NOTES, "Called Dana: the carrier delivers today; she is happy."
            )
            await self.submit(CallbackId.REJECT, card.id, OPERATOR, values)
            decided = await self.services.store.get_draft(card.id)
            assert decided is not None
            self.say("\nCard now:\n")
            self.say(self.card(decided))
            sent = len(self.chatwoot.sent_replies(card.input.conversation_id))
            self.say(f"\nReplies sent to conversation #{card.input.conversation_id}: {sent}")
            self.say("")

    # -- 4. Sales Pulse --------------------------------------------------------------------------

    def seed_shop(self) -> None:
        """About 20 orders a day by this hour over the past week, and only 8 today: revenue
        is down about 60 %."""
        shop = self.shop
        now = self.clock()
        midnight = period_start("today", now, self.services.settings.zone)
        for back, orders in zip(range(7, -1, -1), ORDERS_BY_DAY, strict=True):
            day = midnight - timedelta(days=back)
            for i in range(orders):
                shop.add_order(
                    day + timedelta(hours=2, minutes=7 * i),
                    45.0 + 5 * (i % 3),
                    line_items=[("SKU-HOODIE", 1, "Hoodie")],
                    email=f"customer{back}{i}@example.com",
                )
        shop.add_variant("SKU-HOODIE", 900, product_title="Hoodie")
        shop.sort_orders()

    async def sales_pulse(self) -> None:
        self.heading(
            "Sales Pulse: the `sales-pulse` job reads the shop and alerts #occ-sales",
            "The stand-in shop (Shopify's Admin GraphQL API) had about 20 orders of about $50 "
            "by this hour on each of the last 7 days; today it has 8.",
        )
        if self.shop is None:
            self.say(
                "(skipped: the Shopify stand-in needs graphql-core; "
                "`pip install graphql-core` to see it)\n"
            )
            return
        self.seed_shop()
        said = await self.run_job("sales-pulse")
        self.say(f"⏱ {self.when(self.clock())}: the `sales-pulse` job runs ({said})\n")
        opened = [
            e.subject_id for e in await self.services.store.entries() if e.action == "sales.alert"
        ]
        for alert_id in opened:
            alert = await self.services.store.get_sales_alert(alert_id)
            if alert is None or alert.message is None:
                continue
            channel, ts = alert.message.channel, alert.message.ts
            self.show("Alert posted in #occ-sales", self.slack.message(channel, ts))
            charts = self.files_in_thread(channel, ts)
            for chart in charts:
                self.say(f"In its thread: {self.describe_file(chart)}")
                name = re.sub(r"[^a-z0-9_-]+", "-", alert.condition.lower())
                written = self.keep(f"sales-pulse-{name}.png", chart["content"])
                if written:
                    self.say(f"  (written to {written})")
            self.say("")
            self.clock.advance(minutes=4)
            self.say(f"▶ {OPERATOR.real_name} looks into it and clicks Acknowledge")
            await self.press(ActionId.SALES_ACKNOWLEDGE, alert.id, channel, ts, OPERATOR)
            self.show("Alert now", self.slack.message(channel, ts))

    # -- 5. the Home tab and /occ stats ---------------------------------------------------------

    async def home_and_stats(self) -> None:
        self.clock.now = max(self.clock.now, self.clock.now.replace(hour=17, minute=30))
        self.heading(
            "The Home tab and /occ stats, at the end of the day",
            f"{self.when(self.clock())}: the App Home tab, as each of them sees it.",
        )
        for user, role in ((OPERATOR, "an operator"), (MANAGER, "a manager")):
            self.say(f"▶ {user.real_name} ({role}) opens occ-bot's Home tab:\n")
            self.say(_indent(await self.open_home(user)))
            self.say("")
        self.say(f"▶ {OPERATOR.real_name} types /occ stats (only she sees the answer):\n")
        self.say(_indent(await self.command(OPERATOR, "stats")))
        self.say("")

    # -- 6. training -----------------------------------------------------------------------------

    async def training(self) -> None:
        channel = self.services.settings.training_channel
        self.heading(
            "Training: a new operator practises on the packet",
            "TRAINING cards go to their own channel; nothing reaches a customer or a manager, "
            "and the team's numbers count none of it.",
        )
        self.say(f"▶ {TRAINEE.real_name} types /occ training start:\n")
        self.say(_indent(await self.command(TRAINEE, "training start")))
        self.say("")
        cards = await self.services.store.training_cards(TRAINEE.id)
        self.say(f"{len(cards)} TRAINING cards posted in {channel}; the first one:\n")
        if not cards:
            return
        first = cards[0]
        self.say(self.card(first))
        self.say("")
        seen = len(self.slack.ephemerals(TRAINEE.id))
        conversations = {c.input.conversation_id for c in cards}
        replies = sum(len(self.chatwoot.sent_replies(c)) for c in conversations)
        self.clock.advance(minutes=2)
        self.say(f"▶ {TRAINEE.real_name} clicks Approve")
        await self.click(first, ActionId.APPROVE, TRAINEE)
        decided = await self.services.store.get_draft(first.id)
        assert decided is not None
        self.say("\nCard now:\n")
        self.say(self.card(decided))
        self.say("")
        for text in self.notices_for(TRAINEE, seen):
            self.say(f"Only {TRAINEE.real_name} sees how it scored:\n")
            self.say(_indent(text))
        replies = sum(len(self.chatwoot.sent_replies(c)) for c in conversations) - replies
        self.say(f"\nReplies sent to customers from training: {replies}")
        self.say("")

    # -- 7. the weekly digest --------------------------------------------------------------------

    async def digest(self) -> None:
        settings = self.services.settings
        week = period_start("week", self.clock(), settings.zone)
        self.clock.now = week + timedelta(days=7, hours=settings.digest_hour, minutes=5)
        self.heading(
            "The weekly digest: the `digest` job, the next Monday",
            f"Posted to {settings.digest_channel} on OCC_DIGEST_WEEKDAY from OCC_DIGEST_HOUR, "
            "with its charts in the thread.",
        )
        said = await self.run_job("digest")
        self.say(f"⏱ {self.when(self.clock())}: the `digest` job runs ({said})\n")
        posted = [
            m
            for m in self.slack.messages_in(settings.digest_channel)
            if "Weekly digest" in m.get("text", "")
        ]
        if not posted:
            return
        message = posted[-1]
        self.show(f"Posted in {settings.digest_channel}", message)
        for chart in self.files_in_thread(settings.digest_channel, message["ts"]):
            self.say(f"In its thread: {self.describe_file(chart)}")
        if self.out_dir is not None:
            digest = await build_digest(self.services, self.clock())
            written = write_digest(digest, self.out_dir)
            markdown = self.out_dir / "digest.md"  # emoji as a reader sees them, as above
            markdown.write_text(emoji(markdown.read_text(encoding="utf-8")), encoding="utf-8")
            self.say(f"  (written to {', '.join(str(p) for p in written)})")
        self.say("")

    # -- 8. the decision log ---------------------------------------------------------------------

    async def log(self) -> None:
        entries = await self.services.store.entries()
        self.heading(f"Decision log: {len(entries)} rows (occ-bot export writes them as NDJSON)")
        self.say(f"{'time (UTC)':<20} {'actor':<10} {'action':<22} {'outcome':<8} subject")
        for entry in entries:
            self.say(_log_line(entry))
        decisions = Counter(
            str(e.action)
            for e in entries
            if e.scope.value == "cx"
            and str(e.action)
            in ("draft.approved", "draft.edited", "draft.rejected", "draft.escalated")
        )
        total = sum(decisions.values())
        escalated = decisions["draft.escalated"]
        self.say("")
        self.say("Decisions: " + ", ".join(f"{k.split('.')[1]} {v}" for k, v in decisions.items()))
        if total:
            self.say(
                f"Escalation rate: {percent(escalated / total)} of {total} decisions "
                "(the packet is built to exercise escalations; the live target is 10-15 %)"
            )
        self.say("First row as exported:")
        self.say(json.dumps(export_row(entries[0]), ensure_ascii=False) if entries else "(none)")


def _indent(text: str) -> str:
    return "\n".join("    " + line if line else "" for line in text.splitlines())


def _short(text: str, limit: int = 110) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _blocks(args: dict[str, Any]) -> list[dict[str, Any]]:
    blocks = args.get("blocks", [])
    return json.loads(blocks) if isinstance(blocks, str) else blocks


def _initial_value(view: dict[str, Any], input_id: str) -> str | None:
    for block in view.get("blocks", []):
        if block.get("block_id") == input_id:
            return block.get("element", {}).get("initial_value")
    return None


def _number_value(input_id: str, value: str) -> dict[str, Any]:
    """view.state.values for one number_input (Slack sends the typed text)."""
    return {input_id: {input_id: {"type": "number_input", "value": value}}}


def _log_line(entry: LogEntry) -> str:
    actor = {user.id: user.name for user in PEOPLE}.get(entry.actor, entry.actor)
    when = entry.created_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
    return (
        f"{when:<20} {actor:<10} {entry.action!s:<22} {entry.outcome.value:<8} {entry.subject_id}"
    )


def demo_settings(
    tmp: Path, slack: SlackStandin, chatwoot: ChatwootStandin, shop: Any | None
) -> Settings:
    shopify: dict[str, Any] = {}
    if shop is not None:
        shopify = {"shopify_shop": shop.url, "shopify_admin_token": shop.token}
    return Settings(
        _env_file=None,
        slack_bot_token=DEFAULT_TOKEN,
        slack_signing_secret=SECRET,
        slack_api_url=f"{slack.url}/api/",
        database_url=f"sqlite:///{tmp / 'occ-demo.db'}",
        chatwoot_url=chatwoot.url,
        chatwoot_api_token=chatwoot.token,
        chatwoot_account_id=str(chatwoot.account_id),
        openai_api_key=None,
        OCC_INTAKE_TOKEN=INTAKE,
        OCC_MANAGERS=MANAGER.id,
        OCC_OPERATORS="",
        OCC_KB_DIR=None,
        OCC_SPOOL_DIR=str(tmp / "spool"),
        OCC_ESCALATION_CHAIN=f"managers,{LEAD.id}",
        OCC_REMINDERS_PER_LEVEL=1,
        OCC_HOME_REFRESH_SECONDS=0,  # the Home tab is redrawn at once, not after a pause
        OCC_DRAFT_QUIET_SECONDS=0,  # a Chatwoot message is drafted at once
        OCC_JOB_TICK_SECONDS=3600,  # the rehearsal runs the jobs itself
        **shopify,
    )


def queue_order(packet: list[Scenario]) -> list[Scenario]:
    """The demos and exercises, with the one whose escalation is left unclaimed last, so that
    its SLA runs out in the next part of the story."""
    played = [s for s in packet if s.key.startswith(SCENARIO_PREFIXES)]
    return sorted(played, key=lambda s: s.key == CHAINED)


def _shop_standin(clock: DemoClock) -> Any | None:
    """The Shopify stand-in, or None where graphql-core (a dev dependency) is missing."""
    try:
        from bot.demo.standins.shopify import ShopifyStandin
    except ImportError:
        return None
    return ShopifyStandin(timezone="UTC", clock=clock.timestamp)


async def run_demo(out: TextIO, out_dir: Path | None = None) -> int:
    """Rehearse, printing to ``out``; 0 when the bot logged no error on the way."""
    try:
        return await _rehearse(out, out_dir)
    except BrokenPipeError:  # `occ-bot demo | head`: the reader left; stop without a traceback
        with contextlib.suppress(OSError, ValueError, AttributeError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), out.fileno())
        return 1


async def _rehearse(out: TextIO, out_dir: Path | None) -> int:
    clock = DemoClock(start_time(datetime.now(UTC)))
    started = time.monotonic()
    out.write(
        "occ-bot demo: a rehearsal of the whole product on embedded defaults\n"
        "(SQLite, offline drafting, loopback stand-ins for Slack, Chatwoot and Shopify, and a\n"
        f"fast clock that starts at {clock.now:%a %Y-%m-%d %H:%M} UTC and moves as the story "
        "needs). In order:\n"
        + "".join(f"  {n}. {part}\n" for n, part in enumerate(PARTS, 1))
        + "Slack's surfaces are shown as a reader sees them; ▶ marks what someone does.\n\n"
    )
    errors = _Errors()
    logging.getLogger("occ").addHandler(errors)
    shop = _shop_standin(clock)
    try:
        with tempfile.TemporaryDirectory(prefix="occ-demo-") as tmp:
            async with (
                SlackStandin(users=PEOPLE, clock=clock.timestamp) as slack,
                ChatwootStandin(agents=AGENTS, clock=clock.timestamp) as chatwoot,
            ):
                if shop is not None:
                    await shop.start()
                services = await build_services(
                    demo_settings(Path(tmp), slack, chatwoot, shop), clock=clock
                )
                try:
                    await join_channels(services)  # as `occ-bot serve` does before it serves
                    await services.store.migrate()
                    app = create_app(services, bolt=create_bolt_app(services), run_jobs=False)
                    async with (
                        StandinServer(app) as server,
                        httpx.AsyncClient(timeout=30) as http,
                    ):
                        rehearsal = Rehearsal(
                            out, services, clock, server.url, http, slack, chatwoot, shop, out_dir
                        )
                        packet = queue_order(load_packet())
                        for scenario, thinking in zip(packet, THINKING, strict=False):
                            await rehearsal.scenario(scenario, thinking)
                        await rehearsal.urgent_chain()
                        await rehearsal.chatwoot_message()
                        await rehearsal.outage(packet[0])
                        await rehearsal.cx_breach()
                        await rehearsal.sales_pulse()
                        await rehearsal.home_and_stats()
                        await rehearsal.training()
                        await rehearsal.digest()
                        await rehearsal.log()
                finally:
                    await services.aclose()
                    if shop is not None:
                        await shop.stop()
    finally:
        logging.getLogger("occ").removeHandler(errors)
    out.write(f"\n(rehearsed in {time.monotonic() - started:.1f} s)\n")
    if errors.messages:
        out.write("\nThe bot logged errors during the rehearsal:\n")
        for message in errors.messages:
            out.write(f"  {message}\n")
        return 1
    return 0
