"""Issue 18's escaping matrix: hostile text from customers, operators, managers and Shopify
reaches every Slack surface, and each shows it as typed; none pings, links or is dropped.

Slack reads ``<!channel>``, ``<@U…>``, ``<#C…>`` and ``<url|label>`` in mrkdwn as live tokens,
so mrkdwn must carry ``&``, ``<`` and ``>`` as ``&amp;``, ``&lt;`` and ``&gt;``
(https://api.slack.com/reference/surfaces/formatting#escaping). plain_text is never parsed,
so there the same text must stay raw (escaped, it would show as "&lt;").

Each surface is driven end to end (real app on loopback, the Slack, Chatwoot and Shopify
stand-ins) and every text object and notification text the bot sent for that surface is read
from what the Slack stand-in received.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.blocks.ids import ActionId, CallbackId, InputId
from bot.demo.standins.chatwoot import ChatwootStandin
from bot.demo.standins.shopify import DEFAULT_SCOPES as SHOPIFY_SCOPES
from bot.demo.standins.shopify import DEFAULT_TOKEN as SHOPIFY_TOKEN
from bot.demo.standins.shopify import ShopifyStandin, ShopShipment
from bot.demo.standins.slack import Call, SlackStandin
from bot.jobs import JOBS
from tests.conftest import PEOPLE
from tests.harness import (
    MANAGER,
    OPERATOR,
    BotUnderTest,
    FakeClock,
    ask_occ,
    real_block_action,
    real_view_submission,
    settings_for,
    text_value,
)
from tests.sales_pulse.test_rules_sales import NEW_YORK, same_hours

# --- the hostile texts ------------------------------------------------------------------------

NAME = "<!channel> <http://evil|Your bank>"  # the customer's name
MESSAGE = f"<@{MANAGER}> click <https://evil.example|here> & pay"  # the customer's message
NOTE = "<!here> see <https://evil.example/r|form> & <#C0PAYOUTS>"  # an operator's note
SUMMARY = "<!everyone> refunded via <https://evil.example/pay|the bank> & closed"  # a manager's
ORDER_ID = "<!channel>#1001"  # the draft's order field (the bot reads no Shopify order note)

# What must never reach mrkdwn raw: each would ping, link or point somewhere. (A raw
# `<@U0MANAGER1>` alone is the bot's own mention of the manager; the customer's is followed by
# " click".)
LIVE = (
    "<!channel>",
    "<!here>",
    "<!everyone>",
    "<http://evil",
    "<https://evil",
    f"<@{MANAGER}> click",
    "<#C0PAYOUTS>",
    "& pay",
    "& <",
    "& closed",
)
TWICE = ("&amp;lt;", "&amp;gt;", "&amp;amp;")  # escaped twice: Slack would show "&lt;"
ENTITIES = ("&lt;", "&gt;", "&amp;")

LEADERSHIP = "#occ-leadership"
SALES = "#occ-sales"
FIXTURES = Path(__file__).parents[1] / "fixtures" / "real"


def escaped(text: str) -> str:
    """Slack's escaping, written out here so that the test does not trust the bot's helper."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def hostile_draft(conversation_id: int = 4242) -> dict[str, Any]:
    """A draft (docs' "A draft (JSON)") with hostile text in every free-text field."""
    return {
        "conversation_id": conversation_id,
        "customer": {"name": NAME, "email": "dana@example.com"},
        "customer_message": MESSAGE,
        "draft": f"Hi! {NOTE}",
        "confidence": 0.95,
        "kb_sources": [{"title": NAME, "version": "v1", "relevance": 0.9, "url": None}],
        "risk": "low",
        "agent": NAME,
        "order": {"id": ORDER_ID, "value_usd": 20.0},
    }


# --- what the bot sent ------------------------------------------------------------------------

MESSAGE_METHODS = {"chat.postMessage", "chat.update", "chat.postEphemeral", "response_url"}


@dataclass(frozen=True)
class Shown:
    where: str
    kind: str  # "mrkdwn" or "plain_text"
    text: str


def _json(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _text_objects(node: Any, where: str) -> Iterator[Shown]:
    if isinstance(node, list):
        for i, item in enumerate(node):
            yield from _text_objects(item, f"{where}/{i}")
    elif isinstance(node, dict):
        kind = node.get("type")
        if kind in ("mrkdwn", "plain_text") and isinstance(node.get("text"), str):
            yield Shown(where, kind, node["text"])
            return
        for key, value in node.items():
            yield from _text_objects(value, f"{where}/{key}")


def shown_by(call: Call) -> Iterator[Shown]:
    """Every text a Slack client would show from this call: the message's text (mrkdwn
    unless ``mrkdwn`` is false; Slack notifies on it), every text object in its blocks,
    attachments or view, and a file's title (plain) and comment (mrkdwn)."""
    args = call.args
    where = f"{call.method} {args.get('channel') or args.get('user_id') or args.get('hook', '')}"
    if call.method in MESSAGE_METHODS and isinstance(args.get("text"), str):
        kind = "plain_text" if args.get("mrkdwn") is False else "mrkdwn"
        yield Shown(f"{where} text", kind, args["text"])
    for key in ("blocks", "attachments", "view"):
        yield from _text_objects(_json(args.get(key)), f"{where} {key}")
    for shared in _json(args.get("files")) or []:
        if isinstance(shared, dict) and isinstance(shared.get("title"), str):
            yield Shown(f"{where} file title", "plain_text", shared["title"])
    if isinstance(args.get("initial_comment"), str):
        yield Shown(f"{where} initial_comment", "mrkdwn", args["initial_comment"])


def problems(calls: list[Call], expected: tuple[str, ...]) -> list[str]:
    """What is wrong with how ``calls`` show hostile text, and which of ``expected`` (raw
    hostile texts) they never show (escaped in mrkdwn, or as typed in plain_text)."""
    shown = [s for call in calls for s in shown_by(call)]
    found = []
    for s in shown:
        if s.kind == "mrkdwn":
            found += [f"{s.where}: live {t!r} in mrkdwn: {s.text!r}" for t in LIVE if t in s.text]
            found += [f"{s.where}: escaped twice: {s.text!r}" for t in TWICE if t in s.text]
        else:
            found += [
                f"{s.where}: plain_text shows {t!r} literally: {s.text!r}"
                for t in ENTITIES
                if t in s.text
            ]
    for raw in expected:
        if not any((escaped(raw) if s.kind == "mrkdwn" else raw) in s.text for s in shown):
            found.append(f"never shown as typed: {raw!r}")
    return found


def channel_of(slack: SlackStandin, call: Call) -> str | None:
    channel = call.args.get("channel") or call.args.get("channel_id")
    return slack.channel_id(channel) if channel else None


def metadata_type(call: Call) -> str | None:
    metadata = _json(call.args.get("metadata"))
    return metadata.get("event_type") if isinstance(metadata, dict) else None


# --- the journeys -----------------------------------------------------------------------------


@dataclass
class World:
    sqlite_url: str
    slack: SlackStandin
    chatwoot: ChatwootStandin
    clock: FakeClock

    @asynccontextmanager
    async def bot(self, **overrides: Any) -> AsyncIterator[BotUnderTest]:
        settings = settings_for(self.sqlite_url, self.slack, self.chatwoot, **overrides)
        instance = await BotUnderTest(settings, self.clock).start()
        try:
            yield instance
        finally:
            await instance.stop()

    def in_channel(self, channel: str, *, threads: bool | None = False) -> list[Call]:
        """Messages posted or updated in ``channel`` (``threads``: only thread replies; None:
        both)."""
        wanted = self.slack.channel_id(channel)
        return [
            c
            for c in self.slack.calls()
            if c.method in ("chat.postMessage", "chat.update")
            and channel_of(self.slack, c) == wanted
            and (threads is None or bool(c.args.get("thread_ts")) == threads)
        ]


async def open_home(bot: BotUnderTest, user: str) -> None:
    envelope = json.loads(
        (FIXTURES / "slack_events_api_app_home_opened_home_tab_java_sdk.json").read_text()
    )
    envelope["event"]["user"] = user
    response = await bot.slack.send_event(envelope)
    assert response.status_code == 200
    await bot.settle()


async def escalation_lifecycle(world: World) -> None:
    """A hostile draft is carded; its Edit, Reject and Escalate modals are opened; it is
    escalated with hostile notes, reminded in the thread and then in a chain channel, claimed,
    and resolved with a hostile summary and notes."""
    clock = world.clock
    async with world.bot(
        OCC_ESCALATION_CHAIN=f"managers,{LEADERSHIP}", OCC_REMINDERS_PER_LEVEL=1
    ) as bot:
        draft = await bot.posted_draft(hostile_draft())
        for action in (ActionId.EDIT, ActionId.REJECT, ActionId.ESCALATE):
            assert (await bot.click(action, draft, OPERATOR)).status_code == 200
            await bot.settle()
        await bot.submit_escalation(draft.id, OPERATOR, type="other", urgency="urgent", notes=NOTE)
        await bot.settle()
        escalation = await bot.store.escalation_for_draft(draft.id)
        assert escalation is not None and escalation.message is not None
        for _ in range(2):  # reminder 1 in the thread; 2 in #occ-leadership, the next level
            clock.advance(minutes=15)
            await JOBS["reminders"].run(bot.services)
            await bot.settle()
        await bot.click_escalation(ActionId.CLAIM, escalation, MANAGER)
        await bot.settle()
        await bot.click_escalation(ActionId.RESOLVE, escalation, MANAGER)
        await bot.settle()
        response = await bot.submit_resolution(
            escalation.id, MANAGER, outcome="no_action", summary=SUMMARY, notes=NOTE
        )
        assert response.status_code == 200, response.text
        await bot.settle()


async def the_card(world: World) -> list[Call]:
    await escalation_lifecycle(world)
    return world.in_channel("#occ-approvals")


async def the_card_from_chatwoot_with_shopify_order(world: World) -> list[Call]:
    """A hostile customer (name, message) writes in Chatwoot about a Shopify order whose
    product title and carrier are hostile too: the offline drafter's card shows the order."""
    placed = world.clock.now - timedelta(days=3)
    async with ShopifyStandin(scopes=(*SHOPIFY_SCOPES, "read_all_orders")) as shop:
        order = shop.add_order(
            placed, 40.0, email="sam@example.com", customer_name=NAME, line_items=[("MUG", 2, NAME)]
        )
        shop.ship(order, ShopShipment(shipped_at=placed, carrier=NOTE, tracking_number="1Z9"))
        async with world.bot(shopify_shop=shop.url, shopify_admin_token=SHOPIFY_TOKEN) as bot:
            message = world.chatwoot.add_incoming(
                51,
                f"{MESSAGE} Where is my order #{order.number}?",
                contact_name=NAME,
                contact_email="sam@example.com",
                channel="Channel::Email",  # Chatwoot vouches for the address: the order is read
            )
            await bot.chatwoot_event(world.chatwoot.message_created_event(message))
            await bot.settle()
            [draft] = await bot.store.drafts_awaiting_decision(51)
            assert draft.input.order_facts is not None, "the order was not read"
    return world.in_channel("#occ-approvals")


async def the_modals(world: World) -> list[Call]:
    await escalation_lifecycle(world)
    return world.slack.calls("views.open") + world.slack.calls("views.update")


async def the_escalation_message(world: World) -> list[Call]:
    await escalation_lifecycle(world)
    return [c for c in world.in_channel("#occ-escalations") if metadata_type(c) != "occ_reminder"]


async def the_thread_reminder(world: World) -> list[Call]:
    await escalation_lifecycle(world)
    calls = [
        c
        for c in world.in_channel("#occ-escalations", threads=True)
        if metadata_type(c) == "occ_reminder"
    ]
    assert calls, "no reminder in the escalation's thread"
    return calls


async def the_channel_reminder(world: World) -> list[Call]:
    await escalation_lifecycle(world)
    calls = world.in_channel(LEADERSHIP, threads=None)
    assert calls, f"no reminder in {LEADERSHIP}"
    return calls


async def the_resolution_dm(world: World) -> list[Call]:
    await escalation_lifecycle(world)
    dm = world.slack.channel_id(OPERATOR)
    calls = [
        c
        for c in world.slack.calls("chat.postMessage")
        if channel_of(world.slack, c) == dm and "resolved" in c.args.get("text", "")
    ]
    assert calls, "no resolution DM to the operator who escalated"
    return calls


async def waiting_draft(world: World, look: Callable[[BotUnderTest], Awaitable[None]]) -> None:
    async with world.bot() as bot:
        await bot.posted_draft(hostile_draft())
        world.clock.advance(minutes=3)
        await look(bot)


async def the_home_tab(world: World) -> list[Call]:
    async def look(bot: BotUnderTest) -> None:
        await open_home(bot, OPERATOR)
        await open_home(bot, MANAGER)

    await waiting_draft(world, look)
    return world.slack.calls("views.publish")


async def the_queue(world: World) -> list[Call]:
    async def look(bot: BotUnderTest) -> None:
        for words in ("queue", "queue high"):
            answer = await ask_occ(bot, world.slack, words)
            assert answer["response_type"] == "ephemeral"

    await waiting_draft(world, look)
    return world.slack.calls("response_url")


SALES_NOW = datetime(2026, 12, 3, 20, 0, tzinfo=UTC)  # 15:00 in New York


async def the_sales_pulse_alert(world: World) -> list[Call]:
    """Shopify holds a hostile product title and a hostile order email: a revenue-drop, a
    low-stock and a fulfillment-delay alert, with their trend charts; then Start reorder
    discussion and Acknowledge, and a follow-up with a hostile note, in the alert's thread and
    in its owner's DM when it falls due."""
    world.clock.now = SALES_NOW
    async with ShopifyStandin(timezone="America/New_York") as shop:
        for back in range(7, -1, -1):  # 20 hoodies a day in the same hours, 10 today
            start, _ = same_hours(SALES_NOW, NEW_YORK, back)
            for i in range(10 if back == 0 else 20):
                shop.add_order(
                    start + timedelta(hours=2, minutes=i), 50.0, line_items=[("SKU-HOODIE", 1)]
                )
        shop.add_order(
            SALES_NOW - timedelta(hours=30),
            84.0,
            fulfillment="UNFULFILLED",
            email=MESSAGE,
            customer_name=NAME,
            line_items=[("SKU-MUG", 1, NAME)],
        )
        shop.sort_orders()
        shop.add_variant("SKU-HOODIE", 12, product_title=NAME, title=NOTE)
        shop.add_variant("SKU-MUG", 500, product_title=NAME)
        async with world.bot(shopify_shop=shop.url, shopify_admin_token=SHOPIFY_TOKEN) as bot:
            await JOBS["sales-pulse"].run(bot.services)
            await bot.settle()
            opened = [e.subject_id for e in await bot.store.entries() if e.action == "sales.alert"]
            alerts = {a.condition: a for a in [await bot.store.get_sales_alert(i) for i in opened]}
            wanted = {"revenue_drop", "low_stock:SKU-HOODIE", "fulfillment_delay"}
            assert wanted <= set(alerts), sorted(alerts)
            for condition, action in (
                ("revenue_drop", ActionId.SALES_FOLLOWUP),
                ("low_stock:SKU-HOODIE", ActionId.SALES_REORDER),
                ("low_stock:SKU-HOODIE", ActionId.SALES_ACKNOWLEDGE),
                ("fulfillment_delay", ActionId.SALES_ACKNOWLEDGE),
            ):
                alert = alerts[condition]
                assert alert.message is not None
                payload = real_block_action(
                    user=OPERATOR,
                    action_id=action.value,
                    value=alert.id,
                    channel=alert.message.channel,
                    message_ts=alert.message.ts,
                )
                assert (await bot.slack.send(payload)).status_code == 200
                await bot.settle()
            values = (
                {InputId.FOLLOWUP_OWNER: {InputId.FOLLOWUP_OWNER: followup_owner(MANAGER)}}
                | {InputId.FOLLOWUP_DUE: {InputId.FOLLOWUP_DUE: followup_due("2026-12-04")}}
                | text_value(InputId.FOLLOWUP_NOTE, SUMMARY)
            )
            submitted = real_view_submission(
                user=OPERATOR,
                callback_id=CallbackId.SALES_FOLLOWUP.value,
                private_metadata=alerts["revenue_drop"].id,
                values=values,
            )
            assert (await bot.slack.send(submitted)).status_code == 200
            await bot.settle()
            world.clock.advance(days=1, hours=5)  # the 4th has passed: the owner is reminded
            await JOBS["sales-followups"].run(bot.services)
            await bot.settle()
    owner = world.slack.channel_id(MANAGER)
    return (
        world.in_channel(SALES, threads=None)
        + [c for c in world.slack.calls("chat.postMessage") if channel_of(world.slack, c) == owner]
        + world.slack.calls("views.open")
        + world.slack.calls("files.completeUploadExternal")
    )


def followup_owner(user: str) -> dict[str, Any]:
    return {"type": "users_select", "selected_user": user}


def followup_due(day: str) -> dict[str, Any]:
    return {"type": "datepicker", "selected_date": day}


DIGEST_WEEK = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # a Monday


async def the_digest(world: World) -> list[Call]:
    """A hostile draft edited (its topic is its first KB article) and one rejected with hostile
    notes, last week; the digest lists both with an example."""
    clock = world.clock
    async with world.bot() as bot:
        clock.now = DIGEST_WEEK
        edited = await bot.posted_draft(hostile_draft(4242))
        await bot.submit_edit(edited.id, OPERATOR, "Hi! We're on it.")
        await bot.settle()
        rejected = await bot.posted_draft(hostile_draft(4343))
        await bot.submit_reject(rejected.id, OPERATOR, "factual_error", NOTE)
        await bot.settle()
        clock.now = DIGEST_WEEK + timedelta(days=7, hours=-1)  # next Monday, 09:00 UTC
        assert await JOBS["digest"].run(bot.services) == "posted"
        await bot.settle()
    digest = [
        c for c in world.in_channel("#occ-approvals") if "Weekly digest" in c.args.get("text", "")
    ]
    assert digest, "no digest posted"
    return digest + world.slack.calls("files.completeUploadExternal")


@dataclass(frozen=True)
class Surface:
    name: str
    journey: Callable[[World], Awaitable[list[Call]]]
    shows: tuple[str, ...]  # hostile texts it must show (as typed)


SURFACES = [
    Surface("card", the_card, (NAME, MESSAGE, NOTE, ORDER_ID)),
    Surface(
        "card from chatwoot with shopify order",
        the_card_from_chatwoot_with_shopify_order,
        (NAME, MESSAGE, NOTE),
    ),
    Surface("modals", the_modals, (NAME, MESSAGE)),
    Surface("escalation message", the_escalation_message, (NAME, MESSAGE, NOTE, SUMMARY)),
    # The thread reminder names no customer (the escalation above it does): it must only
    # carry nothing live.
    Surface("reminder in the thread", the_thread_reminder, ()),
    Surface("reminder in a chain channel", the_channel_reminder, (NAME,)),
    Surface("resolution DM", the_resolution_dm, (SUMMARY, NOTE)),
    Surface("home tab", the_home_tab, (NAME,)),
    Surface("occ queue", the_queue, (NAME,)),
    Surface("sales pulse alert", the_sales_pulse_alert, (NAME, NOTE, MESSAGE, SUMMARY)),
    Surface("digest", the_digest, (NAME, MESSAGE, NOTE)),
]


@pytest.fixture
async def slack(clock) -> AsyncIterator[SlackStandin]:
    """The Slack stand-in on the injected clock (message ts and the bot's times agree), with
    the chain's channel."""
    async with SlackStandin(users=PEOPLE, clock=lambda: clock().timestamp()) as standin:
        standin.add_channel(LEADERSHIP.removeprefix("#"))
        yield standin


@pytest.mark.parametrize("surface", SURFACES, ids=[s.name.replace(" ", "-") for s in SURFACES])
async def test_hostile_text_shows_as_typed_and_nothing_in_it_is_live(
    surface: Surface, sqlite_url, slack, chatwoot, clock
):
    calls = await surface.journey(World(sqlite_url, slack, chatwoot, clock))

    assert calls, f"{surface.name}: nothing was sent to Slack"
    found = problems(calls, surface.shows)
    assert not found, f"{surface.name}:\n" + "\n".join(found)


def test_the_checker_sees_a_live_token_and_a_dropped_text():
    """The checker itself: raw tokens in mrkdwn, escaped text in plain_text, and text never
    shown are all reported; the escaped form in mrkdwn and the raw in plain_text are not."""
    good = Call(
        "chat.postMessage",
        {
            "channel": "C1",
            "text": f"for {escaped(NAME)}",
            "blocks": [
                {"type": "header", "text": {"type": "plain_text", "text": NAME}},
                {"type": "section", "text": {"type": "mrkdwn", "text": f"> {escaped(MESSAGE)}"}},
            ],
        },
        0.0,
    )
    assert problems([good], (NAME, MESSAGE)) == []
    bad = Call(
        "chat.postMessage",
        {
            "channel": "C1",
            "text": f"for {NAME}",
            "blocks": [{"type": "header", "text": {"type": "plain_text", "text": escaped(NAME)}}],
        },
        0.0,
    )
    found = problems([bad], (MESSAGE,))
    assert any("live '<!channel>'" in f for f in found)
    assert any("plain_text shows '&lt;'" in f for f in found)
    assert any("never shown" in f and "click" in f for f in found)
    twice = Call("chat.postMessage", {"channel": "C1", "text": escaped(escaped(NAME))}, 0.0)
    assert any("escaped twice" in f for f in problems([twice], ()))
