"""Who may press each button, submit each modal and run each `/occ` subcommand: the table
`MATRIX`, every cell of it a signed Slack request through the running app.

The roles, with OCC_OPERATORS listing the operator alone and OCC_MANAGERS the manager alone:

- **operator**: in OCC_OPERATORS.
- **outsider** (a non-operator): in the workspace, in neither list.
- **manager**: in OCC_MANAGERS only (a manager may always act on drafts).
- **trainee** and **other trainee**: each with a round of training cards of their own, and in
  neither list. A trainee is an operator in training, not yet trusted with live customers: on
  everything but their own training cards they are outsiders, and the matrix shows it. A
  "(training card)" row acts on *the trainee's* cards, so "other trainee" is a trainee acting
  on someone else's.

What a cell expects:

- ``OK``, allowed: what the interaction is for happened (the decision stored and the reply in
  the Chatwoot stand-in, the modal opened, the claim or resolution recorded, the response
  recorded on the alert, the `/occ` answer given), and no `refused` row was logged.
- ``NO``, refused: the user alone was told why (an ephemeral message or a direct message; the
  `/occ` answer itself), and nothing else changed: the subject as stored, no modal, no card
  or message updated, nothing posted to a channel, no request to the Chatwoot stand-in (so
  nothing reaches the customer), no log row but the user's one `refused` row (`/occ` logs
  none).

Each row is a test (a fresh bot; for the Sales Pulse rows with the Shopify stand-in, the
alerts made by the sales-pulse job); each cell a subtest named "<row> × <role>", acting on a
subject of its own (a draft, an escalation, an alert...) made just before, so cells do not
see each other's effects. Every ActionId, CallbackId and `/occ` subcommand must have a row:
`test_every_interaction_has_a_row` fails, naming it, when a new one has none.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.blocks.ids import ActionId, CallbackId, InputId
from bot.demo.standins.chatwoot import ChatwootStandin
from bot.demo.standins.shopify import DEFAULT_TOKEN, ShopifyStandin
from bot.demo.standins.slack import SlackStandin, SlackUser
from bot.domain import (
    DecisionKind,
    DeliveryStatus,
    Draft,
    DraftState,
    Escalation,
    EscalationState,
    SalesAlert,
    SalesResponseKind,
    SlackRef,
    Verdict,
)
from bot.flows.occ_command import SUBCOMMANDS
from bot.jobs import JOBS
from bot.scenarios import Scenario
from tests.harness import (
    MANAGER,
    OPERATOR,
    OUTSIDER,
    SECOND_OPERATOR,
    BotUnderTest,
    FakeClock,
    real_block_action,
    real_slash_command,
    real_view_submission,
    settings_for,
    text_value,
)
from tests.sales_pulse.test_rules_sales import NEW_YORK, same_hours

TRAINEE, OTHER_TRAINEE = "U0TRAINEE1", "U0TRAINEE2"
ROLES: dict[str, str] = {
    "operator": OPERATOR,
    "outsider": OUTSIDER,
    "manager": MANAGER,
    "trainee": TRAINEE,
    "other trainee": OTHER_TRAINEE,
}
OK, NO = "allowed", "refused"

# A row: (the ActionId, CallbackId or /occ subcommand, what it is used on).
Key = tuple[str, str]

# fmt: off
MATRIX: dict[Key, tuple[str, str, str, str, str]] = {
    # interaction, on what                                     operator
    #                                                          |   outsider
    #                                                          |   |   manager
    #                                                          |   |   |   trainee
    #                                                          |   |   |   |   other trainee
    (ActionId.APPROVE, "draft"):                              (OK, NO, OK, NO, NO),
    (ActionId.EDIT, "draft"):                                 (OK, NO, OK, NO, NO),
    (ActionId.REJECT, "draft"):                               (OK, NO, OK, NO, NO),
    (ActionId.ESCALATE, "draft"):                             (OK, NO, OK, NO, NO),
    (CallbackId.EDIT, "draft"):                               (OK, NO, OK, NO, NO),
    (CallbackId.REJECT, "draft"):                             (OK, NO, OK, NO, NO),
    (CallbackId.ESCALATE, "draft"):                           (OK, NO, OK, NO, NO),
    # A draft the rules say must be escalated: sending it is for managers.
    (ActionId.APPROVE, "must-escalate draft"):                (NO, NO, OK, NO, NO),
    (ActionId.EDIT, "must-escalate draft"):                   (NO, NO, OK, NO, NO),
    (CallbackId.EDIT, "must-escalate draft"):                 (NO, NO, OK, NO, NO),
    (CallbackId.ESCALATE, "must-escalate draft"):             (OK, NO, OK, NO, NO),
    # The trainee's training card: theirs alone, whoever else clicks.
    (ActionId.APPROVE, "training card"):                      (NO, NO, NO, OK, NO),
    (ActionId.EDIT, "training card"):                         (NO, NO, NO, OK, NO),
    (ActionId.REJECT, "training card"):                       (NO, NO, NO, OK, NO),
    (ActionId.ESCALATE, "training card"):                     (NO, NO, NO, OK, NO),
    (CallbackId.EDIT, "training card"):                       (NO, NO, NO, OK, NO),
    (CallbackId.REJECT, "training card"):                     (NO, NO, NO, OK, NO),
    (CallbackId.ESCALATE, "training card"):                   (NO, NO, NO, OK, NO),
    (ActionId.RETRY, "failed reply"):                         (OK, NO, OK, NO, NO),
    # A sent reply: the operator who sent it may correct it, and managers.
    (ActionId.CORRECT, "sent reply"):                         (OK, NO, OK, NO, NO),
    (CallbackId.CORRECTION, "sent reply"):                    (OK, NO, OK, NO, NO),
    (ActionId.CORRECT, "manager's sent reply"):               (NO, NO, OK, NO, NO),
    (CallbackId.CORRECTION, "manager's sent reply"):          (NO, NO, OK, NO, NO),
    (ActionId.MARK_RESOLVED, "CX breach card"):               (OK, NO, OK, NO, NO),
    (ActionId.CLAIM, "open escalation"):                      (NO, NO, OK, NO, NO),
    (ActionId.RESOLVE, "claimed escalation"):                 (NO, NO, OK, NO, NO),
    (CallbackId.RESOLVE, "claimed escalation"):               (NO, NO, OK, NO, NO),
    # Sales Pulse alerts: anyone in the sales channel, once per alert.
    (ActionId.SALES_ACKNOWLEDGE, "low-stock alert"):          (OK, OK, OK, OK, OK),
    (ActionId.SALES_REORDER, "low-stock alert"):              (OK, OK, OK, OK, OK),
    (ActionId.SALES_NOTIFY_LEAD, "order-spike alert"):        (OK, OK, OK, OK, OK),
    (ActionId.SALES_PAGE_MANAGER, "fulfillment-delay alert"): (OK, OK, OK, OK, OK),
    (ActionId.SALES_FOLLOWUP, "revenue-drop alert"):          (OK, OK, OK, OK, OK),
    (CallbackId.SALES_FOLLOWUP, "revenue-drop alert"):        (OK, OK, OK, OK, OK),
    # QA review: a sent reply's card in a manager's DM; only managers mark it.
    (ActionId.QA_GOOD, "sent reply"):                         (NO, NO, OK, NO, NO),
    (ActionId.QA_COACH, "sent reply"):                        (NO, NO, OK, NO, NO),
    (CallbackId.QA_COACH, "sent reply"):                      (NO, NO, OK, NO, NO),
    # /occ: the queue names customers; someone else's numbers, training or the log are for
    # managers.
    ("queue", ""):                                            (OK, NO, OK, NO, NO),
    ("stats", ""):                                            (OK, OK, OK, OK, OK),
    ("stats", "@someone else"):                               (NO, NO, OK, NO, NO),
    ("export", ""):                                           (NO, NO, OK, NO, NO),
    # Sales Pulse's numbers, like the queue, are for operators and managers.
    ("pulse", ""):                                            (OK, NO, OK, NO, NO),
    # The CX breaches name customers, like the queue.
    ("cx", ""):                                               (OK, NO, OK, NO, NO),
    ("training", "start"):                                    (OK, OK, OK, OK, OK),
    ("training", "start @someone else"):                      (NO, NO, OK, NO, NO),
    ("training", "report"):                                   (OK, OK, OK, OK, OK),
    ("training", "report @someone else"):                     (NO, NO, OK, NO, NO),
    ("review", ""):                                           (NO, NO, OK, NO, NO),
    ("help", ""):                                             (OK, OK, OK, OK, OK),
}
# fmt: on


def label(key: Key) -> str:
    interaction, what = key
    if interaction in SUBCOMMANDS:
        return f"/occ {interaction} {what}".strip()
    return f"{interaction} ({what})"


# --- the running bot and the world around it ----------------------------------------------------

# 15:00 in New York, the Shopify stand-in's time zone, for the Sales Pulse rows.
SALES_NOW = datetime(2026, 12, 3, 20, 0, tzinfo=UTC)
TRAINEES = [
    SlackUser(TRAINEE, "tina", "Tina Trainee", "tina@example.com"),
    SlackUser(OTHER_TRAINEE, "theo", "Theo Trainee", "theo@example.com"),
]


@dataclass
class World:
    bot: BotUnderTest
    slack: SlackStandin
    chatwoot: ChatwootStandin
    scenarios: dict[str, Scenario]
    shop: ShopifyStandin | None = None
    numbers: itertools.count[int] = field(default_factory=lambda: itertools.count(9001))
    made: dict[str, Any] = field(default_factory=dict)  # what a row's cells share

    async def draft(self, scenario: str) -> Draft:
        """A new card for the scenario's draft, in a conversation of its own."""
        n = next(self.numbers)
        payload = self.scenarios[scenario].payload | {
            "conversation_id": n,
            "external_id": f"matrix-{n}",
        }
        return await self.bot.posted_draft(payload)


@asynccontextmanager
async def world(
    sqlite_url: str,
    slack: SlackStandin,
    chatwoot: ChatwootStandin,
    scenarios: dict[str, Scenario],
    *,
    sales: bool,
) -> AsyncIterator[World]:
    for person in TRAINEES:
        slack.add_user(person)
    people = {"OCC_OPERATORS": OPERATOR, "OCC_MANAGERS": MANAGER}
    if not sales:
        settings = settings_for(sqlite_url, slack, chatwoot, **people)
        bot = await BotUnderTest(settings, FakeClock()).start()
        try:
            yield World(bot, slack, chatwoot, scenarios)
        finally:
            await bot.stop()
        return
    # A Shopify Plus-sized query budget, restored fast: a row runs the pulse once per cell,
    # and the throttle is not what is tested here.
    async with ShopifyStandin(
        timezone="America/New_York", maximum=20_000.0, restore_rate=20_000.0
    ) as shop:
        settings = settings_for(
            sqlite_url,
            slack,
            chatwoot,
            shopify_shop=shop.url,
            shopify_admin_token=DEFAULT_TOKEN,
            OCC_FULFILLMENT_LEAD=SECOND_OPERATOR,
            OCC_FULFILLMENT_MANAGER=SECOND_OPERATOR,
            **people,
        )
        bot = await BotUnderTest(settings, FakeClock(SALES_NOW)).start()
        try:
            yield World(bot, slack, chatwoot, scenarios, shop)
        finally:
            await bot.stop()


# --- one cell: the world just before, and what changed ----------------------------------------


@dataclass
class Cell:
    user: str
    subject: Any  # what the user acts on (a Draft, Escalation, SalesAlert; for /occ, a person)
    stored: Any  # the subject as stored just before
    log_ids: set[str]
    counts: dict[str, int]  # Slack calls, ephemerals, files and Chatwoot posts so far
    ephemerals: int  # ephemerals shown to the user so far
    dms: int  # the app's direct messages to the user so far
    answer: str | None = None  # the /occ answer

    def new(self, world: World, method: str) -> list[Any]:
        return world.slack.calls(method)[self.counts[method] :]


WATCHED = ("views.open", "views.update", "chat.update", "chat.postMessage", "response_url")


def dm_channels(world: World, user: str) -> set[str]:
    return {user, world.slack.channel_id(user)}


async def before(world: World, user: str, subject: Any) -> Cell:
    counts = {method: len(world.slack.calls(method)) for method in WATCHED}
    counts["chatwoot POST"] = len(world.chatwoot.requests("POST"))
    counts["ephemerals"] = len(world.slack.ephemerals())
    counts["files"] = len(world.slack.files())
    return Cell(
        user=user,
        subject=subject,
        stored=await stored(world, subject),
        log_ids={e.id for e in await world.bot.store.entries()},
        counts=counts,
        ephemerals=len(world.slack.ephemerals(user)),
        dms=len(world.slack.messages_in(user)),
    )


async def stored(world: World, subject: Any) -> Any:
    store = world.bot.store
    if isinstance(subject, ReviewItem):
        return await store.qa_review(subject.id)
    if isinstance(subject, Draft):
        return await store.get_draft(subject.id)
    if isinstance(subject, Escalation):
        return await store.get_escalation(subject.id)
    if isinstance(subject, SalesAlert):
        return await store.get_sales_alert(subject.id)
    return None


def told(world: World, cell: Cell) -> list[str]:
    """What the user alone was shown since the cell began: ephemerals and direct messages."""
    shown = world.slack.ephemerals(cell.user)[cell.ephemerals :]
    shown += world.slack.messages_in(cell.user)[cell.dms :]
    return [m.get("text", "") for m in shown]


async def new_log(world: World, cell: Cell) -> list[Any]:
    return [e for e in await world.bot.store.entries() if e.id not in cell.log_ids]


def opened_view(world: World, cell: Cell) -> dict[str, Any]:
    [call] = cell.new(world, "views.open")
    view = call.args["view"]
    return json.loads(view) if isinstance(view, str) else view


async def assert_refused(world: World, row: Row, cell: Cell) -> None:
    sent = world.chatwoot.requests("POST")[cell.counts["chatwoot POST"] :]
    assert sent == [], f"Chatwoot was sent {[r.path for r in sent]}: it may reach the customer"
    assert await stored(world, cell.subject) == cell.stored, "the subject changed"
    for method in ("views.open", "views.update", "chat.update"):
        assert cell.new(world, method) == [], f"{method} was called"
    posted = [
        c.args.get("channel")
        for c in cell.new(world, "chat.postMessage")
        if c.args.get("channel") not in dm_channels(world, cell.user)
    ]
    assert posted == [], f"posted to {posted}"
    assert len(world.slack.files()) == cell.counts["files"], "a file was shared"
    logged = [(e.actor, str(e.action), e.outcome) for e in await new_log(world, cell)]
    assert all(outcome == "refused" for *_, outcome in logged), f"logged {logged}"
    expected = 1 if row.logs_refusal else 0
    assert [actor for actor, *_ in logged] == [cell.user] * expected, f"logged {logged}"
    # Told why, and nobody else told anything.
    assert row.why is not None, "a refused cell needs the row's `why`: what the user is told"
    why = row.why(cell.user) if callable(row.why) else row.why
    shown = told(world, cell)
    if cell.answer is not None:  # /occ: the answer is the refusal
        assert why in cell.answer, f"the answer was not a refusal: {cell.answer!r}"
        assert shown == [], f"also told: {shown}"
    else:
        assert len(shown) == 1 and why in shown[0], f"told {shown}, not {why!r}"
    others = (
        len(world.slack.ephemerals())
        - cell.counts["ephemerals"]
        - (len(world.slack.ephemerals(cell.user)) - cell.ephemerals)
    )
    assert others == 0, "someone else was shown something"


async def assert_allowed(world: World, row: Row, cell: Cell) -> None:
    refused = [e for e in await new_log(world, cell) if e.outcome == "refused"]
    assert refused == [], (
        f"refused: {[(e.actor, e.payload) for e in refused]}; told {told(world, cell)}"
    )
    await row.done(world, cell)


# --- the rows: what each acts on, how, and what "allowed" looks like ---------------------------

Subject = Callable[[World, str], Awaitable[Any]]
Act = Callable[[World, Any, str], Awaitable[str | None]]
Done = Callable[[World, Cell], Awaitable[None]]


@dataclass(frozen=True)
class Row:
    subject: Subject  # makes what this role acts on
    act: Act  # the signed request (the /occ answer, for a subcommand)
    done: Done  # the effect, when allowed
    why: str | Callable[[str], str] | None = None  # what a refused user is told (a phrase)
    logs_refusal: bool = True  # a refusal leaves the user's `refused` row in the log
    sales: bool = False  # needs the Shopify stand-in


NOT_AN_OPERATOR = "Only the operators listed in OCC_OPERATORS can act on drafts."
RESERVED = "Sending it is reserved for managers"
NOT_THEIRS = f"This training card is <@{TRAINEE}>'s to decide."
EDITED = "Hi Susan, it ships today: tracking follows by email."
CUSTOMER_REPLY = "We've refunded the duplicate charges; sorry for the trouble!"
CORRECTION = "A correction: it ships tomorrow, not today."
NOT_THE_SENDER = "who sent this reply, or a manager"
ONLY_MANAGERS_REVIEW = "Only managers (OCC_MANAGERS) review replies"
COACHING_NOTE = "Check the order date first."


def must_escalate_why(user: str) -> str:
    return RESERVED if user == OPERATOR else NOT_AN_OPERATOR


# What each role acts on.


async def plain_draft(world: World, user: str) -> Draft:
    return await world.draft("demo-1-order-status")  # no risk flags: only who matters


async def must_escalate_draft(world: World, user: str) -> Draft:
    return await world.draft("demo-3-triple-charge")  # $1,350 at stake: must be escalated


async def training_card(world: World, user: str) -> Draft:
    """One of the trainee's cards, a new one for each cell; the other trainee has a round of
    their own."""
    await trainees_trained(world, user)
    used = world.made.setdefault("cards used", set())
    cards = await world.bot.store.training_cards(TRAINEE)
    card = next(c for c in cards if c.id not in used and c.card is not None)
    used.add(card.id)
    return card


async def failed_reply(world: World, user: str) -> Draft:
    draft = await world.draft("demo-1-order-status")
    world.chatwoot.down(503)
    await world.bot.click(ActionId.APPROVE, draft, OPERATOR)
    await world.bot.settle()
    world.chatwoot.up()
    failed = await world.bot.store.get_draft(draft.id)
    assert failed.reply.status is DeliveryStatus.FAILED
    return failed


def sent_by(sender: str) -> Subject:
    """A draft whose reply ``sender`` approved and Chatwoot took."""

    async def sent_reply(world: World, user: str) -> Draft:
        draft = await world.draft("demo-1-order-status")
        await world.bot.click(ActionId.APPROVE, draft, sender)
        await world.bot.settle()
        sent = await world.bot.store.get_draft(draft.id)
        assert sent.reply.status is DeliveryStatus.SENT
        return sent

    return sent_reply


async def open_escalation(world: World, user: str) -> Escalation:
    draft = await world.draft("demo-3-triple-charge")
    await world.bot.submit_escalation(
        draft.id, OPERATOR, type="high_value", urgency="high", notes="Three charges."
    )
    await world.bot.settle()
    escalation = await world.bot.store.escalation_for_draft(draft.id)
    assert escalation is not None and escalation.message is not None
    return escalation


async def claimed_escalation(world: World, user: str) -> Escalation:
    escalation = await open_escalation(world, user)
    await world.bot.click_escalation(ActionId.CLAIM, escalation, MANAGER)
    await world.bot.settle()
    claimed = await world.bot.store.get_escalation(escalation.id)
    assert claimed.state is EscalationState.CLAIMED
    return claimed


async def breach_card(world: World, user: str) -> Draft:
    """A CX breach card: a customer in Chatwoot unanswered for 75 minutes, found by the scan."""
    n = next(world.numbers)
    world.chatwoot.add_incoming(
        n,
        "Where is my order?",
        contact_name="Dana Whitfield",
        contact_email="dana@example.com",
        created_at=int(time.time() - 75 * 60),
    )
    await JOBS["cx-scan"].run(world.bot.services)
    await world.bot.settle()
    breached = [
        e.subject_id for e in await world.bot.store.entries() if e.action == "cx.sla_breached"
    ]
    cards = [await world.bot.store.get_draft(i) for i in breached]
    [card] = [c for c in cards if c.input.conversation_id == n]
    assert card.card is not None
    return card


# Sales Pulse alerts, from the Shopify stand-in through the sales-pulse job.


def orders_on(shop: ShopifyStandin, back: int, count: int, sku: str, first: int = 0) -> None:
    """``count`` $50 orders ``back`` days ago, within the hours of the day so far."""
    start, _ = same_hours(SALES_NOW, NEW_YORK, back)
    for i in range(first, first + count):
        shop.add_order(start + timedelta(hours=2, minutes=i), 50.0, line_items=[(sku, 1)])
    shop.sort_orders()


async def pulse(world: World) -> None:
    await JOBS["sales-pulse"].run(world.bot.services)
    await world.bot.settle()


async def newest_alert(world: World, condition: str) -> SalesAlert:
    opened = [e.subject_id for e in await world.bot.store.entries() if e.action == "sales.alert"]
    alerts = [await world.bot.store.get_sales_alert(i) for i in opened]
    alert = [a for a in alerts if a.condition == condition][-1]
    assert alert.message is not None
    return alert


def fresh(world: World, alert: SalesAlert) -> SalesAlert:
    """The alert, which no earlier cell has had."""
    seen = world.made.setdefault("alerts", set())
    assert alert.id not in seen, "the condition was not alerted again"
    seen.add(alert.id)
    return alert


async def low_stock_alert(world: World, user: str) -> SalesAlert:
    """Five SKUs below their reorder point, one alert each: a cell takes one."""
    if "low stock" not in world.made:
        assert world.shop is not None
        skus = [f"SKU-LOW{n}" for n in range(len(ROLES))]
        for sku in skus:
            for back in range(1, 8):
                orders_on(world.shop, back, 1, sku)  # a few a day: too few to judge revenue
            world.shop.add_variant(sku, 2, product_title=sku, reorder_point=8)
        await pulse(world)
        world.made["low stock"] = [await newest_alert(world, f"low_stock:{sku}") for sku in skus]
    return world.made["low stock"].pop(0)


# Orders today against 20 a day: each level is half as bad again as the one before, so each
# cell gets a new alert (the earlier one superseded).
SPIKE_LEVELS = (30, 38, 48, 64, 88)


async def order_spike_alert(world: World, user: str) -> SalesAlert:
    assert world.shop is not None
    today = world.made.get("orders today", 0)
    if today == 0:
        for back in range(1, 8):
            orders_on(world.shop, back, 20, "SKU-HOODIE")
        world.shop.add_variant("SKU-HOODIE", 10_000)
    level = SPIKE_LEVELS[world.made.get("spikes", 0)]
    orders_on(world.shop, 0, level - today, "SKU-HOODIE", first=today)
    world.made["orders today"], world.made["spikes"] = level, world.made.get("spikes", 0) + 1
    await pulse(world)
    return fresh(world, await newest_alert(world, "order_spike"))


async def delay_alert(world: World, user: str) -> SalesAlert:
    """Twice as many paid orders unfulfilled past 24 h as for the cell before: a new alert."""
    assert world.shop is not None
    late = world.made.get("late", 0)
    wanted = max(1, late * 2)
    for n in range(late, wanted):
        world.shop.add_order(
            SALES_NOW - timedelta(hours=26, minutes=n),
            84.0,
            fulfillment="UNFULFILLED",
            line_items=[("SKU-MUG", 1)],
        )
    world.shop.sort_orders()
    world.made["late"] = wanted
    await pulse(world)
    return fresh(world, await newest_alert(world, "fulfillment_delay"))


async def revenue_drop_alert(world: World, user: str) -> SalesAlert:
    """One alert for every cell: follow-ups are not once per alert."""
    if "revenue drop" not in world.made:
        assert world.shop is not None
        for back in range(1, 8):
            orders_on(world.shop, back, 20, "SKU-HOODIE")
        orders_on(world.shop, 0, 5, "SKU-HOODIE")  # 5 against 20: down 75 %
        world.shop.add_variant("SKU-HOODIE", 10_000)
        await pulse(world)
        world.made["revenue drop"] = await newest_alert(world, "revenue_drop")
    return world.made["revenue drop"]


@dataclass(frozen=True)
class ReviewItem:
    """A reply Olivia sent last week, and its review card in the manager's DM."""

    id: str  # the reply's draft
    message: SlackRef  # the card


async def sent_reply(world: World, user: str) -> ReviewItem:
    clock = world.bot.clock
    today = clock.now
    clock.now = today - timedelta(days=7)  # always within last week
    try:
        draft = await world.draft("demo-1-order-status")
        await world.bot.click(ActionId.APPROVE, draft, OPERATOR)
        await world.bot.settle()
    finally:
        clock.now = today
    await ask(world, MANAGER, "review")
    [card] = await world.bot.store.review_cards(draft.id)
    return ReviewItem(draft.id, card.message)


async def nobody(world: World, user: str) -> None:
    return None


async def someone_new(world: World, user: str) -> str:
    return f"U0NEWHIRE{next(world.numbers)}"


async def something_logged(world: World, user: str) -> None:
    if "logged" not in world.made:
        world.made["logged"] = await world.draft("demo-1-order-status")


async def trainees_trained(world: World, user: str) -> None:
    """Each trainee has started a round of training cards."""
    if "rounds" not in world.made:
        for trainee in (TRAINEE, OTHER_TRAINEE):
            await ask(world, trainee, "training start")
        world.made["rounds"] = True


def someone_else(user: str) -> str:
    return OTHER_TRAINEE if user != OTHER_TRAINEE else TRAINEE


# The signed requests.


def click(action: ActionId) -> Act:
    async def act(world: World, subject: Any, user: str) -> None:
        if isinstance(subject, Draft):
            response = await world.bot.click(action, subject, user)
        elif isinstance(subject, Escalation):
            response = await world.bot.click_escalation(action, subject, user)
        else:
            assert subject.message is not None
            payload = real_block_action(
                user=user,
                action_id=action.value,
                value=subject.id,
                channel=subject.message.channel,
                message_ts=subject.message.ts,
            )
            response = await world.bot.slack.send(payload)
        assert response.status_code == 200, response.text
        return None

    return act


def submit(callback: CallbackId) -> Act:
    async def act(world: World, subject: Any, user: str) -> None:
        bot = world.bot
        if callback is CallbackId.EDIT:
            text = f"{subject.input.draft} (edited)" if subject.training else EDITED
            response = await bot.submit_edit(subject.id, user, text)
        elif callback is CallbackId.REJECT:
            response = await bot.submit_reject(subject.id, user, "wrong_tone", "Too curt.")
        elif callback is CallbackId.ESCALATE:
            response = await bot.submit_escalation(
                subject.id, user, type="high_value", urgency="high", notes="Please look."
            )
        elif callback is CallbackId.CORRECTION:
            # The metadata of the modal Send Correction opens: the draft and correction 1.
            values = text_value(InputId.CORRECTION_TEXT, CORRECTION)
            response = await bot.submit(callback, f"{subject.id}|1|", user, values)
        elif callback is CallbackId.RESOLVE:
            response = await bot.submit_resolution(
                subject.id,
                user,
                outcome="refund",
                amount="59.98",
                summary="Refunded the duplicate charges.",
                reply=CUSTOMER_REPLY,
            )
        elif callback is CallbackId.QA_COACH:
            values = text_value(InputId.QA_NOTE, COACHING_NOTE)
            response = await bot.submit(callback, subject.id, user, values)
        else:
            assert callback is CallbackId.SALES_FOLLOWUP
            values = {
                InputId.FOLLOWUP_OWNER: {
                    InputId.FOLLOWUP_OWNER: {"type": "users_select", "selected_user": user}
                },
                InputId.FOLLOWUP_DUE: {
                    InputId.FOLLOWUP_DUE: {"type": "datepicker", "selected_date": "2026-12-05"}
                },
            } | text_value(InputId.FOLLOWUP_NOTE, "Check the promo calendar.")
            payload = real_view_submission(
                user=user,
                callback_id=callback.value,
                private_metadata=subject.id,
                values=values,
            )
            response = await bot.slack.send(payload)
        assert response.status_code == 200 and response.text == "", response.text
        return None

    return act


def occ(text: str | Callable[[Any, str], str]) -> Act:
    async def act(world: World, subject: Any, user: str) -> str:
        return await ask(world, user, text(subject, user) if callable(text) else text)

    return act


async def ask(world: World, user: str, text: str) -> str:
    """`/occ <text>` as Slack delivers it; the answer posted to its response_url."""
    hook = f"occ-{next(world.numbers)}"
    body = real_slash_command(
        user=user,
        command="/occ",
        text=text,
        channel="C0APPROVALS",
        response_url=world.slack.response_url(hook),
    )
    response = await world.bot.slack.send(body)
    assert response.status_code == 200, response.text
    await world.bot.settle()
    [answer] = [c.args for c in world.slack.calls("response_url") if c.args["hook"] == hook]
    assert answer["response_type"] == "ephemeral"
    return answer["text"]


# What "allowed" looks like.


def decided(state: DraftState, kind: DecisionKind | None = None) -> Done:
    """The draft is decided by the user; a customer's reply reaches Chatwoot (a training card's
    never does, and its trainee is told the mark)."""

    async def done(world: World, cell: Cell) -> None:
        draft = await world.bot.store.get_draft(cell.subject.id)
        assert draft.state is state and draft.decision.actor == cell.user
        if kind is not None:
            assert draft.decision.kind is kind
        conversation = draft.input.conversation_id
        replies = [m["content"] for m in world.chatwoot.sent_replies(conversation)]
        if draft.training is not None:
            assert world.chatwoot.requests("POST")[cell.counts["chatwoot POST"] :] == []
            assert await world.bot.store.escalation_for_draft(draft.id) is None
            [mark] = told(world, cell)
            assert mark.startswith("🎓"), mark
        elif state is DraftState.APPROVED:
            assert replies == [draft.decision.final_text]
        else:
            assert replies == []
            assert told(world, cell) == []
        if state is DraftState.ESCALATED and draft.training is None:
            escalation = await world.bot.store.escalation_for_draft(draft.id)
            assert escalation is not None and escalation.message is not None

    return done


def opens(callback: CallbackId) -> Done:
    """The modal opened, and nothing else happened yet."""

    async def done(world: World, cell: Cell) -> None:
        assert opened_view(world, cell)["callback_id"] == callback.value
        assert await stored(world, cell.subject) == cell.stored
        assert told(world, cell) == []

    return done


async def reply_sent(world: World, cell: Cell) -> None:
    draft = await world.bot.store.get_draft(cell.subject.id)
    assert draft.reply.status is DeliveryStatus.SENT
    replies = world.chatwoot.sent_replies(draft.input.conversation_id)
    assert [m["content"] for m in replies] == [draft.input.draft]


async def correction_sent(world: World, cell: Cell) -> None:
    draft = cell.subject
    replies = world.chatwoot.sent_replies(draft.input.conversation_id)
    assert [m["content"] for m in replies] == [draft.decision.final_text, CORRECTION]
    [row] = [e for e in await new_log(world, cell) if e.action == "reply.corrected"]
    assert row.actor == cell.user


async def claimed_by_user(world: World, cell: Cell) -> None:
    escalation = await world.bot.store.get_escalation(cell.subject.id)
    assert escalation.state is EscalationState.CLAIMED and escalation.claimed_by == cell.user


async def resolved_by_user(world: World, cell: Cell) -> None:
    escalation = await world.bot.store.get_escalation(cell.subject.id)
    assert escalation.state is EscalationState.RESOLVED and escalation.resolved_by == cell.user
    replies = world.chatwoot.sent_replies(escalation.conversation_id)
    assert [m["content"] for m in replies] == [CUSTOMER_REPLY]


def responded(kind: SalesResponseKind) -> Done:
    async def done(world: World, cell: Cell) -> None:
        alert = await world.bot.store.get_sales_alert(cell.subject.id)
        response = alert.response(kind)
        assert response is not None and response.actor == cell.user
        assert told(world, cell) == []

    return done


async def followup_created(world: World, cell: Cell) -> None:
    [row] = [e for e in await new_log(world, cell) if e.action == "sales.followup"]
    assert row.actor == cell.user and row.subject_id == cell.subject.id
    assert row.payload["owner"] == cell.user


async def pulse_shown(world: World, cell: Cell) -> None:
    """The tile, from the snapshot of the shop the alert came from; its chart by DM."""
    assert cell.answer is not None and "Revenue *$250.00*: *-75%*" in cell.answer, cell.answer
    [chart] = world.slack.files()[cell.counts["files"] :]
    assert chart["channel"] in dm_channels(world, cell.user)


def answered(check: Callable[[str, Cell], bool]) -> Done:
    async def done(world: World, cell: Cell) -> None:
        assert cell.answer is not None and check(cell.answer, cell), cell.answer

    return done


async def exported(world: World, cell: Cell) -> None:
    assert cell.answer is not None and cell.answer.startswith("Sent you the decision log")
    [shared] = world.slack.files()[cell.counts["files"] :]
    assert shared["filename"].startswith("occ-decision-log")
    assert shared["channel"] in dm_channels(world, cell.user)


def round_started(whose: Callable[[Cell], str]) -> Done:
    async def done(world: World, cell: Cell) -> None:
        assert cell.answer is not None and "Posting the training packet" in cell.answer
        assert len(await world.bot.store.training_cards(whose(cell))) == 11

    return done


def reviewed(verdict: Verdict) -> Done:
    """The user's verdict is the reply's; its card shows it; a Coach note reached Olivia."""

    async def done(world: World, cell: Cell) -> None:
        review = await world.bot.store.qa_review(cell.subject.id)
        assert review is not None and review.verdict is verdict and review.reviewer == cell.user
        updated = {call.args["ts"] for call in cell.new(world, "chat.update")}
        assert updated == {cell.subject.message.ts}  # the card: the verdict (and the note sent)
        assert told(world, cell) == []
        if verdict is Verdict.COACH:
            note = world.slack.messages_in(OPERATOR)[-1]
            assert "coaching note" in note["text"] and COACHING_NOTE in json.dumps(note["blocks"])

    return done


MANAGERS_ONLY_CLAIM = "Only managers (OCC_MANAGERS) can claim escalations."
MANAGERS_ONLY_RESOLVE = "Only managers (OCC_MANAGERS) can resolve escalations."

ROWS: dict[Key, Row] = {
    (ActionId.APPROVE, "draft"): Row(
        plain_draft, click(ActionId.APPROVE), decided(DraftState.APPROVED), NOT_AN_OPERATOR
    ),
    (ActionId.EDIT, "draft"): Row(
        plain_draft, click(ActionId.EDIT), opens(CallbackId.EDIT), NOT_AN_OPERATOR
    ),
    (ActionId.REJECT, "draft"): Row(
        plain_draft, click(ActionId.REJECT), opens(CallbackId.REJECT), NOT_AN_OPERATOR
    ),
    (ActionId.ESCALATE, "draft"): Row(
        plain_draft, click(ActionId.ESCALATE), opens(CallbackId.ESCALATE), NOT_AN_OPERATOR
    ),
    (CallbackId.EDIT, "draft"): Row(
        plain_draft,
        submit(CallbackId.EDIT),
        decided(DraftState.APPROVED, DecisionKind.EDIT),
        NOT_AN_OPERATOR,
    ),
    (CallbackId.REJECT, "draft"): Row(
        plain_draft, submit(CallbackId.REJECT), decided(DraftState.REJECTED), NOT_AN_OPERATOR
    ),
    (CallbackId.ESCALATE, "draft"): Row(
        plain_draft, submit(CallbackId.ESCALATE), decided(DraftState.ESCALATED), NOT_AN_OPERATOR
    ),
    (ActionId.APPROVE, "must-escalate draft"): Row(
        must_escalate_draft,
        click(ActionId.APPROVE),
        decided(DraftState.APPROVED),
        must_escalate_why,
    ),
    (ActionId.EDIT, "must-escalate draft"): Row(
        must_escalate_draft, click(ActionId.EDIT), opens(CallbackId.EDIT), must_escalate_why
    ),
    (CallbackId.EDIT, "must-escalate draft"): Row(
        must_escalate_draft,
        submit(CallbackId.EDIT),
        decided(DraftState.APPROVED, DecisionKind.EDIT),
        must_escalate_why,
    ),
    (CallbackId.ESCALATE, "must-escalate draft"): Row(
        must_escalate_draft,
        submit(CallbackId.ESCALATE),
        decided(DraftState.ESCALATED),
        must_escalate_why,
    ),
    (ActionId.APPROVE, "training card"): Row(
        training_card, click(ActionId.APPROVE), decided(DraftState.APPROVED), NOT_THEIRS
    ),
    (ActionId.EDIT, "training card"): Row(
        training_card, click(ActionId.EDIT), opens(CallbackId.EDIT), NOT_THEIRS
    ),
    (ActionId.REJECT, "training card"): Row(
        training_card, click(ActionId.REJECT), opens(CallbackId.REJECT), NOT_THEIRS
    ),
    (ActionId.ESCALATE, "training card"): Row(
        training_card, click(ActionId.ESCALATE), opens(CallbackId.ESCALATE), NOT_THEIRS
    ),
    (CallbackId.EDIT, "training card"): Row(
        training_card,
        submit(CallbackId.EDIT),
        decided(DraftState.APPROVED, DecisionKind.EDIT),
        NOT_THEIRS,
    ),
    (CallbackId.REJECT, "training card"): Row(
        training_card, submit(CallbackId.REJECT), decided(DraftState.REJECTED), NOT_THEIRS
    ),
    (CallbackId.ESCALATE, "training card"): Row(
        training_card, submit(CallbackId.ESCALATE), decided(DraftState.ESCALATED), NOT_THEIRS
    ),
    (ActionId.RETRY, "failed reply"): Row(
        failed_reply, click(ActionId.RETRY), reply_sent, NOT_AN_OPERATOR
    ),
    (ActionId.CORRECT, "sent reply"): Row(
        sent_by(OPERATOR), click(ActionId.CORRECT), opens(CallbackId.CORRECTION), NOT_THE_SENDER
    ),
    (CallbackId.CORRECTION, "sent reply"): Row(
        sent_by(OPERATOR), submit(CallbackId.CORRECTION), correction_sent, NOT_THE_SENDER
    ),
    (ActionId.CORRECT, "manager's sent reply"): Row(
        sent_by(MANAGER), click(ActionId.CORRECT), opens(CallbackId.CORRECTION), NOT_THE_SENDER
    ),
    (CallbackId.CORRECTION, "manager's sent reply"): Row(
        sent_by(MANAGER), submit(CallbackId.CORRECTION), correction_sent, NOT_THE_SENDER
    ),
    (ActionId.MARK_RESOLVED, "CX breach card"): Row(
        breach_card, click(ActionId.MARK_RESOLVED), opens(CallbackId.REJECT), NOT_AN_OPERATOR
    ),
    (ActionId.CLAIM, "open escalation"): Row(
        open_escalation, click(ActionId.CLAIM), claimed_by_user, MANAGERS_ONLY_CLAIM
    ),
    (ActionId.RESOLVE, "claimed escalation"): Row(
        claimed_escalation,
        click(ActionId.RESOLVE),
        opens(CallbackId.RESOLVE),
        MANAGERS_ONLY_RESOLVE,
    ),
    (CallbackId.RESOLVE, "claimed escalation"): Row(
        claimed_escalation, submit(CallbackId.RESOLVE), resolved_by_user, MANAGERS_ONLY_RESOLVE
    ),
    (ActionId.SALES_ACKNOWLEDGE, "low-stock alert"): Row(
        low_stock_alert,
        click(ActionId.SALES_ACKNOWLEDGE),
        responded(SalesResponseKind.ACKNOWLEDGED),
        sales=True,
    ),
    (ActionId.SALES_REORDER, "low-stock alert"): Row(
        low_stock_alert,
        click(ActionId.SALES_REORDER),
        responded(SalesResponseKind.REORDER_STARTED),
        sales=True,
    ),
    (ActionId.SALES_NOTIFY_LEAD, "order-spike alert"): Row(
        order_spike_alert,
        click(ActionId.SALES_NOTIFY_LEAD),
        responded(SalesResponseKind.LEAD_NOTIFIED),
        sales=True,
    ),
    (ActionId.SALES_PAGE_MANAGER, "fulfillment-delay alert"): Row(
        delay_alert,
        click(ActionId.SALES_PAGE_MANAGER),
        responded(SalesResponseKind.MANAGER_PAGED),
        sales=True,
    ),
    (ActionId.SALES_FOLLOWUP, "revenue-drop alert"): Row(
        revenue_drop_alert,
        click(ActionId.SALES_FOLLOWUP),
        opens(CallbackId.SALES_FOLLOWUP),
        sales=True,
    ),
    (CallbackId.SALES_FOLLOWUP, "revenue-drop alert"): Row(
        revenue_drop_alert, submit(CallbackId.SALES_FOLLOWUP), followup_created, sales=True
    ),
    ("queue", ""): Row(
        nobody,
        occ("queue"),
        answered(lambda text, _: "#occ-approvals" in text and "open escalation" in text),
        "shown to operators and managers only",
        logs_refusal=False,
    ),
    ("stats", ""): Row(
        nobody,
        occ("stats"),
        answered(lambda text, _: text.startswith("*Your numbers today")),
        logs_refusal=False,
    ),
    ("stats", "@someone else"): Row(
        nobody,
        occ(f"stats week <@{SECOND_OPERATOR}>"),
        answered(lambda text, _: text.startswith(f"*<@{SECOND_OPERATOR}>'s numbers this week")),
        "Only managers can see someone else's numbers",
        logs_refusal=False,
    ),
    ("export", ""): Row(
        something_logged,
        occ("export"),
        exported,
        "Only managers (OCC_MANAGERS) can export the decision log",
        logs_refusal=False,
    ),
    ("pulse", ""): Row(
        revenue_drop_alert,
        occ("pulse"),
        pulse_shown,
        "Sales Pulse is shown to operators and managers only",
        logs_refusal=False,
        sales=True,
    ),
    ("cx", ""): Row(
        breach_card,
        occ("cx"),
        answered(lambda text, _: "past the 60-minute CX SLA" in text and "Dana Whitfield" in text),
        "shown to operators and managers only",
        logs_refusal=False,
    ),
    ("training", "start"): Row(
        nobody,
        occ("training start"),
        round_started(lambda cell: cell.user),
        logs_refusal=False,
    ),
    ("training", "start @someone else"): Row(
        someone_new,
        occ(lambda person, _: f"training start <@{person}>"),
        round_started(lambda cell: cell.subject),
        "Only managers can start training for someone else",
        logs_refusal=False,
    ),
    ("training", "report"): Row(
        trainees_trained,
        occ("training report"),
        answered(lambda text, _: text.startswith("*Training report*")),
        logs_refusal=False,
    ),
    ("training", "report @someone else"): Row(
        trainees_trained,
        occ(lambda _, user: f"training report <@{someone_else(user)}>"),
        answered(
            lambda text, cell: (
                text.startswith("*Training report*") and f"<@{someone_else(cell.user)}>" in text
            )
        ),
        "Only managers can see someone else's training",
        logs_refusal=False,
    ),
    (ActionId.QA_GOOD, "sent reply"): Row(
        sent_reply, click(ActionId.QA_GOOD), reviewed(Verdict.GOOD), ONLY_MANAGERS_REVIEW
    ),
    (ActionId.QA_COACH, "sent reply"): Row(
        sent_reply, click(ActionId.QA_COACH), opens(CallbackId.QA_COACH), ONLY_MANAGERS_REVIEW
    ),
    (CallbackId.QA_COACH, "sent reply"): Row(
        sent_reply, submit(CallbackId.QA_COACH), reviewed(Verdict.COACH), ONLY_MANAGERS_REVIEW
    ),
    ("review", ""): Row(
        nobody,
        occ("review"),
        answered(lambda text, _: text.startswith("*QA review of last week*")),
        ONLY_MANAGERS_REVIEW,
        logs_refusal=False,
    ),
    ("help", ""): Row(
        nobody,
        occ("help"),
        answered(lambda text, _: "`/occ queue`" in text and "`/occ stats" in text),
        logs_refusal=False,
    ),
}


# --- the tests ---------------------------------------------------------------------------------


def test_every_interaction_has_a_row():
    """A new button, modal or subcommand must say who may use it: a row in MATRIX, one outcome
    per role, and how to drive it in ROWS."""
    interactions = {str(i) for i in (*ActionId, *CallbackId)} | set(SUBCOMMANDS)
    covered = {str(interaction) for interaction, _ in MATRIX}
    missing = sorted(interactions - covered)
    assert not missing, (
        f"no row in MATRIX for {', '.join(missing)}: add one saying, for each of "
        f"{', '.join(ROLES)}, whether it is {OK} or {NO} (and how to drive it, in ROWS)"
    )
    unknown = sorted(covered - interactions)
    assert not unknown, f"MATRIX rows for interactions that no longer exist: {unknown}"
    undriven = sorted(label(key) for key in set(MATRIX) - set(ROWS))
    assert not undriven, f"MATRIX rows with no way to drive them in ROWS: {undriven}"
    unlisted = sorted(label(key) for key in set(ROWS) - set(MATRIX))
    assert not unlisted, f"ROWS without a MATRIX row: {unlisted}"
    for key, outcomes in MATRIX.items():
        assert len(outcomes) == len(ROLES), f"{label(key)}: one outcome per role"
        assert set(outcomes) <= {OK, NO}, f"{label(key)}: outcomes are {OK} or {NO}"


@pytest.mark.parametrize("key", list(MATRIX), ids=[label(key) for key in MATRIX])
async def test_matrix(key: Key, sqlite_url, slack, chatwoot, scenarios, subtests):
    row = ROWS[key]
    async with world(sqlite_url, slack, chatwoot, scenarios, sales=row.sales) as here:
        for (role, user), expected in zip(ROLES.items(), MATRIX[key], strict=True):
            with subtests.test(msg=f"{label(key)} × {role}: {expected}"):
                subject = await row.subject(here, user)
                cell = await before(here, user, subject)
                cell.answer = await row.act(here, subject, user)
                await here.bot.settle()
                if expected == OK:
                    await assert_allowed(here, row, cell)
                else:
                    await assert_refused(here, row, cell)
