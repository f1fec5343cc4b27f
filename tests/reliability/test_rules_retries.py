"""When a message to Chatwoot is tried again: backoff, Retry-After, and giving up."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.domain import DeliveryStatus
from bot.rules.retries import after_failure, backoff

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


def test_backoff_doubles_from_30_seconds_up_to_15_minutes() -> None:
    waits = [backoff(attempt).total_seconds() for attempt in range(1, 9)]
    assert waits == [30, 60, 120, 240, 480, 900, 900, 900]


def test_a_transient_failure_is_tried_again_after_the_backoff() -> None:
    after = after_failure(3, transient=True, retry_after=None, error="503", now=NOW)
    assert after.status is DeliveryStatus.FAILED
    assert after.next_attempt_at == NOW + timedelta(minutes=2)
    assert (after.attempts, after.last_error) == (3, "503")


def test_a_longer_retry_after_is_honoured() -> None:
    after = after_failure(1, transient=True, retry_after=90, error="429", now=NOW)
    assert after.next_attempt_at == NOW + timedelta(seconds=90)


def test_the_eighth_failure_and_any_permanent_one_give_up() -> None:
    last = after_failure(8, transient=True, retry_after=None, error="503", now=NOW)
    permanent = after_failure(1, transient=False, retry_after=None, error="422", now=NOW)
    for after in (last, permanent):
        assert after.status is DeliveryStatus.GAVE_UP and after.next_attempt_at is None
