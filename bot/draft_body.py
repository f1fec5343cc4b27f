"""A draft's JSON form (docs/interface.md, "A draft"), validated field by field, and its limits.

What `POST /drafts` takes (bot/web), what the scenario packet holds (bot/scenarios), and the
bounds a draft the bot writes itself is cut to (bot/flows): so it sits just above the domain.
Every error names the field, so the caller can answer 400 `{"error": "..."}` and store nothing.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from bot.domain import Customer, CustomerContext, DraftInput, KbSource, Order, Risk

MAX_DRAFT_CHARS = 150_000  # what Chatwoot takes in one message (Message: content maximum)
MAX_MESSAGE_CHARS = 100_000
MAX_KB_SOURCES = 20
MAX_EXTERNAL_ID_CHARS = 200


class InvalidDraft(ValueError):
    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field


def parse_draft(body: object) -> DraftInput:
    if not isinstance(body, Mapping):
        raise InvalidDraft("body", "must be a JSON object")
    return DraftInput(
        conversation_id=_int(body, "conversation_id", required=True),
        customer_message=_text(body, "customer_message", MAX_MESSAGE_CHARS),
        draft=_text(body, "draft", MAX_DRAFT_CHARS),
        confidence=_confidence(body),
        customer=_customer(body.get("customer")),
        kb_sources=_kb_sources(body.get("kb_sources")),
        risk=_risk(body.get("risk")),
        agent=_optional_str(body, "agent", 200),
        order=_order(body.get("order")),
        amount_usd=_money(body.get("amount_usd"), "amount_usd"),
        customer_context=_context(body.get("customer_context")),
        external_id=_optional_str(body, "external_id", MAX_EXTERNAL_ID_CHARS),
    )


def _int(body: Mapping[str, Any], field: str, *, required: bool = False) -> int:
    value = body.get(field)
    if value is None and required:
        raise InvalidDraft(field, "is required")
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 2**63:
        raise InvalidDraft(field, "must be a positive integer (64-bit)")
    return value


def _text(body: Mapping[str, Any], field: str, limit: int) -> str:
    value = body.get(field)
    if value is None:
        raise InvalidDraft(field, "is required")
    if not isinstance(value, str) or not value.strip():
        raise InvalidDraft(field, "must be a non-empty string")
    if len(value) > limit:
        raise InvalidDraft(field, f"must be at most {limit} characters (got {len(value)})")
    return value


def _optional_str(body: Mapping[str, Any], field: str, limit: int) -> str | None:
    value = body.get(field)
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidDraft(field, "must be a string")
    if len(value) > limit:
        raise InvalidDraft(field, f"must be at most {limit} characters")
    return value.strip() or None


def _number(value: object, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidDraft(field, "must be a number")
    try:
        number = float(value)  # an int past 1e308 raises OverflowError
    except OverflowError:
        raise InvalidDraft(field, "must be a finite number") from None
    if not math.isfinite(number):
        raise InvalidDraft(field, "must be a number")
    return number


def _confidence(body: Mapping[str, Any]) -> float:
    if body.get("confidence") is None:
        raise InvalidDraft("confidence", "is required")
    value = _number(body["confidence"], "confidence")
    if not 0.0 <= value <= 1.0:
        raise InvalidDraft("confidence", "must be between 0 and 1")
    return value


def _money(value: object, field: str) -> float | None:
    if value is None:
        return None
    amount = _number(value, field)
    if amount < 0:
        raise InvalidDraft(field, "must not be negative")
    return amount


def _mapping(value: object, field: str) -> Mapping[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise InvalidDraft(field, "must be an object")
    return value


def _customer(value: object) -> Customer:
    data = _mapping(value, "customer") or {}
    return Customer(
        name=_optional_str(data, "name", 200) if "name" in data else None,
        email=_optional_str(data, "email", 320) if "email" in data else None,
    )


def _kb_sources(value: object) -> tuple[KbSource, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise InvalidDraft("kb_sources", "must be a list")
    if len(value) > MAX_KB_SOURCES:
        raise InvalidDraft("kb_sources", f"must hold at most {MAX_KB_SOURCES} sources")
    sources = []
    for index, item in enumerate(value):
        field = f"kb_sources[{index}]"
        data = _mapping(item, field)
        if data is None:
            raise InvalidDraft(field, "must be an object")
        title = data.get("title")
        if not isinstance(title, str) or not title.strip():
            raise InvalidDraft(f"{field}.title", "is required")
        relevance = data.get("relevance")
        if relevance is not None:
            relevance = _number(relevance, f"{field}.relevance")
            if not 0.0 <= relevance <= 1.0:
                raise InvalidDraft(f"{field}.relevance", "must be between 0 and 1")
        sources.append(
            KbSource(
                title=title.strip()[:200],
                version=_optional_str(data, "version", 50),
                relevance=relevance,
                url=_optional_str(data, "url", 2000),
            )
        )
    return tuple(sources)


def _risk(value: object) -> Risk:
    if value is None:
        return Risk.LOW
    try:
        return Risk(value)
    except ValueError:
        raise InvalidDraft("risk", "must be one of low, medium, high") from None


def _order(value: object) -> Order | None:
    data = _mapping(value, "order")
    if data is None:
        return None
    order_id = data.get("id")
    if order_id is not None and not isinstance(order_id, str | int):
        raise InvalidDraft("order.id", "must be a string")
    return Order(
        id=str(order_id)[:100] if order_id is not None else None,
        value_usd=_money(data.get("value_usd"), "order.value_usd"),
    )


def _context(value: object) -> CustomerContext | None:
    data = _mapping(value, "customer_context")
    if data is None:
        return None
    orders = data.get("orders")
    if orders is not None and (
        isinstance(orders, bool) or not isinstance(orders, int) or not 0 <= orders < 2**63
    ):
        raise InvalidDraft("customer_context.orders", "must be a non-negative integer (64-bit)")
    return CustomerContext(
        orders=orders,
        lifetime_value_usd=_money(
            data.get("lifetime_value_usd"), "customer_context.lifetime_value_usd"
        ),
    )
