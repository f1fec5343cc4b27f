"""The team's other surfaces, acts 4-9 of `occ-bot demo` (see `bot.demo.rehearsal`).

4. a CX conversation past its SLA (the `cx-scan` job), its breach card marked resolved;
5. Sales Pulse (the `sales-pulse` job over the stand-in shop): an alert, its chart in its
   thread, acknowledged;
6. the Home tab and `/occ stats` after the decisions;
7. training: `/occ training start`, a card decided and scored;
8. the weekly digest (the `digest` job, the next Monday), with its charts;
9. the decision log.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import UTC, timedelta

from bot.blocks.ids import ActionId, CallbackId, InputId
from bot.blocks.text import percent
from bot.decision_log import export_row
from bot.demo.render import emoji
from bot.demo.stage import MANAGER, OPERATOR, PEOPLE, TRAINEE, Stage, indented
from bot.demo.standins.interactions import select_value, text_value
from bot.domain import LogEntry
from bot.flows.digest import build_digest, write_digest
from bot.rules.periods import period_start

# The shop's orders by this hour, from 7 days ago to today.
ORDERS_BY_DAY = (18, 22, 19, 21, 20, 23, 17, 8)


class TeamActs(Stage):
    """Acts 4-9: the CX SLA, Sales Pulse, the numbers, training, the digest and the log."""

    # -- 4. a CX conversation past its SLA -------------------------------------------------------

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
            self.say(indented(self.view.view(self.opened_modal())))
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

    # -- 5. Sales Pulse --------------------------------------------------------------------------

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

    # -- 6. the Home tab and /occ stats ---------------------------------------------------------

    async def home_and_stats(self) -> None:
        self.clock.now = max(self.clock.now, self.clock.now.replace(hour=17, minute=30))
        self.heading(
            "The Home tab and /occ stats, at the end of the day",
            f"{self.when(self.clock())}: the App Home tab, as each of them sees it.",
        )
        for user, role in ((OPERATOR, "an operator"), (MANAGER, "a manager")):
            self.say(f"▶ {user.real_name} ({role}) opens occ-bot's Home tab:\n")
            self.say(indented(await self.open_home(user)))
            self.say("")
        self.say(f"▶ {OPERATOR.real_name} types /occ stats (only she sees the answer):\n")
        self.say(indented(await self.command(OPERATOR, "stats")))
        self.say("")

    # -- 7. training -----------------------------------------------------------------------------

    async def training(self) -> None:
        channel = self.services.settings.training_channel
        self.heading(
            "Training: a new operator practises on the packet",
            "TRAINING cards go to their own channel; nothing reaches a customer or a manager, "
            "and the team's numbers count none of it.",
        )
        self.say(f"▶ {TRAINEE.real_name} types /occ training start:\n")
        self.say(indented(await self.command(TRAINEE, "training start")))
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
            self.say(indented(text))
        replies = sum(len(self.chatwoot.sent_replies(c)) for c in conversations) - replies
        self.say(f"\nReplies sent to customers from training: {replies}")
        self.say("")

    # -- 8. the weekly digest --------------------------------------------------------------------

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

    # -- 9. the decision log ---------------------------------------------------------------------

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


def _log_line(entry: LogEntry) -> str:
    actor = {user.id: user.name for user in PEOPLE}.get(entry.actor, entry.actor)
    when = entry.created_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
    return (
        f"{when:<20} {actor:<10} {entry.action!s:<22} {entry.outcome.value:<8} {entry.subject_id}"
    )
