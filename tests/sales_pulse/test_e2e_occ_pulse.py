"""`/occ pulse` end to end: a real slash command answered from the snapshot the `sales-pulse`
job kept of the seeded Shopify stand-in, with numbers counted here by hand; no Shopify read
per question; a reading older than its period answered at once and followed by one fresh
read however many ask; the trend chart by direct message; Sales Pulse off without Shopify."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from bot.demo.standins.shopify import DEFAULT_TOKEN, ShopifyStandin
from bot.demo.standins.slack import SlackUser
from bot.flows.sales_pulse import JOB
from bot.jobs import JOBS
from tests.harness import (
    MANAGER,
    OPERATOR,
    OUTSIDER,
    BotUnderTest,
    FakeClock,
    real_slash_command,
    settings_for,
)
from tests.outcomes.test_home_tab import FIXTURES, published
from tests.sales_pulse.test_rules_sales import NEW_YORK

# 15:00 in New York (UTC-5 in December): the shop's "today" began at 05:00 UTC.
NOW = datetime(2026, 12, 3, 20, 0, tzinfo=UTC)


def local(days_back: int, hour: int, minute: int = 0) -> datetime:
    day = NOW.astimezone(NEW_YORK).date() - timedelta(days=days_back)
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=NEW_YORK)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


@pytest.fixture
async def shop() -> AsyncIterator[ShopifyStandin]:
    async with ShopifyStandin(timezone="America/New_York") as standin:
        yield standin


def shop_settings(sqlite_url, slack, chatwoot, shop, **overrides):
    return settings_for(
        sqlite_url,
        slack,
        chatwoot,
        shopify_shop=shop.url,
        shopify_admin_token=DEFAULT_TOKEN,
        **({"OCC_OPERATORS": OPERATOR} | overrides),
    )


@pytest.fixture
async def bot(sqlite_url, slack, chatwoot, clock, shop) -> AsyncIterator[BotUnderTest]:
    instance = await BotUnderTest(shop_settings(sqlite_url, slack, chatwoot, shop), clock).start()
    try:
        yield instance
    finally:
        await instance.stop()


def seed(shop: ShopifyStandin) -> dict[str, str]:
    """A week of the same day, and today a little busier; the orders the tile lists, by name.

    Each of the past 7 days: four $50 hoodie orders at 09:00-12:00 (before 15:00: the same
    hours) and a $100 order of two mugs at 18:00 (after them). Today: four $50 hoodie orders
    at 09:00-12:00 and a $50 cap order at 14:00, paid and not fulfilled yet. Two paid orders
    older than the window wait too: one unfulfilled 200 h ago, one partly fulfilled 190 h ago.
    """
    for back in range(7, 0, -1):
        for hour in (9, 10, 11, 12):
            shop.add_order(local(back, hour), 50.0, line_items=[("SKU-HOODIE", 1)])
        shop.add_order(local(back, 18), 100.0, line_items=[("SKU-MUG", 2)])
    for hour in (9, 10, 11, 12):
        shop.add_order(local(0, hour), 50.0, line_items=[("SKU-HOODIE", 1)])
    cap = shop.add_order(local(0, 14), 50.0, fulfillment="UNFULFILLED", line_items=[("SKU-CAP", 1)])
    oldest = shop.add_order(
        NOW - timedelta(hours=200), 84.0, fulfillment="UNFULFILLED", line_items=[("SKU-MUG", 1)]
    )
    partly = shop.add_order(
        NOW - timedelta(hours=190),
        120.0,
        fulfillment="PARTIALLY_FULFILLED",
        line_items=[("SKU-MUG", 1)],
    )
    shop.sort_orders()
    shop.add_variant("SKU-HOODIE", 12, product_title="Hoodie")  # 28 sold a week: 4 a day
    shop.add_variant("SKU-MUG", 500, product_title="Mug")  # 14 sold a week: 2 a day
    return {
        name: f"<{shop.url}/admin/orders/{order.gid.rsplit('/', 1)[1]}|#{order.number}>"
        for name, order in (("cap", cap), ("oldest", oldest), ("partly", partly))
    }


async def run_pulse(bot: BotUnderTest) -> None:
    await JOBS[JOB].run(bot.services)
    await bot.settle()


async def ask(bot: BotUnderTest, slack, user: str = OPERATOR, hook: str = "pulse") -> list[str]:
    """`/occ pulse` as Slack delivers it; every answer posted to its response_url."""
    body = real_slash_command(
        user=user,
        command="/occ",
        text="pulse",
        channel="C0APPROVALS",
        response_url=slack.response_url(hook),
    )
    response = await bot.slack.send(body)
    assert response.status_code == 200 and response.text == ""
    await bot.settle()
    answers = [c.args for c in slack.calls("response_url") if c.args["hook"] == hook]
    assert {a["response_type"] for a in answers} == {"ephemeral"}
    return [a["text"] for a in answers]


def charts_for(slack, user: str) -> list[dict]:
    dm = slack.channel_id(user)
    return [f for f in slack.files() if f["channel"] in (user, dm)]


async def test_the_tile_shows_todays_numbers_counted_by_hand_without_reading_the_shop(
    bot, slack, shop, clock
):
    orders = seed(shop)
    await run_pulse(bot)
    alerts = {a.condition: a for a in await bot.store.open_sales_alerts()}
    assert set(alerts) == {"fulfillment_delay", "low_stock:SKU-HOODIE"}
    clock.advance(minutes=4)
    read_before = len(shop.requests)

    [text] = await ask(bot, slack)

    assert len(shop.requests) == read_before  # answered from the snapshot alone
    assert "read 4 min ago" in text and "America/New_York, midnight to 15:00" in text
    # Today $250 in 5 orders; each past day $200 in 4 orders by 15:00 (its $100 at 18:00
    # comes later): both 25 % up.
    assert "Revenue *$250.00*: *+25%* against the same hours of the last 7 days" in text
    assert "(average $200.00)" in text
    assert "Orders *5*: *+25%* (average 4)" in text
    assert "*Paid, not yet fulfilled: 3*, oldest first" in text
    unfulfilled = [line for line in text.splitlines() if "/admin/orders/" in line]
    assert unfulfilled == [
        f"• {orders['oldest']} $84.00, 8.3 days old",
        f"• {orders['partly']} $120.00, 7.9 days old, partly fulfilled",
        f"• {orders['cap']} $50.00, 1 h old",
    ]
    # Units since 15:00 seven days ago: hoodies 6 × 4 + 4 today = 28 (4 a day, 12 left: 3 days
    # of cover, an open low-stock alert); mugs 7 × 2 = 14 (2 a day, 500 left); one cap, a SKU
    # Shopify has no variant for.
    hoodie = next(line for line in text.splitlines() if "`SKU-HOODIE`" in line)
    assert "Hoodie - Default Title" in hoodie
    assert "28 sold (4 a day), 12 in stock, 3.0 days of cover" in hoodie
    assert "low-stock alert open" in hoodie
    mug = next(line for line in text.splitlines() if "`SKU-MUG`" in line)
    assert "14 sold (2 a day), 500 in stock, 250.0 days of cover" in mug
    assert "low-stock" not in mug
    cap = next(line for line in text.splitlines() if "`SKU-CAP`" in line)
    assert "1 sold (0.1 a day), stock unknown" in cap
    assert text.index("`SKU-HOODIE`") < text.index("`SKU-MUG`") < text.index("`SKU-CAP`")
    assert "*Open Sales Pulse alerts: 2*" in text
    assert "Fulfillment delay" in text and "Low stock" in text
    assert ":large_green_circle: Shopify read 4 min ago" in text
    assert "The trend chart" in text
    [chart] = charts_for(slack, OPERATOR)
    assert chart["content"].startswith(b"\x89PNG") and "Sales Pulse" in chart["title"]


async def test_a_reading_older_than_its_period_answers_at_once_then_once_afresh(
    bot, slack, shop, clock
):
    seed(shop)
    await run_pulse(bot)
    clock.advance(minutes=20)  # past the 15-minute period
    shop.add_order(local(0, 15, 10), 50.0, line_items=[("SKU-HOODIE", 1)])
    read_before = len(shop.requests)

    stale, fresh = await ask(bot, slack)

    assert "This reading is 20 min old" in stale and "a fresh read is under way" in stale
    assert "Revenue *$250.00*" in stale
    # The fresh read: 6 orders, $300, against the same 4 and $200 by 15:20 on past days.
    assert "Revenue *$300.00*: *+50%*" in fresh and "Orders *6*: *+50%*" in fresh
    assert "read 0 s ago" in fresh
    runs = [r for r in [await bot.store.last_run(JOB)] if r is not None]
    assert runs and runs[0].outcome.value == "success"
    facts = [r for r in shop.requests[read_before:] if "ShopFacts" in r.query]
    assert len(facts) == 1  # one run of the job read the shop
    [chart] = charts_for(slack, OPERATOR)  # with the fresh numbers only
    assert chart["filename"] == "sales-pulse-2026-12-03-1520.png"


async def test_many_asking_at_once_on_two_replicas_make_one_read(
    sqlite_url, slack, chatwoot, shop, clock
):
    seed(shop)
    settings = shop_settings(sqlite_url, slack, chatwoot, shop, OCC_OPERATORS="")
    first = await BotUnderTest(settings, clock).start()
    second = await BotUnderTest(settings, clock).start()
    try:
        await run_pulse(first)
        clock.advance(minutes=16)
        read_before = len(shop.requests)
        askers = [f"U0ASKER{n:02d}" for n in range(8)]
        for n, user in enumerate(askers):
            slack.add_user(SlackUser(user, f"asker{n}", f"Asker {n}", f"asker{n}@example.com"))
        bodies = [
            (
                replica,
                real_slash_command(
                    user=user,
                    command="/occ",
                    text="pulse",
                    channel="C0APPROVALS",
                    response_url=slack.response_url(user),
                ),
            )
            for n, user in enumerate(askers)
            for replica in [(first, second)[n % 2]]
        ]
        sent = await asyncio.gather(*(replica.slack.send(body) for replica, body in bodies))
        assert {r.status_code for r in sent} == {200}
        await first.settle()
        await second.settle()
    finally:
        await first.stop()
        await second.stop()

    facts = [r for r in shop.requests[read_before:] if "ShopFacts" in r.query]
    assert len(facts) == 1  # one read of the shop for eight questions on two replicas
    for user in askers:
        texts = [c.args["text"] for c in slack.calls("response_url") if c.args["hook"] == user]
        assert len(texts) == 2, user
        assert "16 min old" in texts[0] and "read 0 s ago" in texts[1]
        assert len(charts_for(slack, user)) == 1


async def test_before_the_first_reading_it_says_so_then_answers(bot, slack, shop):
    seed(shop)

    first, then = await ask(bot, slack)

    assert "has not read the shop yet" in first
    assert "Revenue *$250.00*" in then


async def test_a_fresh_read_that_fails_says_why_and_keeps_the_old_numbers(bot, slack, shop, clock):
    seed(shop)
    await run_pulse(bot)
    clock.advance(minutes=30)
    shop.down(503)

    stale, failed = await ask(bot, slack)

    assert "This reading is 30 min old" in stale
    assert "The fresh read of the shop did not answer: it failed" in failed
    assert "the reading above is the latest" in failed


async def test_sales_pulse_is_off_without_shopify(sqlite_url, slack, chatwoot, clock):
    instance = await BotUnderTest(settings_for(sqlite_url, slack, chatwoot), clock).start()
    try:
        [text] = await ask(instance, slack)
    finally:
        await instance.stop()
    assert text.startswith("Sales Pulse is off: set `SHOPIFY_SHOP`")
    assert slack.files() == []


async def test_only_operators_and_managers_see_it(bot, slack, shop):
    seed(shop)
    await run_pulse(bot)

    [refused] = await ask(bot, slack, user=OUTSIDER, hook="outsider")
    [shown] = await ask(bot, slack, user=MANAGER, hook="manager")

    assert refused.startswith("Sales Pulse is shown to operators and managers only")
    assert "Revenue *$250.00*" in shown
    assert charts_for(slack, OUTSIDER) == []


async def open_home(bot: BotUnderTest, user: str) -> None:
    envelope = json.loads(
        (FIXTURES / "slack_events_api_app_home_opened_home_tab_java_sdk.json").read_text()
    )
    envelope["event"]["user"] = user
    response = await bot.slack.send_event(envelope)
    assert response.status_code == 200
    await bot.settle()


async def test_the_home_tab_shows_sales_pulse_at_a_glance_and_when_shopify_was_read(
    bot, slack, shop, clock
):
    seed(shop)
    await run_pulse(bot)
    read_before = len(shop.requests)
    clock.advance(minutes=4)
    await open_home(bot, OPERATOR)
    clock.advance(minutes=40)  # past OCC_DATA_STALE_MINUTES (30) since the last read
    await open_home(bot, OPERATOR)
    await open_home(bot, OUTSIDER)

    fresh, stale = published(slack, OPERATOR)
    assert "*Sales Pulse* (read 4 min ago; all of it: `/occ pulse`)" in fresh
    assert "Revenue *$250.00* (+25% against the usual by this hour)" in fresh
    assert "*5* orders (+25%)" in fresh
    assert "*3* paid orders unfulfilled, the oldest 8.3 days old" in fresh
    assert "*2* alerts open" in fresh
    assert ":large_green_circle: Shopify read 4 min ago" in fresh
    assert ":white_circle: Chatwoot not read yet" in fresh
    assert ":red_circle: *Shopify read 44 min ago*, stale past 30 min" in stale
    assert fresh.index("drafts waiting") < fresh.index("Sales Pulse") < fresh.index("numbers")
    assert len(shop.requests) == read_before  # drawn from the snapshot, not from Shopify
    [outsider] = published(slack, OUTSIDER)
    assert "Sales Pulse" not in outsider and "$250.00" not in outsider
