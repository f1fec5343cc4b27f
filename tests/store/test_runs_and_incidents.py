"""Job runs and incidents: the store contract, on SQLite, PostgreSQL and Supabase's REST API."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

from bot.domain import Action, Incident, JobRun, LogEntry, Outcome, RunOutcome, Scope
from bot.store import Store

pytest_plugins = ["tests.store_fixtures"]

T0 = datetime(2025, 3, 14, 9, 30, tzinfo=UTC)
WINDOW = datetime(2025, 3, 14, 9, 30, tzinfo=UTC)


def run(job: str = "cx-scan", *, runner: str = "host-a:1", window: datetime = WINDOW) -> JobRun:
    return JobRun(job=job, window_start=window, runner=runner, started_at=T0)


def alert(subject: str = "chatwoot", action: Action = Action.RELIABILITY_ALERT) -> LogEntry:
    return LogEntry(
        id=f"log-{uuid.uuid4().hex}",
        created_at=T0,
        actor="system",
        action=action,
        scope=Scope.RELIABILITY,
        subject_id=subject,
        conversation_id=None,
        payload={"dependency": subject},
        outcome=Outcome.FAILED if action is Action.RELIABILITY_ALERT else Outcome.SUCCESS,
    )


def incident(at: datetime = T0, detail: str = "503 from Chatwoot") -> Incident:
    return Incident(id="dependency:chatwoot", scope=Scope.RELIABILITY, opened_at=at, detail=detail)


async def actions(store: Store, subject: str = "chatwoot") -> list[str]:
    return [str(e.action) for e in await store.entries(subject_id=subject)]


# --- job runs -------------------------------------------------------------------------------


async def test_one_replica_takes_a_window_however_many_try(store: Store) -> None:
    runners = [run(runner=f"host-{n}:1") for n in range(6)]

    taken = await asyncio.gather(*(store.start_run(r) for r in runners))

    assert sum(taken) == 1
    last = await store.last_run("cx-scan")
    assert last is not None and last.runner == runners[taken.index(True)].runner
    assert last.outcome is RunOutcome.RUNNING


async def test_the_next_window_is_a_new_run(store: Store) -> None:
    assert await store.start_run(run())
    assert await store.start_run(run(window=WINDOW + timedelta(minutes=5)))
    assert not await store.start_run(run(window=WINDOW + timedelta(minutes=5), runner="b:2"))


async def test_a_finished_run_keeps_its_outcome_and_detail(store: Store) -> None:
    await store.start_run(run())
    ended = T0 + timedelta(seconds=3)

    finished = await store.finish_run(
        "cx-scan", WINDOW, outcome=RunOutcome.FAILED, detail="Chatwoot: 503", finished_at=ended
    )

    assert finished == JobRun(
        job="cx-scan",
        window_start=WINDOW,
        runner="host-a:1",
        started_at=T0,
        finished_at=ended,
        outcome=RunOutcome.FAILED,
        detail="Chatwoot: 503",
    )
    assert await store.last_run("cx-scan") == finished


async def test_last_run_is_the_latest_window_of_that_job(store: Store) -> None:
    for minutes in (0, 10, 5):
        await store.start_run(run(window=WINDOW + timedelta(minutes=minutes)))
    await store.start_run(run("sales-pulse", window=WINDOW + timedelta(hours=1)))

    last = await store.last_run("cx-scan")

    assert last is not None and last.window_start == WINDOW + timedelta(minutes=10)
    assert await store.last_run("digest") is None


async def test_forgetting_old_runs_keeps_the_recent_ones_and_other_jobs(store: Store) -> None:
    for hours in (0, 30, 49):
        await store.start_run(run(window=WINDOW + timedelta(hours=hours)))
    await store.start_run(run("sales-pulse"))

    await store.forget_runs("cx-scan", before=WINDOW + timedelta(hours=30))

    assert not await store.start_run(run(window=WINDOW + timedelta(hours=30)))  # still there
    assert await store.start_run(run(window=WINDOW))  # gone, so it can be taken again
    assert not await store.start_run(run("sales-pulse"))


# --- incidents ------------------------------------------------------------------------------


async def test_an_incident_opens_once_however_many_replicas_see_it(store: Store) -> None:
    opened = await asyncio.gather(*(store.open_incident(incident(), alert()) for _ in range(6)))

    assert sum(found is not None for found in opened) == 1
    assert await store.open_incidents() == [incident()]
    assert await actions(store) == ["reliability.alert"]


async def test_an_incident_closes_once_and_logs_the_recovery(store: Store) -> None:
    await store.open_incident(incident(), alert())
    later = T0 + timedelta(minutes=4)

    closed = await asyncio.gather(
        *(
            store.close_incident(
                "dependency:chatwoot", now=later, log=alert(action=Action.RELIABILITY_RECOVERED)
            )
            for _ in range(4)
        )
    )

    assert [found for found in closed if found is not None] == [
        Incident(
            id="dependency:chatwoot",
            scope=Scope.RELIABILITY,
            opened_at=T0,
            detail="503 from Chatwoot",
            closed_at=later,
        )
    ]
    assert await store.open_incidents() == []
    assert await actions(store) == ["reliability.alert", "reliability.recovered"]


async def test_a_closed_incident_opens_again_on_the_next_failure(store: Store) -> None:
    await store.open_incident(incident(), alert())
    await store.close_incident(
        "dependency:chatwoot", now=T0, log=alert(action=Action.RELIABILITY_RECOVERED)
    )
    again = T0 + timedelta(hours=2)

    reopened = await store.open_incident(incident(again, "timeout"), alert())

    assert reopened == incident(again, "timeout")
    assert await store.open_incident(incident(again), alert()) is None
    assert await store.open_incidents() == [incident(again, "timeout")]
    assert await actions(store) == [
        "reliability.alert",
        "reliability.recovered",
        "reliability.alert",
    ]


async def test_closing_what_is_not_open_changes_nothing(store: Store) -> None:
    recovered = alert(action=Action.RELIABILITY_RECOVERED)
    assert await store.close_incident("dependency:slack", now=T0, log=recovered) is None
    assert await actions(store) == []
