"""A job's run, once per window across replicas: the run lease every scheduled job takes
(`bot.jobs.runner`), and that `/occ pulse` takes to read the shop afresh, so that a
question never makes a run the schedule would not have made.

A run first takes the ``job_runs`` row for its job and window (the window ``now`` falls in,
aligned to the epoch, so every replica names the same one) with a conditional insert; the
replica that gets it runs, records the outcome and forgets runs older than a day.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from bot.domain import JobRun, RunOutcome
from bot.integrations.chatwoot_answers import ChatwootError
from bot.services import Services
from bot.slack import SLACK_FAILURES
from bot.store.errors import first_line, unavailable

log = logging.getLogger("occ.jobs")

HISTORY = timedelta(days=1)  # how long finished runs are kept
DETAIL_MAX = 500
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def expected_failure(error: BaseException) -> bool:
    """A dependency that is down or refusing (Chatwoot, Shopify, Slack, the database), as
    opposed to a bug in the bot: the failure itself or what it was raised from."""
    dependencies = (ChatwootError, *_shopify_errors(), *SLACK_FAILURES)
    cause: BaseException | None = error
    for _ in range(10):  # a chain of causes is short; bounded all the same
        if cause is None:
            return False
        if isinstance(cause, dependencies) or unavailable(cause):
            return True
        cause = cause.__cause__
    return False


def _shopify_errors() -> tuple[type[BaseException], ...]:
    """Shopify's error, once its client is loaded (with Shopify configured; it brings httpx):
    until then no error can be one."""
    shopify = sys.modules.get("bot.integrations.shopify")
    return () if shopify is None else (shopify.ShopifyError,)


def log_failure(error: BaseException, what: str) -> None:
    """One line with the cause for a dependency that is down (on-call hears of it from its
    incident); the traceback for a bug."""
    if expected_failure(error):
        log.warning("%s: %s", what, first_line(error))
    else:
        log.exception("%s", what)


def window_start(now: datetime, every_seconds: float) -> datetime:
    """The start of the window ``now`` falls in: windows are ``every_seconds`` long, counted
    from the epoch, so every replica (give or take clock skew) names the same one."""
    windows = (now - _EPOCH).total_seconds() // every_seconds
    return _EPOCH + timedelta(seconds=windows * every_seconds)


async def run_in_window(
    services: Services,
    job: str,
    every_seconds: float,
    work: Callable[[], Awaitable[str]],
    *,
    by_hand: bool = False,
) -> JobRun | None:
    """Run ``work`` as ``job``'s run for the current window, unless another replica (or an
    earlier call) already has: None then. By hand, it runs now whatever the window (its run
    is keyed by the time it started)."""
    now = services.clock()
    window = now if by_hand else window_start(now, every_seconds)
    runner = f"{services.runner} (by hand)" if by_hand else services.runner
    run = JobRun(job=job, window_start=window, runner=runner, started_at=now)
    if not await services.store.start_run(run):
        return None
    try:
        detail, outcome = await work(), RunOutcome.SUCCESS
    except Exception as error:
        log_failure(error, f"job {job} failed")
        detail, outcome = f"{type(error).__name__}: {error}", RunOutcome.FAILED
    finished = await services.store.finish_run(
        job,
        window,
        outcome=outcome,
        detail=detail[:DETAIL_MAX],
        finished_at=services.clock(),
    )
    await services.store.forget_runs(job, before=now - HISTORY)
    return finished
