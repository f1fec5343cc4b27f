"""A message delivered to Chatwoot once (a draft's reply, an escalation's private note): the
same status, attempts, backoff and lease columns, under a prefix (``reply_``, ``note_``).

Taking a delivery is a conditional write (status SENDING, attempts + 1, a lease); recording
an outcome is too, only while that attempt still holds it.
"""

from __future__ import annotations

from datetime import datetime

from bot.domain import Reply, ReplyStatus
from bot.store import codec
from bot.store.ops import (
    AnyOf,
    Condition,
    Update,
    Where,
    at_or_before,
    before,
    eq,
    one_of,
)

RETRYABLE = (ReplyStatus.QUEUED.value, ReplyStatus.FAILED.value, ReplyStatus.SENDING.value)
RETRY_NOW = (ReplyStatus.FAILED.value, ReplyStatus.GAVE_UP.value)


def due(prefix: str, now: datetime) -> Where:
    """Deliveries to make now: queued, failed and past their backoff, or leased to a worker
    whose lease has run out (it died)."""
    status = f"{prefix}_status"
    return (
        one_of(status, RETRYABLE),  # lets PostgreSQL use a partial index
        AnyOf(
            (
                (eq(status, ReplyStatus.QUEUED.value),),
                (
                    eq(status, ReplyStatus.FAILED.value),
                    at_or_before(f"{prefix}_next_attempt_at", now),
                ),
                (eq(status, ReplyStatus.SENDING.value), before(f"{prefix}_lease_until", now)),
            )
        ),
    )


def claim(
    table: str, prefix: str, key: Condition, *, now: datetime, lease_until: datetime, force: bool
) -> Update:
    """Take the delivery (status SENDING, attempts + 1); ``force`` also takes a failed one
    before its backoff is over, or one given up (Retry now)."""
    when: Where = due(prefix, now)
    if force:
        when = (AnyOf((when, (one_of(f"{prefix}_status", RETRY_NOW),))),)
    return Update(
        table,
        (key, *when),
        {
            f"{prefix}_status": ReplyStatus.SENDING.value,
            f"{prefix}_lease_until": codec.utc(lease_until),
        },
        increments={f"{prefix}_attempts": 1},
    )


def finish(table: str, prefix: str, key: Condition, outcome: Reply) -> Update:
    """Record an attempt's outcome while that attempt still holds the delivery."""
    held = (
        key,
        eq(f"{prefix}_status", ReplyStatus.SENDING.value),
        eq(f"{prefix}_attempts", outcome.attempts),
    )
    return Update(table, held, codec.delivery_outcome(prefix, outcome))
