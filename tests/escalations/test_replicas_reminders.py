"""Exactly once across real replicas: three `occ-bot serve` processes on one PostgreSQL, 200
escalations falling due together, one replica killed mid-run. Every reminder reaches its
escalation's thread once."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.domain import Outcome
from bot.store import open_store
from tests.escalations.seeding import seed_escalations
from tests.harness import MANAGER, SIGNING_SECRET

ROOT = Path(__file__).resolve().parents[2]
ESCALATIONS = 200
REPLICAS = 3
DEADLINE_SECONDS = 90.0


async def seed(database_url: str, slack, due_at: datetime) -> list[str]:
    """200 escalated drafts, each with its message already in the escalations channel."""
    store = open_store(database_url, None, None)
    await store.migrate()
    try:
        return await seed_escalations(store, slack.api_url, [due_at] * ESCALATIONS)
    finally:
        await store.close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def serve(database_url: str, slack, tmp_path: Path, n: int) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR")}
    env |= {
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": database_url,
        "SLACK_BOT_TOKEN": "xoxb-occ-standin",
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack.api_url,
        "OCC_MANAGERS": MANAGER,
        "OCC_JOB_TICK_SECONDS": "0.5",
        "OCC_SLACK_POST_LEASE_SECONDS": "5",
        "OCC_SLACK_POSTS_PER_SECOND": "1000",  # the stand-in enforces no posting limit here
        "OCC_SLACK_POST_BURST": "1000",
    }
    log = (tmp_path / f"replica-{n}.log").open("w")
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bot.cli",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(free_port()),
        ],
        env=env,
        cwd=tmp_path,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


async def unrecorded(store) -> list[str]:
    """The escalations whose reminder the database does not yet hold as posted."""
    return [
        f"esc-{n:03d}"
        for n in range(ESCALATIONS)
        if not any(r.message for r in await store.reminders_of(f"esc-{n:03d}"))
    ]


async def ran_since(store, job: str, since: datetime) -> bool:
    """Whether a run of ``job`` that started after ``since`` has finished."""
    run = await store.last_run(job)
    return run is not None and run.started_at > since and run.finished_at is not None


def reminders_by_thread(slack, threads: dict[str, str]) -> dict[str, int]:
    counts = dict.fromkeys(threads, 0)
    for message in slack.messages_in("#occ-escalations"):
        parent = message.get("thread_ts")
        if parent in counts and "Reminder" in message.get("text", ""):
            counts[parent] += 1
    return counts


async def test_three_replicas_post_every_due_reminder_once_though_one_is_killed(
    postgres_url, slack, tmp_path
):
    due_at = datetime.now(UTC) + timedelta(seconds=15)
    await seed(postgres_url, slack, due_at)
    threads = {
        m["ts"]: m["text"] for m in slack.messages_in("#occ-escalations") if not m.get("thread_ts")
    }
    # Slack under load, answering each post late after it is posted: the run lasts long
    # enough to kill, and the kill can fall between a post and its record.
    slack.slow("chat.postMessage", 0.05, after_effect=True)
    replicas = [serve(postgres_url, slack, tmp_path, n) for n in range(REPLICAS)]
    try:
        deadline = time.monotonic() + DEADLINE_SECONDS
        while sum(reminders_by_thread(slack, threads).values()) < ESCALATIONS // 4:
            assert time.monotonic() < deadline, "the reminders did not start"
            assert all(r.poll() is None for r in replicas), "a replica exited"
            await asyncio.sleep(0.05)
        replicas[0].kill()  # mid-run: it may hold reminders taken, or posted but unrecorded
        posted_at_kill = sum(reminders_by_thread(slack, threads).values())

        while min(reminders_by_thread(slack, threads).values()) < 1:
            assert time.monotonic() < deadline, reminders_by_thread(slack, threads)
            await asyncio.sleep(0.1)
        store = open_store(postgres_url, None, None)
        try:
            # Past the post lease: the survivors have taken up every reminder the killed
            # replica took, or posted without recording, and recorded each. A late duplicate
            # is posted before its record, so it would show by now...
            while missing := await unrecorded(store):
                assert time.monotonic() < deadline, f"not recorded: {missing[:10]}"
                await asyncio.sleep(0.1)
            recorded_at = datetime.now(UTC)
            # ...and so would one from a run already under way then: wait for a later run.
            while not await ran_since(store, "reminders", recorded_at):
                assert time.monotonic() < deadline, "no reminders run after the last record"
                await asyncio.sleep(0.1)

            counts = reminders_by_thread(slack, threads)
            assert sorted(set(counts.values())) == [1], {t: c for t, c in counts.items() if c != 1}
            assert posted_at_kill < ESCALATIONS  # the kill came mid-run
            for n in range(ESCALATIONS):
                escalation = await store.get_escalation(f"esc-{n:03d}")
                assert escalation.reminders_sent == 1
                [reminder] = await store.reminders_of(escalation.id)
                assert reminder.message is not None
            reminded = [
                e
                for n in range(ESCALATIONS)
                for e in await store.entries(subject_id=f"esc-{n:03d}")
                if e.action == "escalation.reminded" and e.outcome is Outcome.SUCCESS
            ]
            assert len(reminded) == ESCALATIONS  # one success row each, no more
        finally:
            await store.close()
    finally:
        for replica in replicas:
            if replica.poll() is None:
                replica.send_signal(signal.SIGTERM)
        for replica in replicas:
            try:
                replica.wait(timeout=30)
            except subprocess.TimeoutExpired:
                replica.kill()
