"""`occ-bot demo`: the whole approval flow rehearsed offline on embedded defaults.

The real app runs against the same loopback stand-ins for Slack and Chatwoot that the tests
use, on a throw-away SQLite database, with offline drafting. Each scenario from the training
packet is posted as a draft; a scripted operator (or manager) clicks what the training
expects, with signed Slack requests; the demo prints each card, what each decision did, and
the decision log.
"""

from __future__ import annotations

import json
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any, TextIO

import httpx

from bot.app import create_app, create_bolt_app
from bot.blocks.ids import ActionId, CallbackId, InputId
from bot.blocks.render import blocks_to_text, view_to_text
from bot.commands.export import row
from bot.config import Settings
from bot.demo.standins.chatwoot import ChatwootAgent, ChatwootStandin
from bot.demo.standins.interactions import (
    SlackSender,
    block_action,
    select_value,
    text_value,
    view_submission,
)
from bot.demo.standins.server import StandinServer
from bot.demo.standins.slack import DEFAULT_TOKEN, SlackStandin, SlackUser
from bot.domain import DecisionKind, Draft, LogEntry
from bot.jobs import JOBS
from bot.rules.risk import requires_manager, suggested_escalation_type
from bot.scenarios import Scenario, load_packet
from bot.services import Services, build_services

SECRET = "demo-signing-secret"
INTAKE = "demo-intake-token"
OPERATOR = SlackUser("U0OLIVIA", "olivia", "Olivia Operator", "olivia@example.com")
MANAGER = SlackUser("U0MORGAN", "morgan", "Morgan Patel", "morgan@example.com")
AGENTS = (
    ChatwootAgent(1, "OCC Bot", "occ-bot@example.com", role="administrator"),
    ChatwootAgent(7, "Olivia Operator", "olivia@example.com"),
    ChatwootAgent(9, "Morgan Patel", "morgan@example.com", role="administrator"),
)
SCENARIO_PREFIXES = ("demo-", "exercise-")

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


class Rehearsal:
    def __init__(
        self,
        out: TextIO,
        services: Services,
        bot_url: str,
        http: httpx.AsyncClient,
        slack: SlackStandin,
        chatwoot: ChatwootStandin,
    ) -> None:
        self.out, self.services, self.slack, self.chatwoot = out, services, slack, chatwoot
        self.bot_url = bot_url
        self.http = http
        self.sender = SlackSender(bot_url, SECRET, http)

    def say(self, text: str = "") -> None:
        self.out.write(text + "\n")

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
        return blocks_to_text(message["blocks"]) if message else "(no card)"

    async def click(self, draft: Draft, action: ActionId, user: SlackUser) -> None:
        assert draft.card is not None
        await self.sender.send(
            block_action(
                user=user.id,
                action_id=action.value,
                value=draft.id,
                channel=draft.card.channel,
                message_ts=draft.card.ts,
            )
        )
        await self.settle()

    async def submit(
        self, callback: CallbackId, draft: Draft, user: SlackUser, values: dict[str, Any]
    ) -> None:
        await self.sender.send(
            view_submission(
                user=user.id,
                callback_id=callback.value,
                private_metadata=draft.id,
                values=values,
            )
        )
        await self.settle()

    def opened_modal(self) -> dict[str, Any]:
        call = self.slack.last("views.open")
        assert call is not None
        view = call.args["view"]
        return json.loads(view) if isinstance(view, str) else view

    def notices_for(self, user: SlackUser, since: int) -> list[str]:
        return [e["text"] for e in self.slack.ephemerals(user.id)[since:]]

    async def scenario(self, scenario: Scenario) -> None:
        self.say("=" * 78)
        self.say(f"{scenario.title}")
        self.say(
            f"Training answer: {scenario.expected.decision.value.upper()} — {scenario.expected.why}"
        )
        self.say("-" * 78)
        draft = await self.post(scenario.payload)
        self.say("Card posted in #occ-approvals:\n")
        self.say(self.card(draft))
        self.say("")
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
            self.say(_indent(view_to_text(self.opened_modal())))
            self.say("▶ She rewrites it and submits")
            text = EDITS.get(scenario.key, draft.input.draft + "\n\nThanks for your patience!")
            await self.submit(CallbackId.EDIT, draft, OPERATOR, text_value(InputId.EDIT_TEXT, text))
        elif kind is DecisionKind.REJECT:
            reason, notes = REJECTIONS.get(scenario.key, ("other", "Not right for this customer."))
            self.say(f"▶ {OPERATOR.real_name} clicks Reject and picks “{reason}”: {notes}")
            await self.click(draft, ActionId.REJECT, OPERATOR)
            values = select_value(InputId.REJECT_REASON, reason) | text_value(
                InputId.REJECT_NOTES, notes
            )
            await self.submit(CallbackId.REJECT, draft, OPERATOR, values)
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
        self.say(_indent(view_to_text(modal)))
        notes = _initial_value(modal, InputId.ESCALATION_NOTES) or "See the card."
        urgency = (scenario.expected.urgency or "normal").__str__()
        values = (
            select_value(InputId.ESCALATION_TYPE, suggested_escalation_type(draft.flags).value)
            | select_value(InputId.ESCALATION_URGENCY, urgency)
            | text_value(InputId.ESCALATION_NOTES, notes)
        )
        self.say(f"▶ She submits it as {urgency.upper()}")
        await self.submit(CallbackId.ESCALATE, draft, OPERATOR, values)
        escalation = await self.services.store.escalation_for_draft(draft.id)
        if escalation is not None and escalation.message is not None:
            message = self.slack.message(escalation.message.channel, escalation.message.ts)
            self.say("Posted in #occ-escalations for the managers:\n")
            self.say(_indent(blocks_to_text(message["blocks"]) if message else "(missing)"))
            self.say(f"▶ {MANAGER.real_name} claims it")
            await self.sender.send(
                block_action(
                    user=MANAGER.id,
                    action_id=ActionId.CLAIM.value,
                    value=escalation.id,
                    channel=escalation.message.channel,
                    message_ts=escalation.message.ts,
                )
            )
            await self.settle()

    async def chatwoot_message(self) -> None:
        self.say("=" * 78)
        self.say("A customer writes in Chatwoot: the webhook stores it, then it is drafted")
        self.say("-" * 78)
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
            self.say(blocks_to_text(_blocks(drafts[-1].args)))
        self.say("")

    async def outage(self, scenario: Scenario) -> None:
        self.say("=" * 78)
        self.say("Chatwoot goes down while an approval is being sent")
        self.say("-" * 78)
        payload = {**scenario.payload, "conversation_id": 501, "external_id": None}
        draft = await self.post(payload)
        self.chatwoot.down(503)
        self.say(f"▶ {OPERATOR.real_name} clicks Approve while Chatwoot answers 503")
        await self.click(draft, ActionId.APPROVE, OPERATOR)
        failed = await self.services.store.get_draft(draft.id)
        assert failed is not None
        self.say(self.card(failed))
        for message in self.slack.messages_in("#occ-reliability"):
            self.say(f"#occ-reliability: {message.get('text')}")
        self.chatwoot.up()
        self.say("▶ Chatwoot is back; she clicks Retry now")
        await self.click(draft, ActionId.RETRY, OPERATOR)
        done = await self.services.store.get_draft(draft.id)
        assert done is not None
        self.say(self.card(done))
        self.say(f"Replies in conversation #501: {len(self.chatwoot.sent_replies(501))}")
        self.say(f"#occ-reliability: {self.slack.messages_in('#occ-reliability')[-1].get('text')}")
        self.say(
            f"(the `replies` job would have sent it by itself: "
            f"{await JOBS['replies'].run(self.services)} now)"
        )
        self.say("")

    async def log(self) -> None:
        entries = await self.services.store.entries()
        self.say("=" * 78)
        self.say(f"Decision log: {len(entries)} rows (occ-bot export writes them as NDJSON)")
        self.say("-" * 78)
        self.say(f"{'time (UTC)':<20} {'actor':<10} {'action':<20} {'outcome':<8} subject")
        for entry in entries:
            self.say(_log_line(entry))
        decisions = Counter(
            str(e.action)
            for e in entries
            if str(e.action)
            in ("draft.approved", "draft.edited", "draft.rejected", "draft.escalated")
        )
        total = sum(decisions.values())
        escalated = decisions["draft.escalated"]
        self.say("")
        self.say("Decisions: " + ", ".join(f"{k.split('.')[1]} {v}" for k, v in decisions.items()))
        if total:
            self.say(
                f"Escalation rate: {escalated / total:.0%} of {total} decisions "
                "(the packet is built to exercise escalations; the live target is 10-15 %)"
            )
        self.say("First row as exported:")
        self.say(json.dumps(row(entries[0]), ensure_ascii=False) if entries else "(none)")


def _indent(text: str) -> str:
    return "\n".join("    " + line for line in text.splitlines())


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


def _log_line(entry: LogEntry) -> str:
    actor = {OPERATOR.id: "olivia", MANAGER.id: "morgan"}.get(entry.actor, entry.actor)
    when = entry.created_at.strftime("%Y-%m-%d %H:%M:%S")
    return (
        f"{when:<20} {actor:<10} {entry.action!s:<20} {entry.outcome.value:<8} {entry.subject_id}"
    )


def demo_settings(tmp: Path, slack: SlackStandin, chatwoot: ChatwootStandin) -> Settings:
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
    )


async def run_demo(out: TextIO) -> int:
    out.write(
        "occ-bot demo: a rehearsal of the approval queue on embedded defaults\n"
        "(SQLite, offline drafting, loopback stand-ins for Slack and Chatwoot)\n\n"
    )
    with tempfile.TemporaryDirectory(prefix="occ-demo-") as tmp:
        async with (
            SlackStandin(users=(OPERATOR, MANAGER)) as slack,
            ChatwootStandin(agents=AGENTS) as chatwoot,
        ):
            services = await build_services(demo_settings(Path(tmp), slack, chatwoot))
            await services.store.migrate()
            app = create_app(services, bolt=create_bolt_app(services), run_jobs=False)
            try:
                async with StandinServer(app) as server, httpx.AsyncClient(timeout=30) as http:
                    rehearsal = Rehearsal(out, services, server.url, http, slack, chatwoot)
                    packet = [s for s in load_packet() if s.key.startswith(SCENARIO_PREFIXES)]
                    for scenario in packet:
                        await rehearsal.scenario(scenario)
                    await rehearsal.chatwoot_message()
                    await rehearsal.outage(packet[0])
                    await rehearsal.log()
            finally:
                await services.aclose()
    return 0
