"""When a message to Chatwoot (a reply, an escalation's note) is tried again, or given up.

30 s, 1 min, 2 min, 4 min … capped at 15 min, 8 attempts; a permanent error (a 4xx other
than 429) gives up at once; a server's Retry-After is honoured when it asks for longer.
Every attempt holds a lease long enough to outlast its slowest run, and never starts the
send itself in the lease's last `SEND_MARGIN`.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.domain import Delivery, DeliveryStatus

# A lease must outlast the slowest attempt, or a second worker could send while the first is
# still at it: an attempt is at most about 13 Chatwoot calls (10 pages of reconciliation, the
# agents list, assign, send) of at most 10 s each.
LEASE = timedelta(minutes=5)
SEND_MARGIN = timedelta(seconds=30)  # > the client's timeout for the send itself
MAX_ATTEMPTS = 8
FIRST_BACKOFF = timedelta(seconds=30)
MAX_BACKOFF = timedelta(minutes=15)


def backoff(attempt: int) -> timedelta:
    """30 s, 1 min, 2 min, 4 min … capped at 15 min."""
    return min(FIRST_BACKOFF * 2 ** max(attempt - 1, 0), MAX_BACKOFF)


def after_failure(
    attempts: int, *, transient: bool, retry_after: float | None, error: str, now: datetime
) -> Delivery:
    """The delivery state after failed attempt number ``attempts``: FAILED with the time of
    the next try, or GAVE_UP (only Retry now sends it then)."""
    if not transient or attempts >= MAX_ATTEMPTS:
        return Delivery(status=DeliveryStatus.GAVE_UP, attempts=attempts, last_error=error[:500])
    wait = backoff(attempts)
    if retry_after:
        wait = max(wait, timedelta(seconds=float(retry_after)))
    return Delivery(
        status=DeliveryStatus.FAILED,
        attempts=attempts,
        next_attempt_at=now + wait,
        last_error=error[:500],
    )
