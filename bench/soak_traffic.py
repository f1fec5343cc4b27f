"""The soak's mixed traffic, all through the load balancer, as the real senders send it:

- **customers** write in Chatwoot: each message is stored in the Chatwoot stand-in and its
  ``message_created`` webhook delivered to ``/webhooks/chatwoot`` (a delivery that fails is
  delivered again, 1, 2, 4 … s later; none while Chatwoot is cut off, since Chatwoot is down);
- **operators** find the cards in the approvals channel, as they would in Slack, and click
  through them one at a time: Approve, or Escalate (Urgent) and submit the modal Slack opened,
  each time waiting until the card changes (or they are told something) before the next; on a
  tenth of the cards a second operator clicks Approve at the same moment;
- **escalations fall due** (Urgent, a short SLA): a **manager** claims each one once its first
  reminder is in the thread, and clicks again when told the claim was not recorded;
- **Sales Pulse** runs on the replicas' schedule; the shop's stock of one top seller after
  another runs out and is restocked, so that alerts open and clear while replicas die.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from bench.common import INTAKE_TOKEN, operator
from bench.soak_clicks import Click, button_body, escalate_body, send
from bench.soak_control import SoakStandins
from bench.soak_standins import SKUS, STOCK
from bot.blocks.ids import ActionId, CallbackId
from bot.scenarios import load_packet

CUSTOMER_TEXTS = (  # drafts with no risk flag: any operator may approve them
    "demo-1-order-status",
    "exercise-1-international-shipping",
    "exercise-3-wrong-return-window",
    "practice-1-return-policy",
)
FIRST_CONVERSATION = 300_000
CARD_WAIT_SECONDS = 30.0  # an operator waits this long for the card to change, then moves on
MODAL_WAIT_SECONDS = 5.0
CLAIM_WAIT_SECONDS = 30.0
WEBHOOK_RETRY_SECONDS = (1, 2, 4, 8, 16, 32)
POLL_SECONDS = 0.3
MANAGER = operator(20)[0]


@dataclass
class TrafficPlan:
    operators: int = 6
    messages_per_second: float = 2.0
    escalate_share: float = 0.1
    double_click_share: float = 0.1
    stock_every_seconds: float = 120.0  # a top seller runs out (and the last one restocks)
    # An operator reads each card this long before clicking: together they keep up with the
    # customers, so clicks go on through every fault rather than in bursts between them.
    reading_seconds: tuple[float, float] = (1.5, 3.5)
    seed: int = 21


@dataclass
class Webhook:
    conversation: int
    attempts: list[tuple[float, int | None]] = field(default_factory=list)

    @property
    def delivered(self) -> bool:
        return any(status is not None and 200 <= status < 300 for _, status in self.attempts)


@dataclass
class Seen:
    """What the soak has found in Slack so far, by metadata."""

    cards: dict[str, tuple[str, str]] = field(default_factory=dict)  # draft → (channel, ts)
    escalations: dict[str, tuple[str, str]] = field(default_factory=dict)
    escalation_by_ts: dict[str, str] = field(default_factory=dict)
    reminded: dict[str, float] = field(default_factory=dict)  # escalation → first reminder
    next_post: int = 0


class Traffic:
    def __init__(
        self, url: str, standins: SoakStandins, plan: TrafficPlan, chatwoot_cut: asyncio.Event
    ) -> None:
        self.url = url.rstrip("/")
        self.standins = standins
        self.plan = plan
        self.chatwoot_cut = chatwoot_cut
        self.random = random.Random(plan.seed)
        self.seen = Seen()
        self.open_cards: asyncio.Queue[str] = asyncio.Queue()
        self.to_claim: asyncio.Queue[str] = asyncio.Queue()
        self.clicks: list[Click] = []
        self.webhooks: list[Webhook] = []
        self.modals_not_opened = 0
        self.stock_changes: list[tuple[float, str, int]] = []
        self._texts = [s.draft.customer_message for s in load_packet() if s.key in CUSTOMER_TEXTS]
        self._conversations = itertools.count(FIRST_CONVERSATION)
        self._http: aiohttp.ClientSession | None = None
        self._customers_done = False
        self._busy = 0  # people in the middle of a click

    @property
    def http(self) -> aiohttp.ClientSession:
        assert self._http is not None
        return self._http

    async def run(self, generate_until: float, settle_until: float) -> None:
        """Customers write until `generate_until`; people act on what is open until every
        card is decided and every reminded escalation claimed, or `settle_until`."""
        connector = aiohttp.TCPConnector(limit=100)
        timeout = aiohttp.ClientTimeout(total=30)
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as self._http:
            workers = [
                self._customers(generate_until),
                self._shop(generate_until),
                self._watch(settle_until),
                self._manager(settle_until),
                *(self._operator(n + 1, settle_until) for n in range(self.plan.operators)),
            ]
            await asyncio.gather(*workers)

    # -- customers -------------------------------------------------------------------------

    async def _customers(self, until: float) -> None:
        gap = 1.0 / self.plan.messages_per_second
        deliveries: set[asyncio.Task[None]] = set()
        try:
            await self._write(until, gap, deliveries)
        finally:
            await asyncio.gather(*deliveries)
            self._customers_done = True

    async def _write(self, until: float, gap: float, deliveries: set[asyncio.Task[None]]) -> None:
        next_at = time.time()
        while time.time() < until:
            if self.chatwoot_cut.is_set():  # Chatwoot is down: no message, no webhook
                await asyncio.sleep(0.2)
                next_at = time.time()
                continue
            conversation = next(self._conversations)
            text = self._texts[conversation % len(self._texts)]
            event = await self.standins.customer_message(
                conversation, text, f"Customer {conversation}"
            )
            task = asyncio.create_task(self._deliver(Webhook(conversation), event))
            deliveries.add(task)
            task.add_done_callback(deliveries.discard)
            next_at += gap
            await asyncio.sleep(max(0.0, next_at - time.time()))

    async def _deliver(self, webhook: Webhook, event: dict[str, Any]) -> None:
        self.webhooks.append(webhook)
        url = f"{self.url}/webhooks/chatwoot?token={INTAKE_TOKEN}"
        for wait in (*WEBHOOK_RETRY_SECONDS, None):
            status: int | None
            try:
                async with self.http.post(url, json=event) as response:
                    await response.read()
                    status = response.status
            except (aiohttp.ClientError, TimeoutError, OSError):
                status = None
            webhook.attempts.append((time.time(), status))
            if webhook.delivered or wait is None:
                return
            await asyncio.sleep(wait)

    # -- what is in Slack ------------------------------------------------------------------

    async def _watch(self, until: float) -> None:
        while time.time() < until and not self.done():
            await self.poll_posts()
            await asyncio.sleep(POLL_SECONDS)

    async def poll_posts(self) -> None:
        posts, self.seen.next_post = await self.standins.posts(self.seen.next_post)
        for post in posts:
            kind, key, where = post["event_type"], post["id"], (post["channel"], post["ts"])
            if kind == "occ_card" and key not in self.seen.cards:
                self.seen.cards[key] = where
                self.open_cards.put_nowait(key)
            elif kind == "occ_escalation" and key not in self.seen.escalations:
                self.seen.escalations[key] = where
                self.seen.escalation_by_ts[post["ts"]] = key
            elif kind == "occ_reminder":
                escalation = self.seen.escalation_by_ts.get(str(post["thread_ts"]))
                if escalation is not None and escalation not in self.seen.reminded:
                    self.seen.reminded[escalation] = post["at"]
                    self.to_claim.put_nowait(escalation)

    def done(self) -> bool:
        """Customers have stopped, every delivered message's card has been found and taken,
        and every escalation found has been reminded and claimed."""
        delivered = sum(w.delivered for w in self.webhooks)
        return (
            self._customers_done
            and len(self.seen.cards) >= delivered
            and self.open_cards.empty()
            and set(self.seen.escalations) <= set(self.seen.reminded)
            and self.to_claim.empty()
            and self._busy == 0
        )

    # -- operators -------------------------------------------------------------------------

    async def _operator(self, n: int, until: float) -> None:
        user = operator(n)[0]
        other = operator(n % self.plan.operators + 1)[0]
        while time.time() < until and not self.done():
            try:
                draft = await asyncio.wait_for(self.open_cards.get(), timeout=1.0)
            except TimeoutError:
                continue
            self._busy += 1
            try:
                await asyncio.sleep(self.random.uniform(*self.plan.reading_seconds))
                await self._decide(user, other, draft)
            finally:
                self._busy -= 1

    async def _decide(self, user: str, other: str, draft: str) -> None:
        roll = self.random.random()
        if roll < self.plan.escalate_share:
            await self._escalate(user, draft)
        elif roll < self.plan.escalate_share + self.plan.double_click_share and other != user:
            await asyncio.gather(self._approve(user, draft), self._approve(other, draft, True))
        else:
            await self._approve(user, draft)

    async def _approve(self, user: str, draft: str, second: bool = False) -> None:
        channel, ts = self.seen.cards[draft]
        click = Click("approve", draft, user, channel, ts, second=second)
        self.clicks.append(click)

        async def body() -> str:
            return button_body(
                user=user,
                action_id=ActionId.APPROVE.value,
                value=draft,
                channel=channel,
                ts=ts,
                trigger_id=None,
            )

        await self._click_and_watch(click, body, CARD_WAIT_SECONDS)

    async def _escalate(self, user: str, draft: str) -> None:
        """Escalate opens the modal Slack shows; its submission is the decision. A modal
        that never opens (its replica died, its trigger expired) is clicked for again."""
        channel, ts = self.seen.cards[draft]
        for _ in range(3):
            trigger = await self.standins.trigger()
            opening = Click("open-escalate", draft, user, channel, ts)

            async def body(trigger: str = trigger) -> str:
                return button_body(
                    user=user,
                    action_id=ActionId.ESCALATE.value,
                    value=draft,
                    channel=channel,
                    ts=ts,
                    trigger_id=trigger,
                )

            if not await send(self.http, self._events, opening, body):
                continue
            view = await self.standins.view_opened(trigger, MODAL_WAIT_SECONDS)
            if view.get("callback_id") != CallbackId.ESCALATE.value:
                self.modals_not_opened += 1
                continue
            click = Click("escalate", draft, user, channel, ts)
            self.clicks.append(click)
            metadata = str(view["private_metadata"])

            async def submission(metadata: str = metadata) -> str:
                return escalate_body(user=user, private_metadata=metadata)

            await self._click_and_watch(click, submission, CARD_WAIT_SECONDS)
            return

    # -- the manager -----------------------------------------------------------------------

    async def _manager(self, until: float) -> None:
        while time.time() < until and not self.done():
            try:
                escalation = await asyncio.wait_for(self.to_claim.get(), timeout=1.0)
            except TimeoutError:
                continue
            self._busy += 1
            try:
                await self._claim(escalation, until)
            finally:
                self._busy -= 1

    async def _claim(self, escalation: str, until: float) -> None:
        channel, ts = self.seen.escalations[escalation]
        for _ in range(5):
            click = Click("claim", escalation, MANAGER, channel, ts)
            self.clicks.append(click)

            async def body() -> str:
                return button_body(
                    user=MANAGER,
                    action_id=ActionId.CLAIM.value,
                    value=escalation,
                    channel=channel,
                    ts=ts,
                    trigger_id=None,
                )

            await self._click_and_watch(click, body, CLAIM_WAIT_SECONDS)
            if click.seen != "ephemeral" or time.time() > until:
                return  # claimed (the message changed), or nothing said: nothing to redo
            await asyncio.sleep(2.0)  # told it was not recorded: click again

    # -- the shop --------------------------------------------------------------------------

    async def _shop(self, until: float) -> None:
        """Every `stock_every_seconds` the next top seller runs out, the one before is
        restocked: a low-stock alert opens, the last one clears."""
        for n in itertools.count():
            if time.time() + self.plan.stock_every_seconds > until:
                return
            await asyncio.sleep(self.plan.stock_every_seconds)
            sku, previous = f"SKU-{n % SKUS:02d}", f"SKU-{(n - 1) % SKUS:02d}"
            await self.standins.shop_stock(sku, 0)
            self.stock_changes.append((time.time(), sku, 0))
            if n > 0:
                await self.standins.shop_stock(previous, STOCK)
                self.stock_changes.append((time.time(), previous, STOCK))

    # -- sending ---------------------------------------------------------------------------

    @property
    def _events(self) -> str:
        return f"{self.url}/slack/events"

    async def _click_and_watch(
        self, click: Click, body: Callable[[], Awaitable[str]], wait: float
    ) -> None:
        if not await send(self.http, self._events, click, body):
            return
        acked = click.acked
        assert acked is not None
        seen = await self.standins.wait_change(
            click.channel, click.ts, since=acked.sent_at - 0.001, user=click.user, timeout=wait
        )
        if seen.get("ephemeral") is not None:
            click.seen, click.ephemeral = "ephemeral", seen["ephemeral"]
        elif seen.get("updated") is not None:
            click.seen = "updated"
