"""Runs of scheduled jobs, one row per job and window: the table, its rows, and the store, on
any `Database`."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Column, Table, Text

from bot.domain import JobRun, RunOutcome
from bot.store import codec
from bot.store.codec import Row
from bot.store.columns import UtcDateTime, check_in, metadata
from bot.store.database import Database
from bot.store.ops import Change, Cond, Insert, Query, Update, eq

RUN_OUTCOMES = ("running", "success", "failed")

# One row per job and window: taking the row is taking the run, so a scan runs once per
# window however many replicas tick.
job_runs_table = Table(
    "job_runs",
    metadata,
    Column("job", Text, primary_key=True),
    Column("window_start", UtcDateTime, primary_key=True),
    Column("runner", Text, nullable=False),
    Column("started_at", UtcDateTime, nullable=False),
    Column("finished_at", UtcDateTime),
    Column("outcome", Text, nullable=False, server_default="running"),
    Column("detail", Text, nullable=False, server_default=""),
    check_in("outcome", RUN_OUTCOMES),
)
TABLE = job_runs_table.name


def job_run_row(run: JobRun) -> Row:
    return {
        "job": run.job,
        "window_start": codec.utc(run.window_start),
        "runner": run.runner,
        "started_at": codec.utc(run.started_at),
        "finished_at": codec.opt_utc(run.finished_at),
        "outcome": run.outcome.value,
        "detail": run.detail,
    }


def job_run_from_row(row: Mapping[str, Any]) -> JobRun:
    return JobRun(
        job=row["job"],
        window_start=codec.required_ts(row["window_start"]),
        runner=row["runner"],
        started_at=codec.required_ts(row["started_at"]),
        finished_at=codec.parse_ts(row["finished_at"]),
        outcome=RunOutcome(row["outcome"]),
        detail=row["detail"],
    )


class JobRuns:
    """Runs of scheduled jobs, one per job and window."""

    db: Database

    async def start_run(self, run: JobRun) -> bool:
        """Take the run for ``(run.job, run.window_start)``; False if another replica has."""
        insert = Insert(TABLE, job_run_row(run), ignore_conflict=True)
        return await self.db.apply(Change(insert)) is not None

    async def finish_run(
        self,
        job: str,
        window_start: datetime,
        *,
        outcome: RunOutcome,
        detail: str,
        finished_at: datetime,
    ) -> JobRun | None:
        update = Update(
            TABLE,
            (eq("job", job), eq("window_start", codec.utc(window_start))),
            {"outcome": outcome.value, "detail": detail, "finished_at": codec.utc(finished_at)},
        )
        row = await self.db.apply(Change(update))
        return None if row is None else job_run_from_row(row)

    async def last_run(self, job: str) -> JobRun | None:
        """The run with the latest window, finished or not."""
        query = Query(
            TABLE, (eq("job", job),), order_by=("window_start",), descending=True, limit=1
        )
        rows = await self.db.select(query)
        return job_run_from_row(rows[0]) if rows else None

    async def forget_runs(self, job: str, before: datetime) -> None:
        """Delete the job's runs whose window started before ``before``."""
        older = Cond("window_start", "lt", codec.utc(before))
        await self.db.delete(TABLE, (eq("job", job), older))
