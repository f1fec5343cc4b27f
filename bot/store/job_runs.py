"""Runs of scheduled jobs, one row per job and window, on any `Database`."""

from __future__ import annotations

from datetime import datetime

from bot.domain import JobRun, RunOutcome
from bot.store import codec
from bot.store.database import Database
from bot.store.ops import Change, Cond, Insert, Query, Update, eq


class JobRuns:
    db: Database

    async def start_run(self, run: JobRun) -> bool:
        insert = Insert("job_runs", codec.job_run_row(run), ignore_conflict=True)
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
            "job_runs",
            (eq("job", job), eq("window_start", codec.utc(window_start))),
            {"outcome": outcome.value, "detail": detail, "finished_at": codec.utc(finished_at)},
        )
        row = await self.db.apply(Change(update))
        return None if row is None else codec.job_run_from_row(row)

    async def last_run(self, job: str) -> JobRun | None:
        query = Query(
            "job_runs", (eq("job", job),), order_by=("window_start",), descending=True, limit=1
        )
        rows = await self.db.select(query)
        return codec.job_run_from_row(rows[0]) if rows else None

    async def forget_runs(self, job: str, before: datetime) -> None:
        older = Cond("window_start", "lt", codec.utc(before))
        await self.db.delete("job_runs", (eq("job", job), older))
