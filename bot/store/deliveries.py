"""A message delivered to Chatwoot once (a row of the outbox): its status, attempts, backoff
and lease columns, under a prefix (``delivery_``), and their mapping to a `Delivery`.

Taking a delivery is a conditional write (status SENDING, attempts + 1, a lease); recording
an outcome is too, only while that attempt still holds it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Column, Integer, Text

from bot.domain import Delivery, DeliveryStatus
from bot.store import codec
from bot.store.codec import Row
from bot.store.columns import UtcDateTime
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

RETRYABLE = (DeliveryStatus.QUEUED.value, DeliveryStatus.FAILED.value, DeliveryStatus.SENDING.value)
RETRY_NOW = (DeliveryStatus.FAILED.value, DeliveryStatus.GAVE_UP.value)
STATUSES = ("none", "queued", "sending", "sent", "recorded", "failed", "gave_up")


def due_sql(prefix: str) -> str:
    """`due` as SQL, for a partial index of the deliveries that may fall due."""
    return f"{prefix}_status in ('queued', 'failed', 'sending')"


def columns(prefix: str) -> list[Column[Any]]:
    """A delivery's columns in a table (its status is checked by the table: one of `STATUSES`)."""
    return [
        Column(f"{prefix}_status", Text, nullable=False, server_default="none"),
        Column(f"{prefix}_attempts", Integer, nullable=False, server_default="0"),
        Column(f"{prefix}_next_attempt_at", UtcDateTime),
        Column(f"{prefix}_last_error", Text),
        Column(f"{prefix}_message_id", Text),
        Column(f"{prefix}_sent_at", UtcDateTime),
        Column(f"{prefix}_lease_until", UtcDateTime),
    ]


def outcome_row(prefix: str, delivery: Delivery) -> Row:
    """Columns an attempt's outcome writes; the lease is always released and the attempt
    count kept."""
    return {
        f"{prefix}_status": delivery.status.value,
        f"{prefix}_next_attempt_at": codec.opt_utc(delivery.next_attempt_at),
        f"{prefix}_last_error": delivery.last_error,
        f"{prefix}_message_id": delivery.message_id,
        f"{prefix}_sent_at": codec.opt_utc(delivery.sent_at),
        f"{prefix}_lease_until": None,
    }


def delivery_row(prefix: str, delivery: Delivery) -> Row:
    """Every column of the delivery."""
    return {
        **outcome_row(prefix, delivery),
        f"{prefix}_attempts": delivery.attempts,
        f"{prefix}_lease_until": codec.opt_utc(delivery.lease_until),
    }


def delivery_from_row(prefix: str, row: Mapping[str, Any]) -> Delivery:
    return Delivery(
        status=DeliveryStatus(row[f"{prefix}_status"]),
        attempts=int(row[f"{prefix}_attempts"]),
        next_attempt_at=codec.parse_ts(row[f"{prefix}_next_attempt_at"]),
        last_error=row[f"{prefix}_last_error"],
        message_id=row[f"{prefix}_message_id"],
        sent_at=codec.parse_ts(row[f"{prefix}_sent_at"]),
        lease_until=codec.parse_ts(row[f"{prefix}_lease_until"]),
    )


def due(prefix: str, now: datetime) -> Where:
    """Deliveries to make now: queued, failed and past their backoff, or leased to a worker
    whose lease has run out (it died)."""
    status = f"{prefix}_status"
    return (
        one_of(status, RETRYABLE),  # lets PostgreSQL use a partial index
        AnyOf(
            (
                (eq(status, DeliveryStatus.QUEUED.value),),
                (
                    eq(status, DeliveryStatus.FAILED.value),
                    at_or_before(f"{prefix}_next_attempt_at", now),
                ),
                (eq(status, DeliveryStatus.SENDING.value), before(f"{prefix}_lease_until", now)),
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
            f"{prefix}_status": DeliveryStatus.SENDING.value,
            f"{prefix}_lease_until": codec.utc(lease_until),
        },
        increments={f"{prefix}_attempts": 1},
    )


def finish(table: str, prefix: str, key: Condition, outcome: Delivery) -> Update:
    """Record an attempt's outcome while that attempt still holds the delivery."""
    held = (
        key,
        eq(f"{prefix}_status", DeliveryStatus.SENDING.value),
        eq(f"{prefix}_attempts", outcome.attempts),
    )
    return Update(table, held, outcome_row(prefix, outcome))
