"""Sales Pulse end to end: the `sales-pulse` job reads the Shopify stand-in (real GraphQL,
metered), alerts #occ-sales once per condition, again only when markedly worse, clears in the
alert's thread, and every button does what it says once, with its log row."""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.blocks.ids import ActionId, CallbackId, InputId
from bot.demo.standins.shopify import DEFAULT_TOKEN, ShopifyStandin, ShopOrder
from bot.domain import LogEntry, Outcome, SalesAlert, Scope
from bot.flows import sales_alerts
from bot.integrations.shopify import ShopifyUnavailable
from bot.jobs import JOBS
from bot.rules.sales_buttons import ACKNOWLEDGE, Who
from tests.harness import (
    MANAGER,
    OPERATOR,
    SECOND_OPERATOR,
    BotUnderTest,
    FakeClock,
    real_block_action,
    real_view_submission,
    settings_for,
    text_value,
)
from tests.sales_pulse.test_rules_sales import NEW_YORK, same_hours

# 15:00 in New York: the shop's "today" began at 05:00 UTC.
NOW = datetime(2026, 12, 3, 20, 0, tzinfo=UTC)
LEAD = SECOND_OPERATOR  # OCC_FULFILLMENT_LEAD
FULFILLMENT_MANAGER = MANAGER  # OCC_FULFILLMENT_MANAGER
SALES = "#occ-sales"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


@pytest.fixture
async def shop() -> AsyncIterator[ShopifyStandin]:
    async with ShopifyStandin(timezone="America/New_York") as standin:
        yield standin


@pytest.fixture
async def bot(sqlite_url, slack, chatwoot, clock, shop) -> AsyncIterator[BotUnderTest]:
    settings = settings_for(
        sqlite_url,
        slack,
        chatwoot,
        shopify_shop=shop.url,
        shopify_admin_token=DEFAULT_TOKEN,
        OCC_FULFILLMENT_LEAD=LEAD,
        OCC_FULFILLMENT_MANAGER=FULFILLMENT_MANAGER,
    )
    instance = await BotUnderTest(settings, clock).start()
    try:
        yield instance
    finally:
        await instance.stop()


def usual_days(shop: ShopifyStandin, per_day: int, today: int, *, sku: str = "SKU-HOODIE"):
    """``per_day`` $50 orders in the same hours on each of the past 7 days, ``today`` today."""
    for back in range(7, -1, -1):
        start, _ = same_hours(NOW, NEW_YORK, back)
        for i in range(today if back == 0 else per_day):
            shop.add_order(start + timedelta(hours=2, minutes=i), 50.0, line_items=[(sku, 1)])
    shop.sort_orders()


def delayed(shop: ShopifyStandin, hours: float, email: str = "dana@example.com"):
    order = shop.add_order(
        NOW - timedelta(hours=hours),
        84.0,
        fulfillment="UNFULFILLED",
        email=email,
        line_items=[("SKU-MUG", 1)],
    )
    shop.sort_orders()
    return order


async def pulse(bot: BotUnderTest) -> str:
    said = await JOBS["sales-pulse"].run(bot.services)
    await bot.settle()
    return said


async def alerts(bot: BotUnderTest) -> list[SalesAlert]:
    """Every alert opened so far, oldest first."""
    opened = [e.subject_id for e in await bot.store.entries() if e.action == "sales.alert"]
    return [await bot.store.get_sales_alert(alert_id) for alert_id in opened]


def said_in_thread(slack, alert_ts: str) -> list[dict[str, Any]]:
    """Replies in an alert's thread, leaving out its trend chart."""
    return [m for m in slack.thread(SALES, alert_ts) if not m.get("files")]


def buttons(message: dict[str, Any]) -> list[str]:
    return [
        element["text"]["text"]
        for block in message["blocks"]
        if block["type"] == "actions"
        for element in block["elements"]
    ]


async def submit_followup(bot: BotUnderTest, alert: SalesAlert, owner: str, due: str, note: str):
    """Submit the Create follow-up modal, shaped as Slack sends a users_select and a
    datepicker."""
    values = (
        {
            InputId.FOLLOWUP_OWNER: {
                InputId.FOLLOWUP_OWNER: {"type": "users_select", "selected_user": owner}
            }
        }
        | {
            InputId.FOLLOWUP_DUE: {
                InputId.FOLLOWUP_DUE: {"type": "datepicker", "selected_date": due}
            }
        }
        | text_value(InputId.FOLLOWUP_NOTE, note)
    )
    payload = real_view_submission(
        user=OPERATOR,
        callback_id=CallbackId.SALES_FOLLOWUP.value,
        private_metadata=alert.id,
        values=values,
    )
    return await bot.slack.send(payload)


async def click(bot: BotUnderTest, action: ActionId, alert: SalesAlert, user: str):
    assert alert.message is not None
    payload = real_block_action(
        user=user,
        action_id=action.value,
        value=alert.id,
        channel=alert.message.channel,
        message_ts=alert.message.ts,
    )
    response = await bot.slack.send(payload)
    assert response.status_code == 200
    await bot.settle()
    return await bot.store.get_sales_alert(alert.id)


async def test_each_crossed_trigger_is_alerted_once_with_its_facts_and_buttons(bot, slack, shop):
    usual_days(shop, per_day=20, today=10)  # revenue $500 against $1,000: down 50 %
    delayed(shop, hours=40)  # before yesterday's same hours: not in the baseline
    delayed(shop, hours=20)  # not yet 24 h
    shop.add_variant("SKU-HOODIE", 12, product_title="Hoodie")  # 140 sold a week: < 1 day
    shop.add_variant("SKU-MUG", 500, product_title="Mug")

    said = await pulse(bot)
    await pulse(bot)  # the next window: the same conditions, nothing new

    opened = await alerts(bot)
    assert sorted(a.condition for a in opened) == [
        "fulfillment_delay",
        "low_stock:SKU-HOODIE",
        "revenue_drop",
    ]
    assert "3 alerted" in said and "paging" in said
    by = {a.condition: a for a in opened}
    revenue = slack.message(SALES, by["revenue_drop"].message.ts)
    shown = json.dumps(revenue["blocks"])
    assert "Revenue today so far" in shown and "$500.00" in shown and "$1,000.00" in shown
    assert "more than 15% below the 7-day average" in shown
    assert buttons(revenue) == ["Create follow-up", "Acknowledge"]
    delay = slack.message(SALES, by["fulfillment_delay"].message.ts)
    shown = json.dumps(delay["blocks"])
    assert buttons(delay) == ["Page fulfillment manager", "Acknowledge"]
    order_id = shop.orders[[o.email for o in shop.orders].index("dana@example.com")].gid
    assert f"{shop.url}/admin/orders/{order_id.rsplit('/', 1)[1]}" in shown
    assert "unfulfilled for 40 h" in shown and "1 orders" in shown
    stock = slack.message(SALES, by["low_stock:SKU-HOODIE"].message.ts)
    assert buttons(stock) == ["Start reorder discussion", "Acknowledge"]
    assert "12 available" in json.dumps(stock["blocks"])
    charts = {f["thread_ts"]: f for f in slack.files()}
    chart = charts[by["revenue_drop"].message.ts]  # the trend, as an image in the thread
    assert chart["content"].startswith(b"\x89PNG") and "Revenue today so far" in chart["title"]
    assert by["fulfillment_delay"].message.ts not in charts  # no trend to draw
    rows = [e for e in await bot.store.entries() if e.action == "sales.alert"]
    assert {e.scope for e in rows} == {"sales"}
    assert rows[0].payload["threshold"] and "severity" in rows[0].payload


async def test_a_quiet_shop_and_a_healthy_one_stay_quiet(bot, slack, shop):
    usual_days(shop, per_day=3, today=0)  # 3 orders by this hour: too few to judge
    await pulse(bot)
    usual_days(shop, per_day=20, today=0)  # now 23 a day, and none today: down 100 %?
    shop.add_variant("SKU-HOODIE", 10_000)
    await pulse(bot)
    assert [a.condition for a in await alerts(bot)] == ["revenue_drop"]


async def test_order_spike_notifies_the_fulfillment_lead_once(bot, slack, shop):
    usual_days(shop, per_day=20, today=30)  # 30 orders against 20: up 50 %
    shop.add_variant("SKU-HOODIE", 10_000)
    await pulse(bot)
    [spike] = await alerts(bot)
    assert spike.condition == "order_spike"
    assert buttons(slack.message(SALES, spike.message.ts)) == [
        "Notify fulfillment lead",
        "Acknowledge",
    ]

    after = await click(bot, ActionId.SALES_NOTIFY_LEAD, spike, OPERATOR)
    await click(bot, ActionId.SALES_NOTIFY_LEAD, spike, MANAGER)  # too late: refused

    [dm] = slack.messages_in(LEAD)
    assert "Order spike" in dm["text"] and f"<@{OPERATOR}>" in dm["text"]
    [in_thread] = said_in_thread(slack, spike.message.ts)
    assert f"<@{LEAD}>" in in_thread["text"]
    assert await bot.actions(spike.id) == [
        "sales.alert",
        "sales.posted",
        "sales.lead_notified",
        "sales.refused",
    ]
    [refusal] = slack.ephemerals(MANAGER)
    assert "already" in refusal["text"] and f"<@{OPERATOR}>" in refusal["text"]
    message = slack.message(SALES, spike.message.ts)
    assert buttons(message) == ["Acknowledge"]
    assert f"Fulfillment lead notified by <@{OPERATOR}>" in json.dumps(message["blocks"])
    assert after.response("lead_notified").detail["notified"] == LEAD


async def test_acknowledge_is_logged_once_and_shown_on_the_alert(bot, slack, shop):
    delayed(shop, hours=26)
    await pulse(bot)
    [alert] = await alerts(bot)
    await click(bot, ActionId.SALES_ACKNOWLEDGE, alert, OPERATOR)
    await click(bot, ActionId.SALES_ACKNOWLEDGE, alert, OPERATOR)  # a double click
    message = slack.message(SALES, alert.message.ts)
    assert buttons(message) == ["Page fulfillment manager"]
    assert f"Acknowledged by <@{OPERATOR}>" in json.dumps(message["blocks"])
    logged = await bot.actions(alert.id)
    assert logged.count("sales.acknowledged") == 1 and logged.count("sales.refused") == 1


async def test_a_button_for_managers_refuses_anyone_else_and_says_why(bot, slack, shop):
    """Who may press a button is part of its spec: one declared for managers only refuses
    an operator (told alone, one refused row, nothing recorded) and takes a manager."""
    delayed(shop, hours=26)
    await pulse(bot)
    [alert] = await alerts(bot)
    managers_only = replace(ACKNOWLEDGE, who=Who.MANAGERS)
    channel = alert.message.channel

    refused = await sales_alerts.respond(bot.services, alert.id, managers_only, OPERATOR, channel)
    await bot.settle()
    assert refused is None and (await bot.store.get_sales_alert(alert.id)).responses == ()
    [told] = slack.ephemerals(OPERATOR)
    assert "Only managers" in told["text"] and "Acknowledge" in told["text"]
    [row] = [e for e in await bot.store.entries(subject_id=alert.id) if e.action == "sales.refused"]
    assert row.actor == OPERATOR and row.outcome == Outcome.REFUSED
    assert row.payload == {"button": "sales_acknowledge", "who": "managers"}

    taken = await sales_alerts.respond(bot.services, alert.id, managers_only, MANAGER, channel)
    assert taken is not None and taken.actor == MANAGER


async def test_paging_the_fulfillment_manager_reaches_them_once(bot, slack, shop):
    delayed(shop, hours=26)
    await pulse(bot)
    [alert] = await alerts(bot)
    await click(bot, ActionId.SALES_PAGE_MANAGER, alert, OPERATOR)
    await click(bot, ActionId.SALES_PAGE_MANAGER, alert, SECOND_OPERATOR)
    [page] = slack.messages_in(FULFILLMENT_MANAGER)
    assert "Fulfillment delay" in page["text"] and "#" in page["text"]
    assert (await bot.actions(alert.id)).count("sales.manager_paged") == 1


async def test_reorder_discussion_opens_a_thread_with_the_sku_facts(bot, slack, shop):
    usual_days(shop, per_day=2, today=0, sku="SKU-CAP")  # 14 a week, 2 a day
    shop.add_variant("SKU-CAP", 5, product_title="Cap", reorder_point=8)
    await pulse(bot)
    [alert] = await alerts(bot)
    assert alert.condition == "low_stock:SKU-CAP"
    await click(bot, ActionId.SALES_REORDER, alert, OPERATOR)
    [thread] = said_in_thread(slack, alert.message.ts)
    assert "Reorder discussion started" in thread["text"]
    assert "SKU-CAP" in thread["text"] and "5 available" in thread["text"]
    assert "reorder point 8" in thread["text"] and "/products/" in thread["text"]
    assert "sales.reorder_started" in await bot.actions(alert.id)


async def test_a_markedly_worse_condition_alerts_again_and_a_cleared_one_says_so(
    bot, slack, shop, clock
):
    first = [delayed(shop, hours=30, email=f"c{i}@example.com") for i in range(2)]
    await pulse(bot)
    delayed(shop, hours=25)  # 3 delayed: worse, not markedly (2 × 2 = 4)
    await pulse(bot)
    assert len(await alerts(bot)) == 1
    more = [delayed(shop, hours=28, email=f"d{i}@example.com") for i in range(2)]  # 5
    await pulse(bot)
    older, worse = await alerts(bot)
    assert worse.supersedes == older.id and worse.finding.value == 5
    assert "Superseded" in json.dumps(slack.message(SALES, older.message.ts)["blocks"])
    assert "Markedly worse" in json.dumps(slack.message(SALES, worse.message.ts)["blocks"])
    assert buttons(slack.message(SALES, older.message.ts)) == []

    for order in [*first, *more, *shop.orders]:
        order.fulfillment = "FULFILLED"
    await pulse(bot)
    await pulse(bot)
    [cleared] = said_in_thread(slack, worse.message.ts)
    assert "Cleared" in cleared["text"]
    assert await bot.store.open_sales_alerts() == []
    assert (await bot.actions(worse.id)).count("sales.cleared") == 1

    delayed(shop, hours=40)  # it comes back: a new alert
    await pulse(bot)
    assert len(await alerts(bot)) == 3


def refund(
    shop: ShopifyStandin, back: int, count: int, *, hour: int, placed_back: int | None = None
) -> list[ShopOrder]:
    """``count`` whole refunds of $50 orders, made ``back`` days ago from ``hour`` (shop time),
    of orders placed ``placed_back`` days ago (by default that same day)."""
    placed, _ = same_hours(NOW, NEW_YORK, back if placed_back is None else placed_back)
    orders = [
        o
        for o in shop.orders
        if placed <= o.created_at < placed + timedelta(days=1) and not o.refunds
    ]
    assert len(orders) >= count, "not enough orders placed that day to refund"
    start, _ = same_hours(NOW, NEW_YORK, back)
    for i, order in enumerate(orders[:count]):
        shop.add_refund(order, start + timedelta(hours=hour, minutes=i), 50.0)
    return orders[:count]


def refund_week(shop: ShopifyStandin, *, usual: int, later: int = 0) -> None:
    """20 orders a day by this hour; on each past day ``usual`` refunds at 10:00 and ``later``
    more at 16:00, after this hour; and ten $50 orders placed ten days ago, before the window."""
    usual_days(shop, per_day=20, today=20)
    shop.add_variant("SKU-HOODIE", 10_000)
    for i in range(10):
        shop.add_order(NOW - timedelta(days=10, minutes=i), 50.0, email=f"r{i}@example.com")
    shop.sort_orders()
    for back in range(1, 8):
        refund(shop, back, usual, hour=10)
        refund(shop, back, later, hour=16)


async def test_a_refund_spike_is_alerted_once_with_its_facts_and_a_follow_up(bot, slack, shop):
    """Refunds today on orders placed before the window (read because they changed in it)
    are four times the usual: one alert, with the refunded orders and Create follow-up."""
    refund_week(shop, usual=1)  # $50 by this hour, each past day
    refunded = refund(shop, 0, 4, hour=9, placed_back=10)  # $200 today, on old orders

    said = await pulse(bot)
    await pulse(bot)  # the next window: the same refunds, nothing new

    [alert] = await alerts(bot)
    assert alert.condition == "refund_spike" and "1 alerted" in said
    message = slack.message(SALES, alert.message.ts)
    shown = json.dumps(message["blocks"])
    assert "Refund spike" in shown and "Refunds today so far" in shown
    assert "$200.00" in shown and "$50.00" in shown
    assert "more than 50% above the 7-day average" in shown
    old = refunded[0].gid.rsplit("/", 1)[1]
    assert f"{shop.url}/admin/orders/{old}" in shown and "placed 23 Nov" in shown
    assert buttons(message) == ["Create follow-up", "Acknowledge"]
    [chart] = [f for f in slack.files() if f["thread_ts"] == alert.message.ts]
    assert "Refunds today so far" in chart["title"]
    [row] = [e for e in await bot.store.entries(subject_id=alert.id) if e.action == "sales.alert"]
    assert row.payload["trigger"] == "refund_spike" and row.payload["severity"] == 300.0
    assert row.payload["affected_total"] == 4

    await click(bot, ActionId.SALES_FOLLOWUP, alert, OPERATOR)
    view = slack.last("views.open").args["view"]
    assert view["callback_id"] == CallbackId.SALES_FOLLOWUP.value


async def test_a_usual_day_of_refunds_stays_quiet(bot, slack, shop):
    refund_week(shop, usual=2)  # $100 by this hour, each past day
    refund(shop, 0, 2, hour=9, placed_back=10)  # and $100 today
    await pulse(bot)
    refund(shop, 0, 1, hour=11)  # $150: half as much again, not more
    await pulse(bot)
    assert await alerts(bot) == []


async def test_a_refund_spike_clears_in_its_thread_once_the_usual_catches_up(
    bot, slack, shop, clock
):
    """Past days refunded most after 15:00: by 17:00 today's $200 is below their usual."""
    refund_week(shop, usual=1, later=4)
    refund(shop, 0, 4, hour=9, placed_back=10)
    await pulse(bot)
    [alert] = await alerts(bot)
    clock.advance(hours=2)
    await pulse(bot)
    await pulse(bot)
    [cleared] = said_in_thread(slack, alert.message.ts)
    assert "Cleared" in cleared["text"] and "Refunds today so far" in cleared["text"]
    assert await bot.store.open_sales_alerts() == []
    assert (await bot.actions(alert.id)).count("sales.cleared") == 1


async def test_a_followup_is_created_in_a_modal_and_its_owner_reminded_when_due(
    bot, slack, shop, clock
):
    usual_days(shop, per_day=20, today=5)
    shop.add_variant("SKU-HOODIE", 10_000)
    await pulse(bot)
    [alert] = await alerts(bot)
    await click(bot, ActionId.SALES_FOLLOWUP, alert, OPERATOR)
    view = slack.last("views.open").args["view"]
    assert view["callback_id"] == CallbackId.SALES_FOLLOWUP.value
    elements = {b["block_id"]: b["element"] for b in view["blocks"] if b["type"] == "input"}
    assert elements[InputId.FOLLOWUP_OWNER]["initial_user"] == OPERATOR
    assert elements[InputId.FOLLOWUP_DUE]["initial_date"] == "2026-12-05"

    response = await submit_followup(
        bot, alert, MANAGER, "2026-12-04", "Check the promo calendar with marketing"
    )
    assert response.status_code == 200
    await bot.settle()
    [note] = said_in_thread(slack, alert.message.ts)
    assert f"<@{MANAGER}>" in note["text"] and "promo calendar" in note["text"]
    assert "due Fri 4 Dec (end of day, UTC)" in note["text"]  # the day picked
    [logged] = [
        e for e in await bot.store.entries(subject_id=alert.id) if e.action == "sales.followup"
    ]
    assert logged.payload["owner"] == MANAGER and logged.actor == OPERATOR

    await JOBS["sales-followups"].run(bot.services)
    assert slack.messages_in(MANAGER) == []  # not due until the 4th has passed
    clock.advance(days=1, hours=5)  # 2026-12-05 01:00 in the team's time zone (OCC_TIMEZONE: UTC)
    await JOBS["sales-followups"].run(bot.services)
    await JOBS["sales-followups"].run(bot.services)
    [reminder] = slack.messages_in(MANAGER)
    assert "follow-up was due" in reminder["text"] and "promo calendar" in reminder["text"]


async def test_a_followup_due_in_the_past_is_refused_in_the_modal(bot, slack, shop):
    usual_days(shop, per_day=20, today=5)
    shop.add_variant("SKU-HOODIE", 10_000)
    await pulse(bot)
    [alert] = await alerts(bot)
    response = await submit_followup(bot, alert, MANAGER, "2026-12-01", "")
    errors = response.json()["errors"]
    assert set(errors) == {InputId.FOLLOWUP_DUE, InputId.FOLLOWUP_NOTE}
    await bot.settle()
    assert "sales.followup" not in await bot.actions(alert.id)


async def test_the_run_spends_within_the_throttle_and_counts_it(bot, shop):
    usual_days(shop, per_day=20, today=20)
    said = await pulse(bot)
    assert shop.throttled == 0
    requests = len(shop.requests)
    assert f"{requests} Shopify requests" in said
    assert f"{shop.spent:g} cost points" in said


async def test_delayed_customers_get_a_note_and_a_proactive_draft_once(bot, slack, chatwoot, shop):
    chatwoot.add_incoming(
        501, "Hi, any news?", contact_name="Dana", contact_email="DANA@example.com"
    )
    chatwoot.add_incoming(502, "Hello", contact_name="Eli", contact_email="eli@example.com")
    late = delayed(shop, hours=30, email="dana@example.com")
    delayed(shop, hours=2, email="eli@example.com")  # not late: Eli hears nothing

    said = await pulse(bot)
    await pulse(bot)  # the delay lasts: nobody is reached twice

    assert "1 conversations noted, 1 proactive drafts offered" in said
    [note] = chatwoot.private_notes(501)
    assert late.gid.rsplit("/", 1)[1] in note["content"] and f"#{late.number}" in note["content"]
    assert chatwoot.private_notes(502) == [] and chatwoot.sent_replies(501) == []
    offered = [e for e in await bot.store.entries() if e.action == "sales.proactive_offered"]
    [draft] = [await bot.store.get_draft(e.subject_id) for e in offered]
    assert draft.input.conversation_id == 501 and draft.input.agent.startswith("Sales Pulse")
    assert f"#{late.number}" in draft.input.customer_message
    card = slack.message(draft.card.channel, draft.card.ts)
    shown = " ".join(buttons(card))
    assert all(word in shown for word in ("Approve", "Edit", "Reject", "Escalate"))
    [alert] = await alerts(bot)
    noted = [
        e
        for e in await bot.store.entries(subject_id=alert.id)
        if e.action == "sales.customer_noted"
    ]
    assert [e.outcome for e in noted] == ["success"]


async def test_chatwoot_down_delays_the_outreach_and_the_next_run_catches_up(
    bot, slack, chatwoot, shop
):
    chatwoot.add_incoming(501, "Hi", contact_name="Dana", contact_email="dana@example.com")
    delayed(shop, hours=30)
    chatwoot.down(503)
    said = await pulse(bot)
    assert "customers not reached yet" in said
    assert len(await alerts(bot)) == 1  # the alert itself went out
    chatwoot.up()
    said = await pulse(bot)
    assert "1 conversations noted, 1 proactive drafts offered" in said
    assert len(chatwoot.private_notes(501)) == 1
    alarm, recovery = [m["text"] for m in slack.messages_in("#occ-reliability")]
    assert "chatwoot" in alarm and "failing" in alarm and "recovered" in recovery


async def test_an_alert_posted_by_a_replica_that_died_before_recording_it_is_not_posted_again(
    bot, slack, shop, clock
):
    delayed(shop, hours=30)
    await pulse(bot)  # the alert, posted and recorded
    [alert] = await alerts(bot)
    clock.now = datetime.now(UTC)  # Slack's search goes by its own clock (ts): keep in step
    # What a replica killed mid-post leaves when the condition worsens: the worse alert
    # opened, its post leased, its message in Slack with its metadata, nothing recorded.
    worse = SalesAlert(
        id="sa_died",
        finding=replace(alert.finding, value=9.0, severity=9.0),
        opened_at=clock(),
        supersedes=alert.id,
    )
    log = LogEntry(
        "log_died",
        clock(),
        "system",
        "sales.alert",
        Scope.SALES,
        worse.id,
        None,
        {},
        Outcome.SUCCESS,
    )
    await bot.store.supersede_sales_alert(alert.id, worse, log)
    lease = clock() + timedelta(minutes=5)
    await bot.store.claim_sales_post(worse.id, "message", now=clock(), lease_until=lease)
    posted = await bot.services.slack.chat_postMessage(
        channel=SALES,
        text="Fulfillment delay (posted by the replica that died)",
        metadata={"event_type": "occ_sales_message", "event_payload": {"id": worse.id}},
    )
    clock.advance(minutes=6)  # its post lease has run out
    await JOBS["reposts"].run(bot.services)
    await bot.settle()

    tops = [m["ts"] for m in slack.messages_in(SALES) if not m.get("thread_ts")]
    assert tops == [alert.message.ts, posted["ts"]]  # not posted a second time
    assert (await bot.store.get_sales_alert(worse.id)).message.ts == posted["ts"]
    [logged] = [
        e for e in await bot.store.entries(subject_id=worse.id) if e.action == "sales.posted"
    ]
    assert logged.payload["reconciled"] is True


async def test_a_page_slack_does_not_deliver_is_alerted_not_lost_silently(bot, slack, shop):
    delayed(shop, hours=26)
    await pulse(bot)
    [alert] = await alerts(bot)
    slack.fail_next("chat.postMessage", "user_not_found", status=200, retry_after=None, times=1)
    await click(bot, ActionId.SALES_PAGE_MANAGER, alert, OPERATOR)
    [warning] = [m["text"] for m in slack.messages_in("#occ-reliability")]
    assert (
        "*slack* is failing" in warning and f"to {FULFILLMENT_MANAGER} was not delivered" in warning
    )


def refuse_alerts_on(sqlite_url: str, condition: str | None) -> None:
    """The database refuses to store an alert on ``condition`` (None: takes them again)."""
    with contextlib.closing(sqlite3.connect(sqlite_url.removeprefix("sqlite:///"))) as db:
        db.execute("drop trigger if exists refuse_alert")
        if condition is not None:
            db.execute(
                "create trigger refuse_alert before insert on sales_alerts "
                f"when new.condition = '{condition}' "
                "begin select raise(abort, 'this alert cannot be stored'); end"
            )
        db.commit()


@pytest.mark.expect_errors("Sales Pulse: revenue_drop failed")
async def test_one_trigger_that_fails_is_alerted_and_the_rest_of_the_run_goes_on(
    bot, slack, chatwoot, shop, sqlite_url
):
    usual_days(shop, per_day=20, today=10)  # revenue down 50 %
    chatwoot.add_incoming(501, "Hi", contact_name="Dana", contact_email="dana@example.com")
    delayed(shop, hours=30)
    shop.add_variant("SKU-HOODIE", 12, product_title="Hoodie")
    refuse_alerts_on(sqlite_url, "revenue_drop")  # the first condition the run follows

    said = await pulse(bot)
    await pulse(bot)  # still failing: on-call already knows

    assert "1 failed" in said and "2 alerted" in said
    assert "1 conversations noted" in said  # the outreach after the alerts still ran
    assert sorted(a.condition for a in await alerts(bot)) == [
        "fulfillment_delay",
        "low_stock:SKU-HOODIE",
    ]
    [alarm] = [m["text"] for m in slack.messages_in("#occ-reliability")]
    assert "Sales Pulse could not handle *revenue_drop*" in alarm
    assert "IntegrityError" in alarm and "this alert cannot be stored" in alarm

    refuse_alerts_on(sqlite_url, None)
    said = await pulse(bot)
    assert "1 alerted" in said and "failed" not in said
    assert "revenue_drop" in [a.condition for a in await alerts(bot)]
    recovered = slack.messages_in("#occ-reliability")[-1]["text"]
    assert "Sales Pulse handles *revenue_drop* again" in recovered


async def test_a_bulk_file_cut_short_fails_the_run_visibly_and_alerts_nothing(bot, slack, shop):
    """Read a line at a time, the orders before the cut were counted: none of it is judged."""
    usual_days(shop, per_day=150, today=20)  # 1,070 orders: a bulk read; revenue down 87 %
    shop.bulk_file_cut = 40_000  # bytes: mid-way through a line, a hundred orders in

    with pytest.raises(ShopifyUnavailable, match=r"bulk result file, line \d+: not a JSON"):
        await pulse(bot)

    assert slack.messages_in(SALES) == []
    assert await bot.store.sales_snapshot() is None  # `/occ pulse` shows no partial reading
    [alarm] = [m["text"] for m in slack.messages_in("#occ-reliability")]
    assert "*shopify* is failing" in alarm and "bulk result file, line" in alarm

    shop.bulk_file_cut = None
    said = await pulse(bot)
    assert said.startswith("1070 orders read by a bulk operation")
    assert [a.condition for a in await alerts(bot)] == ["revenue_drop"]
    assert "recovered" in slack.messages_in("#occ-reliability")[-1]["text"]
