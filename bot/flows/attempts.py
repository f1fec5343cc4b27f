"""One attempt at delivering an outbox message to Chatwoot: the lease check
before sending, and the delivery state and log payload an attempt ends with."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from bot.domain import Delivery, DeliveryStatus, Outcome
from bot.integrations.chatwoot_answers import ChatwootError, ChatwootTimeout, ChatwootUnavailable
from bot.rules.retries import SEND_MARGIN, after_failure


def still_leased(delivery: Delivery, now: datetime) -> None:
    """Never start the send once the lease is nearly over: another worker may take it then."""
    lease_until = delivery.lease_until
    if lease_until is not None and now > lease_until - SEND_MARGIN:
        raise ChatwootUnavailable("this attempt ran out of lease time before sending")


def sent(
    delivery: Delivery,
    message: dict[str, Any],
    payload: dict[str, Any],
    started: float,
    now: datetime,
) -> Delivery:
    """The delivery once Chatwoot holds ``message``; ``payload`` gains its id and latency."""
    message_id = message.get("id")
    payload |= {"message_id": message_id, "latency_ms": _latency(started)}
    return Delivery(
        status=DeliveryStatus.SENT,
        attempts=delivery.attempts,
        message_id=None if message_id is None else str(message_id),
        sent_at=now,
    )


def failed(
    delivery: Delivery, error: ChatwootError, payload: dict[str, Any], started: float, now: datetime
) -> tuple[Delivery, Outcome]:
    """The delivery after a failed attempt (retry later, or give up) and how it is logged;
    ``payload`` gains the error, the next attempt and the latency."""
    after = after_failure(
        delivery.attempts,
        transient=error.transient,
        retry_after=getattr(error, "retry_after", None),
        error=str(error),
        now=now,
    )
    payload |= {
        "error": str(error),
        "next_attempt_at": after.next_attempt_at.isoformat() if after.next_attempt_at else None,
        "latency_ms": _latency(started),
    }
    return after, failure_outcome(after, error)


def failure_outcome(after: Delivery, error: ChatwootError) -> Outcome:
    """How a failed attempt is logged: retry (or timeout) while it will be tried again."""
    if after.status is DeliveryStatus.GAVE_UP:
        return Outcome.FAILED
    return Outcome.TIMEOUT if isinstance(error, ChatwootTimeout) else Outcome.RETRY


def _latency(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)
