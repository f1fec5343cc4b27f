"""The approval queue and its escalations, acts 1-3 of `occ-bot demo` (see `bot.demo.rehearsal`).

1. the scenario packet: each card posted, decided as the training expects (approved, edited,
   rejected, escalated, with a refusal), and what reached Chatwoot;
2. the Urgent escalation left unclaimed (`CHAINED`): reminded, stepped up the chain, claimed,
   resolved through the Resolve modal, and the operator's DM;
3. a Chatwoot message drafted; Chatwoot down during an approval, and Retry.
"""

from __future__ import annotations

import json

from bot.blocks.ids import ActionId, CallbackId, InputId
from bot.demo.stage import (
    INTAKE,
    MANAGER,
    OPERATOR,
    Stage,
    blocks_of,
    indented,
    initial_value,
    number_value,
    short,
)
from bot.demo.standins.interactions import select_value, text_value
from bot.domain import DecisionKind, Draft, Escalation
from bot.rules.chain import Level, LevelKind
from bot.rules.risk import requires_manager, suggested_escalation_type
from bot.scenarios import Scenario

CHAINED = "demo-3-triple-charge"  # its Urgent escalation is left unclaimed, to be reminded
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
RESOLUTION_REPLY = (
    "Hi Michael, I'm so sorry about the triple charge. I've refunded the two duplicate "
    "charges ($900.00) to your card today; you'll see them within 3-5 business days. "
    "The bug that caused it has been reported to our engineers."
)


class QueueActs(Stage):
    """Acts 1-3: the approval queue, the Urgent escalation up its chain, Chatwoot's message."""

    chained: Escalation | None = None  # the escalation left unclaimed, for act 2

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
            self.say(indented(self.view.view(self.opened_modal())))
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
                f"(message {message['id']}): {short(message['content'])}"
            )
        for note in self.chatwoot.private_notes(conversation):
            self.say(f"🗒 Private note on #{conversation}: {short(note['content'])}")
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
        self.say(indented(self.view.view(modal)))
        notes = initial_value(modal, InputId.ESCALATION_NOTES) or "See the card."
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

    # -- 2. an Urgent escalation: reminded, up the chain, claimed, resolved ----------------------

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
        self.say(indented(self.view.view(self.opened_modal())))
        self.say("▶ She fills it in and submits it")
        conversation = escalation.conversation_id
        replies_before = len(self.chatwoot.sent_replies(conversation)) if conversation else 0
        dms_before = len(self.slack.messages_in(OPERATOR.id))
        values = (
            text_value(InputId.RESOLUTION_SUMMARY, "Refunded the two duplicate charges in Shopify.")
            | select_value(InputId.RESOLUTION_OUTCOME, "refund")
            | number_value(InputId.RESOLUTION_AMOUNT, "900")
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
                    f"{short(reply['content'])}"
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

    # -- 3. a Chatwoot message; Chatwoot down during an approval ---------------------------------

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
            self.say(self.view.blocks(blocks_of(drafts[-1].args)))
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
