"""Scheduled jobs: once per window across replicas, one bad item never stops the batch, every
run recorded for `occ-bot jobs list`, and shutdown waits for the runs under way."""

from __future__ import annotations

import asyncio
import inspect
import sqlite3
from datetime import UTC, datetime

import pytest

from bot.domain import RunOutcome
from bot.jobs import JOBS, Job
from bot.jobs.runner import Scheduler, run_once, window_start
from tests.harness import OPERATOR, BotUnderTest, eventually, settings_for


class Counting:
    """A job that counts its runs (and can be held mid-run)."""

    def __init__(self) -> None:
        self.runs = 0
        self.release = asyncio.Event()
        self.release.set()

    def job(self, every: float = 300.0) -> Job:
        async def run(services) -> str:
            self.runs += 1
            await self.release.wait()
            return f"run {self.runs}"

        return Job("count", run, "counts its runs", lambda settings: every)


@pytest.fixture
async def replicas(postgres_url, slack, chatwoot, clock):
    """Three replicas of the bot on one PostgreSQL database."""
    bots = []
    for _ in range(3):
        bots.append(await BotUnderTest(settings_for(postgres_url, slack, chatwoot), clock).start())
    try:
        yield bots
    finally:
        for bot in bots:
            await bot.stop()


def test_windows_are_aligned_so_every_replica_names_the_same_one() -> None:
    at = datetime(2026, 12, 1, 10, 7, 41, 250000, tzinfo=UTC)
    assert window_start(at, 300) == datetime(2026, 12, 1, 10, 5, tzinfo=UTC)
    assert window_start(at, 30) == datetime(2026, 12, 1, 10, 7, 30, tzinfo=UTC)
    assert window_start(at, 0.5 * 60) == datetime(2026, 12, 1, 10, 7, 30, tzinfo=UTC)


async def test_a_job_runs_once_per_window_however_many_replicas_tick(replicas, clock) -> None:
    counting = Counting()
    job = counting.job()

    runs = await asyncio.gather(
        *(run_once(bot.services, job) for bot in replicas for _ in range(4))
    )

    assert counting.runs == 1
    [ran] = [r for r in runs if r is not None]
    assert ran.outcome is RunOutcome.SUCCESS and ran.detail == "run 1"
    for bot in replicas:  # every replica sees the same last run
        assert await bot.store.last_run("count") == ran

    clock.advance(seconds=300)
    await asyncio.gather(*(run_once(bot.services, job) for bot in replicas))
    assert counting.runs == 2


async def test_a_run_by_hand_does_not_wait_for_the_next_window(bot: BotUnderTest) -> None:
    counting = Counting()
    job = counting.job()
    await run_once(bot.services, job)

    by_hand = await run_once(bot.services, job, by_hand=True)

    assert counting.runs == 2
    assert by_hand is not None and by_hand.runner.endswith("(by hand)")


@pytest.mark.expect_errors(r"job broken failed \[RuntimeError: Shopify said no\]")
async def test_a_failing_job_is_recorded_as_failed_with_its_error(bot: BotUnderTest) -> None:
    async def broken(services) -> str:
        raise RuntimeError("Shopify said no")

    job = Job("broken", broken, "always fails", lambda settings: 60)

    ran = await run_once(bot.services, job)

    assert ran is not None and ran.outcome is RunOutcome.FAILED
    assert ran.detail == "RuntimeError: Shopify said no"
    assert await bot.store.last_run("broken") == ran


@pytest.mark.expect_errors(r"posting the card of d_\w+ failed \[KeyError")
async def test_one_bad_card_does_not_stop_the_other_reposts_or_the_escalations(
    bot: BotUnderTest, slack, clock, scenarios, sqlite_url
) -> None:
    escalated = await bot.posted_draft(scenarios["demo-3-triple-charge"].payload)
    # The escalation's message and the three cards (refused once each: not parked).
    slack.fail_next("chat.postMessage", "channel_not_found", times=4)
    await bot.submit_escalation(
        escalated.id, OPERATOR, type="high_value", urgency="urgent", notes="refund"
    )
    await bot.settle()
    ids = []
    for key in ("demo-1-order-status", "demo-2-wrong-item", "exercise-1-international-shipping"):
        response = await bot.post_draft(scenarios[key].payload)
        ids.append(response.json()["id"])
    await bot.settle()
    assert slack.messages_in("#occ-escalations") == []
    # One draft's stored row is unreadable (as a bad manual edit would leave it).
    with sqlite3.connect(sqlite_url.removeprefix("sqlite:///")) as conn:
        conn.execute("update drafts set input = '{}' where id = ?", (ids[0],))
    conn.close()
    clock.advance(minutes=6)
    cards_before = len(slack.messages_in("#occ-approvals"))

    ran = await run_once(bot.services, JOBS["reposts"])

    assert ran is not None and ran.outcome is RunOutcome.SUCCESS
    assert ran.detail == (
        "3 cards tried, 1 failed (see the log); 1 escalations tried; 0 sales alerts tried; "
        "0 coaching notes tried"
    )
    assert len(slack.messages_in("#occ-approvals")) == cards_before + 2
    assert [(await bot.store.get_draft(i)).card is not None for i in ids[1:]] == [True, True]
    assert len(slack.messages_in("#occ-escalations")) == 1


async def test_jobs_list_shows_the_last_run_its_outcome_and_the_next(tmp_path) -> None:
    from tests.commands.test_cli import occ_bot

    env = {"DATABASE_URL": f"sqlite:///{tmp_path}/occ.db", "OCC_JOB_TICK_SECONDS": "60"}
    before = occ_bot("jobs", "list", env=env)
    ran = occ_bot("jobs", "run", "reposts", env=env)
    after = occ_bot("jobs", "list", env=env)

    assert before.returncode == 0, before.stderr
    assert "outbox: send Chatwoot messages" in before.stdout
    assert before.stdout.count("last run: never") == len(JOBS)
    assert ran.returncode == 0 and "reposts: success: 0 cards tried; 0 escalations tried" in (
        ran.stdout
    )
    reposts = after.stdout.split("reposts:")[1]
    assert "last run: success" in reposts and "(by hand)" in reposts
    assert "0 cards tried" in reposts
    assert "next run: 20" in reposts  # a time, not "at the next tick"
    assert "last run: never" in after.stdout.split("reposts:")[0]  # the outbox did not run


async def test_stopping_the_scheduler_waits_for_the_run_under_way(bot: BotUnderTest) -> None:
    counting = Counting()
    counting.release.clear()
    scheduler = Scheduler(bot.services)
    tick = asyncio.create_task(scheduler._tick(counting.job()))
    await eventually(lambda: counting.runs)  # the run is under way, held

    stopping = asyncio.create_task(scheduler.stop(timeout=10))
    # stop() has had its turn: it either returned or is waiting (on the run, it should be).
    await eventually(lambda: inspect.getcoroutinestate(stopping.get_coro()) != inspect.CORO_CREATED)
    assert not stopping.done()  # still waiting for the run

    counting.release.set()
    await asyncio.wait_for(stopping, timeout=5)
    assert tick.done()  # it returned once the run had finished, not before
    await tick
    assert (await bot.store.last_run("count")).outcome is RunOutcome.SUCCESS
