"""Reliability on-call: one alert and one recovery per incident in #occ-reliability, for
Shopify failing (500s, timeouts) with three replicas, stale data, and a job that fell behind;
each alert says what is wrong, since when, the last error and what to run first."""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from bot.demo.standins.shopify import DEFAULT_TOKEN, ShopifyStandin
from bot.flows.cx_scan import ScanFailed
from bot.integrations.chatwoot_answers import ChatwootError, ChatwootTimeout, ChatwootUnavailable
from bot.integrations.shopify import (
    ShopifyError,
    ShopifyThrottled,
    ShopifyTimeout,
    ShopifyUnavailable,
)
from bot.jobs import JOBS
from bot.jobs.runner import run_once
from tests.harness import BotUnderTest, FakeClock, settings_for

NOW = datetime(2026, 12, 3, 20, 0, tzinfo=UTC)
RELIABILITY = "#occ-reliability"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


@pytest.fixture
async def shop() -> AsyncIterator[ShopifyStandin]:
    async with ShopifyStandin() as standin:
        yield standin


def shop_settings(database_url, slack, chatwoot, shop):
    return settings_for(
        database_url, slack, chatwoot, shopify_shop=shop.url, shopify_admin_token=DEFAULT_TOKEN
    )


@pytest.fixture
async def replicas(postgres_url, slack, chatwoot, clock, shop) -> AsyncIterator[list]:
    started = []
    try:
        for _ in range(3):
            settings = shop_settings(postgres_url, slack, chatwoot, shop)
            started.append(await BotUnderTest(settings, clock).start())
        yield started
    finally:
        for bot in started:
            await bot.stop()


async def pulse(
    bot: BotUnderTest, fails: type[ShopifyError] | None = None, *, status: int | None = None
) -> None:
    """Run Sales Pulse: it must succeed, or with ``fails`` fail with just that error (the run
    fails visibly; on-call's view of it is what the tests look at)."""
    if fails is None:
        await JOBS["sales-pulse"].run(bot.services)
    else:
        with pytest.raises(fails) as failed:
            await JOBS["sales-pulse"].run(bot.services)
        assert type(failed.value) is fails and failed.value.status == status, repr(failed.value)
    await bot.settle()


async def scan_fails(bot: BotUnderTest, cause: type[ChatwootError], status: int | None) -> None:
    """Run the CX scan, which must fail visibly because Chatwoot failed with ``cause``."""
    with pytest.raises(ScanFailed) as failed:
        await JOBS["cx-scan"].run(bot.services)
    error = failed.value.__cause__
    assert type(error) is cause and error.status == status, repr(error)


async def test_shopify_failing_then_recovering_is_one_alert_and_one_recovery_across_replicas(
    replicas, slack, shop
):
    shop.down(500)
    for bot in replicas * 2:  # every replica fails, twice
        await pulse(bot, ShopifyUnavailable, status=500)
    shop.up()
    shop.hang(12)  # now too slow: the client's 10 s timeout
    await pulse(replicas[0], ShopifyTimeout)
    shop.up()
    for bot in replicas:
        await pulse(bot)

    alert, recovery = [m["text"] for m in slack.messages_in(RELIABILITY)]
    assert "*shopify* is failing since" in alert and "Last error: Shopify answered 500" in alert
    assert "`occ-bot check`" in alert
    assert "*shopify* has recovered" in recovery and "trouble since" in recovery
    rows = [e for e in await replicas[0].store.entries() if e.scope == "reliability"]
    assert [(e.action, e.subject_id) for e in rows] == [
        ("reliability.alert", "shopify"),
        ("reliability.recovered", "shopify"),
    ]


async def test_a_persisting_throttle_is_a_rate_limit_incident(bot_with_shop, slack, shop):
    bot = bot_with_shop
    shop._bucket.restore_rate = 0.001  # the bucket never refills in time
    shop.drain(shop.maximum)
    await pulse(bot, ShopifyThrottled)
    [alert] = [m["text"] for m in slack.messages_in(RELIABILITY)]
    assert "keeps rate-limiting us" in alert and "the cost bucket needs" in alert


@pytest.fixture
async def bot_with_shop(sqlite_url, slack, chatwoot, clock, shop) -> AsyncIterator[BotUnderTest]:
    bot = await BotUnderTest(shop_settings(sqlite_url, slack, chatwoot, shop), clock).start()
    try:
        yield bot
    finally:
        await bot.stop()


async def test_stale_shopify_data_alerts_once_with_the_last_error_and_recovers(
    bot_with_shop, slack, shop, clock
):
    bot = bot_with_shop
    await pulse(bot)  # a good read at 20:00
    shop.down(503)
    for minutes in (10, 20, 29):
        clock.now = NOW.replace(minute=minutes)
        await pulse(bot, ShopifyUnavailable, status=503)
        await JOBS["health"].run(bot.services)
    assert slack.messages_in(RELIABILITY)[1:] == []  # failing, but not yet stale
    for minutes in (31, 45):
        clock.now = NOW.replace(minute=minutes)
        await pulse(bot, ShopifyUnavailable, status=503)
        await JOBS["health"].run(bot.services)
    shop.up()
    clock.now = NOW.replace(minute=50)
    await pulse(bot)
    await JOBS["health"].run(bot.services)
    await JOBS["health"].run(bot.services)

    texts = [m["text"] for m in slack.messages_in(RELIABILITY)]
    [stale] = [t for t in texts if "stale" in t]
    assert "*Shopify* data is stale: no successful read since" in stale
    assert "Last error: Shopify answered 503" in stale and "`occ-bot check`" in stale
    [fresh] = [t for t in texts if "fresh again" in t]
    assert "*Shopify*" in fresh
    assert "stale:shopify" not in (await bot._http.get(f"{bot.url}/healthz")).json()["degraded"]


async def test_a_job_that_falls_behind_alerts_once_and_recovers(bot, slack, clock):
    await run_once(bot.services, JOBS["outbox"])  # every 3600 s in these tests
    clock.advance(seconds=2 * 3600 - 1)
    await JOBS["health"].run(bot.services)
    assert slack.messages_in(RELIABILITY) == []
    clock.advance(seconds=2)
    await JOBS["health"].run(bot.services)
    await JOBS["health"].run(bot.services)
    [behind] = [m["text"] for m in slack.messages_in(RELIABILITY)]
    assert "*outbox* job has fallen behind" in behind and "`occ-bot check`" in behind
    await run_once(bot.services, JOBS["outbox"])
    await JOBS["health"].run(bot.services)
    _, back = [m["text"] for m in slack.messages_in(RELIABILITY)]
    assert "*outbox* job is running on time again" in back
    logged = [e.action for e in await bot.store.entries() if e.scope == "reliability"]
    assert logged == ["reliability.alert", "reliability.recovered"]


async def test_check_reports_shopify_auth_version_headroom_freshness_and_jobs(bot_with_shop, shop):
    from bot.cli.check import run_check

    bot = bot_with_shop
    await pulse(bot)
    await run_once(bot.services, JOBS["outbox"])
    out = io.StringIO()
    code = await run_check(bot.settings, as_json=True, out=out)
    report = {c["name"]: c for c in json.loads(out.getvalue())["checks"]}
    assert code == 0 and report["shopify"]["ok"]
    shopify = report["shopify"]["detail"]
    assert "API 2026-10" in shopify and "throttle headroom" in shopify and "/2000 points" in shopify
    assert "last good read" in shopify
    assert "jobs:" in report["database"]["detail"] and "outbox" in report["database"]["detail"]

    shop.served_version = "2027-01"  # the pinned version was retired: Shopify serves another
    out = io.StringIO()
    assert await run_check(bot.settings, as_json=True, out=out) == 1
    [failed] = [c for c in json.loads(out.getvalue())["checks"] if not c["ok"]]
    assert failed["name"] == "shopify" and "not the pinned 2026-10" in failed["detail"]

    shop.served_version = None
    shop.token = "another"  # the token was revoked
    out = io.StringIO()
    assert await run_check(bot.settings, as_json=True, out=out) == 1
    assert "401" in json.loads(out.getvalue())["checks"][-1]["detail"]


async def test_the_model_failing_is_alerted_once_and_its_recovery_too(
    sqlite_url, slack, chatwoot, clock
):
    from tests.harness import INTAKE_TOKEN
    from tests.openai_standin import OpenAIStandin

    with OpenAIStandin(api_key="sk-test") as api:
        settings = settings_for(
            sqlite_url, slack, chatwoot, openai_api_key="sk-test", openai_base_url=api.base_url
        )
        bot = await BotUnderTest(settings, clock).start()
        try:
            api.fail_next(500, times=1000)  # past the client's retries, for two messages
            for n, text in enumerate(("Where is my order?", "Can I return it?", "Thanks!")):
                if n == 2:
                    api.recover()
                message = chatwoot.add_incoming(900 + n, text, contact_name="Jen")
                url = f"{bot.url}/webhooks/chatwoot?token={INTAKE_TOKEN}"
                await bot._http.post(url, json=chatwoot.message_created_event(message))
                await bot.settle()
        finally:
            await bot.stop()
    alert, recovery = [m["text"] for m in slack.messages_in(RELIABILITY)]
    assert "*openai* is failing" in alert and "drafting offline meanwhile" in alert
    assert "*openai* has recovered" in recovery


async def test_chatwoot_failing_then_recovering_is_one_alert_and_one_recovery_across_replicas(
    replicas, slack, chatwoot
):
    chatwoot.down(500)
    for bot in replicas * 2:
        await scan_fails(bot, ChatwootUnavailable, 500)
    chatwoot.up()
    chatwoot.hang(12)  # too slow now: the client's 10 s timeout
    await scan_fails(replicas[1], ChatwootTimeout, None)
    chatwoot.up()
    for bot in replicas:
        await JOBS["cx-scan"].run(bot.services)
        await bot.settle()

    alert, recovery = [m["text"] for m in slack.messages_in(RELIABILITY)]
    assert "*chatwoot* is failing since" in alert and "500" in alert
    assert "*chatwoot* has recovered" in recovery
    rows = [e for e in await replicas[0].store.entries() if e.scope == "reliability"]
    assert [e.action for e in rows] == ["reliability.alert", "reliability.recovered"]


async def test_a_restarted_replica_gives_its_jobs_two_periods_before_calling_them_behind(
    bot, slack, clock
):
    await run_once(bot.services, JOBS["outbox"])  # every 3600 s in these tests
    clock.advance(hours=5)  # the bot was stopped meanwhile
    bot.services.started_at = clock()  # and starts again (the scheduler sets this)
    await JOBS["health"].run(bot.services)
    assert slack.messages_in(RELIABILITY) == []
    clock.advance(seconds=2 * 3600 + 1)  # two periods on, and still no run: behind
    await JOBS["health"].run(bot.services)
    [behind] = [m["text"] for m in slack.messages_in(RELIABILITY)]
    assert "*outbox* job has fallen behind" in behind
    bot.services.started_at = clock()  # a restart does not make the stuck job on time
    await JOBS["health"].run(bot.services)
    assert len(slack.messages_in(RELIABILITY)) == 1


async def test_chatwoot_rate_limiting_past_the_retries_is_a_rate_limit_incident(
    bot, slack, chatwoot
):
    chatwoot.rate_limit(requests=1000)
    await scan_fails(bot, ChatwootUnavailable, 429)
    chatwoot.up()
    await JOBS["cx-scan"].run(bot.services)
    alert, recovery = [m["text"] for m in slack.messages_in(RELIABILITY)]
    assert "*chatwoot* keeps rate-limiting us" in alert and "429" in alert
    assert "*chatwoot* has recovered" in recovery


async def test_the_sales_pulse_job_runs_by_hand_from_the_command_line(slack, shop, tmp_path):
    import asyncio
    import os
    import sys

    from tests.commands.test_cli import CLEAN_ENV_KEYS, ROOT
    from tests.harness import DEFAULT_TOKEN as SLACK_TOKEN
    from tests.harness import SIGNING_SECRET

    shop.add_order(
        datetime.now(UTC).replace(microsecond=0) - timedelta(hours=30),
        84.0,
        fulfillment="UNFULFILLED",
    )
    env = {k: v for k, v in os.environ.items() if k in CLEAN_ENV_KEYS} | {
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": f"sqlite:///{tmp_path}/occ.db",
        "SLACK_BOT_TOKEN": SLACK_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": f"{slack.url}/api/",
        "SHOPIFY_SHOP": shop.url,
        "SHOPIFY_ADMIN_TOKEN": DEFAULT_TOKEN,
        "OCC_SPOOL_DIR": str(tmp_path / "spool"),
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.cli",
        "jobs",
        "run",
        "sales-pulse",
        env=env,
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode == 0, err.decode()[-2000:]
    assert "1 alerted" in out.decode()
    [alert] = [m for m in slack.messages_in("#occ-sales") if not m.get("thread_ts")]
    assert "Fulfillment delay" in alert["text"]
