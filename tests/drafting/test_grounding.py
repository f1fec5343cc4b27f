"""The pieces of grounding a draft: the order number a customer names, and the history that
fits the prompt's budget."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.domain import ConversationLine
from bot.drafting.context import CHARS_PER_TOKEN, recent_history
from bot.flows.grounding import order_number

T0 = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("texts", "number"),
    [
        (["Where is my order #1001?"], "1001"),
        (["order number: 55012 please"], "55012"),
        (["Order no. #2044 hasn't arrived"], "2044"),
        (["my order 1001 is late"], "1001"),
        (["#1001 was wrong", "sorry, I meant # 1002"], "1002"),  # the latest one named
        (["I ordered 3 mugs for $45"], None),
        (["Call me at 555 0100"], None),
        ([], None),
    ],
)
def test_the_order_number_a_customer_names(texts: list[str], number: str | None) -> None:
    assert order_number(texts) == number


def line(text: str, minutes: int, *, customer: bool = True) -> ConversationLine:
    return ConversationLine(customer, None, text, T0 + timedelta(minutes=minutes))


def test_the_history_keeps_the_latest_messages_that_fit_the_budget() -> None:
    lines = [line(f"message {n}", n) for n in range(15)]
    assert [h.text for h in recent_history(lines)] == [f"message {n}" for n in range(5, 15)]
    long = [line("x" * 900, 0), line("y" * 900, 1), line("z" * 900, 2)]
    kept = recent_history(long, tokens=500)  # 2,000 characters: the last two whole
    assert [h.text[0] for h in kept] == ["y", "z"]
    huge = recent_history([line("w" * 10_000, 0)], tokens=100)
    assert len(huge[0].text) <= 100 * CHARS_PER_TOKEN + 2
