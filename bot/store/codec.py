"""What every entity's row mapping shares: time and JSON as the backends store them.

Each entity module maps its own domain objects to and from rows (dicts keyed by column name);
`bot.store.deliveries` and `bot.store.posts` map the columns several tables share. Rows going
out hold aware UTC datetimes and JSON-ready dicts/lists. Rows coming in may hold datetimes
(SQL drivers) or ISO 8601 strings (PostgREST JSON); both decode to aware UTC, and JSON columns
may arrive as text (SQLite) or parsed (PostgreSQL, PostgREST).
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

Row = dict[str, Any]


def utc(value: datetime) -> datetime:
    """The same instant in UTC; naive datetimes are refused rather than guessed."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"naive datetime {value!r}: the store only takes aware UTC datetimes")
    return value.astimezone(UTC)


def parse_ts(value: datetime | str | None) -> datetime | None:
    """A stored timestamp (datetime or ISO 8601 text) as an aware UTC datetime."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:  # SQL drivers that drop the zone still store UTC
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def required_ts(value: datetime | str | None) -> datetime:
    """As `parse_ts`, for a column that is never null."""
    parsed = parse_ts(value)
    if parsed is None:
        raise ValueError("missing required timestamp")
    return parsed


def opt_utc(value: datetime | None) -> datetime | None:
    return None if value is None else utc(value)


def opt_iso(when: datetime | None) -> str | None:
    return None if when is None else utc(when).isoformat()


def _json_default(value: object) -> object:
    if isinstance(value, datetime):
        return utc(value).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def jsonable(value: Any) -> Any:
    """Plain JSON data (dicts, lists, str, numbers), as any backend would store it."""
    return json.loads(json.dumps(value, default=_json_default, ensure_ascii=False))


def json_column(value: Any) -> Any:
    """A JSON column's value as read: parsed when the driver hands back text."""
    return json.loads(value) if isinstance(value, str | bytes) else value
