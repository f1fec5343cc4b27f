"""A Slack message posted once for a row (a draft's card, an escalation's manager message, a
reminder, a Sales Pulse alert and its clearing note): the same lease, record and refusal
columns under a prefix (``card_``, ``message_``, ``clear_``).

Taking the post is a conditional write on the lease; recording where the message went is
fenced by that lease; permanent refusals are counted, and after `PARK_AFTER_REFUSALS` the
message is parked (no longer offered) until `unpark` offers it again.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Column, Integer, Text

from bot.domain import SlackRef
from bot.store import codec
from bot.store.codec import Row
from bot.store.columns import UtcDateTime
from bot.store.ops import Cond, Condition, Update, Where, eq, fewer_than, free_lease, is_null

# Slack refusing a post for good (channel_not_found …) this many times parks the message:
# no more automatic retries until a post to that channel works again.
PARK_AFTER_REFUSALS = 3


def columns(prefix: str) -> list[Column[Any]]:
    """A post's columns in a table."""
    return [
        Column(f"{prefix}_channel", Text),
        Column(f"{prefix}_ts", Text),
        Column(f"{prefix}_lease_until", UtcDateTime),
        Column(f"{prefix}_refusals", Integer, nullable=False, server_default="0"),
    ]


def posted_row(prefix: str, message: SlackRef) -> Row:
    """Where the message went; a posted message needs no post lease."""
    return {
        f"{prefix}_channel": message.channel,
        f"{prefix}_ts": message.ts,
        f"{prefix}_lease_until": None,
    }


def slack_ref(row: Mapping[str, Any], prefix: str) -> SlackRef | None:
    """Where the message went, if it was posted."""
    channel = row.get(f"{prefix}_channel")
    return None if channel is None else SlackRef(channel=channel, ts=row[f"{prefix}_ts"])


def unposted(prefix: str, now: datetime) -> Where:
    """Not posted, nobody posting it now, and not parked."""
    return (
        is_null(f"{prefix}_channel"),
        free_lease(f"{prefix}_lease_until", now),
        fewer_than(f"{prefix}_refusals", PARK_AFTER_REFUSALS),
    )


def claim(
    table: str, prefix: str, key: Condition, *, now: datetime, lease_until: datetime
) -> Update:
    return Update(
        table, (key, *unposted(prefix, now)), {f"{prefix}_lease_until": codec.utc(lease_until)}
    )


def record(
    table: str,
    prefix: str,
    key: Condition,
    values: Mapping[str, Any],
    lease_until: datetime | None,
) -> Update:
    """Where the message went; with ``lease_until``, only while that lease is still held."""
    where: Where = (key,)
    if lease_until is not None:
        held = eq(f"{prefix}_lease_until", codec.utc(lease_until))
        where += (is_null(f"{prefix}_channel"), held)
    return Update(table, where, values)


def refuse(table: str, prefix: str, key: Condition, lease_until: datetime) -> Update:
    """Count a permanent refusal, while holding that lease."""
    held = (key, eq(f"{prefix}_lease_until", codec.utc(lease_until)))
    return Update(table, held, {}, increments={f"{prefix}_refusals": 1})


def unpark(table: str, prefix: str) -> Update:
    parked = (is_null(f"{prefix}_channel"), Cond(f"{prefix}_refusals", "gte", PARK_AFTER_REFUSALS))
    return Update(table, parked, {f"{prefix}_refusals": 0})
