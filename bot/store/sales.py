"""Sales Pulse alerts, the responses to them, and follow-ups: the tables, their rows, and the
store, on any `Database`.

Opening an alert is an insert that the unique index on open alerts' ``condition`` lets
through once; superseding one by a worse alert and clearing one are conditional writes on the
open row. Each comes with its decision_log row, in one transaction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy import Column, ForeignKey, Table, Text, text

from bot.domain import (
    Affected,
    Finding,
    LogEntry,
    SalesAlert,
    SalesFollowup,
    SalesResponse,
    SlackRef,
    Trigger,
)
from bot.store import codec, posts
from bot.store.columns import Json, UtcDateTime, metadata, partial_index
from bot.store.database import Database
from bot.store.decision_log import log_insert
from bot.store.ops import (
    Change,
    Insert,
    Query,
    Row,
    Update,
    at_or_before,
    eq,
    is_null,
    not_null,
    one_of,
)

OPEN_ALERT = "superseded_by is null and cleared_at is null"

# One row per Sales Pulse alert message. At most one alert per condition is open (neither
# superseded by a worse one nor cleared): opening one is an insert that a unique partial
# index lets through once, so a condition is alerted once however many replicas see it.
# The alert and, once it clears, its clearing note are each posted once (`message_` and
# `clear_` post columns).
alerts_table = Table(
    "sales_alerts",
    metadata,
    Column("id", Text, primary_key=True),
    Column("condition", Text, nullable=False),
    Column("trigger", Text, nullable=False),
    Column("finding", Json, nullable=False),
    Column("opened_at", UtcDateTime, nullable=False),
    Column("supersedes", Text),
    Column("superseded_by", Text),
    Column("cleared_at", UtcDateTime),
    *posts.columns("message"),
    *posts.columns("clear"),
    partial_index("sales_alerts_open_condition_idx", "condition", where=OPEN_ALERT, unique=True),
)

# What people did about an alert: Acknowledge and each response button, once per alert
# (a double click or a second person meets the unique key and is told who was first).
responses_table = Table(
    "sales_responses",
    metadata,
    Column("alert_id", Text, ForeignKey("sales_alerts.id"), primary_key=True),
    Column("response", Text, primary_key=True),
    Column("actor", Text, nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("detail", Json, nullable=False, server_default=text("'{}'")),
)

# Follow-ups created from an alert: the owner is reminded once when the due time passes.
followups_table = Table(
    "sales_followups",
    metadata,
    Column("id", Text, primary_key=True),
    Column("alert_id", Text, ForeignKey("sales_alerts.id"), nullable=False),
    Column("owner", Text, nullable=False),
    Column("due_at", UtcDateTime, nullable=False),
    Column("note", Text, nullable=False, server_default=""),
    Column("created_by", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("reminded_at", UtcDateTime),
    partial_index("sales_followups_due_idx", "due_at", where="reminded_at is null"),
)

ALERTS = alerts_table.name
RESPONSES = responses_table.name
FOLLOWUPS = followups_table.name
OPEN = (is_null("superseded_by"), is_null("cleared_at"))


def finding_json(finding: Finding) -> dict[str, Any]:
    return codec.jsonable(asdict(finding))


def finding_from(doc: Any) -> Finding:
    doc = dict(codec.json_column(doc))
    doc["trigger"] = Trigger(doc["trigger"])
    doc["trend"] = tuple(float(v) for v in doc.get("trend") or ())
    doc["affected"] = tuple(Affected(**a) for a in doc.get("affected") or ())
    return Finding(**doc)


def sales_alert_row(alert: SalesAlert) -> Row:
    return {
        "id": alert.id,
        "condition": alert.finding.condition,
        "trigger": alert.finding.trigger.value,
        "finding": finding_json(alert.finding),
        "opened_at": codec.utc(alert.opened_at),
        "supersedes": alert.supersedes,
    }


def sales_alert_from_row(
    row: Mapping[str, Any], responses: Sequence[SalesResponse] = ()
) -> SalesAlert:
    return SalesAlert(
        id=row["id"],
        finding=finding_from(row["finding"]),
        opened_at=codec.required_ts(row["opened_at"]),
        message=posts.slack_ref(row, "message"),
        supersedes=row["supersedes"],
        superseded_by=row["superseded_by"],
        cleared_at=codec.parse_ts(row["cleared_at"]),
        clear_message=posts.slack_ref(row, "clear"),
        responses=tuple(responses),
    )


def sales_response_row(alert_id: str, response: SalesResponse) -> Row:
    return {
        "alert_id": alert_id,
        "response": response.kind,
        "actor": response.actor,
        "at": codec.utc(response.at),
        "detail": codec.jsonable(response.detail),
    }


def sales_response_from_row(row: Mapping[str, Any]) -> SalesResponse:
    return SalesResponse(
        kind=row["response"],
        actor=row["actor"],
        at=codec.required_ts(row["at"]),
        detail=dict(codec.json_column(row["detail"]) or {}),
    )


def followup_row(followup: SalesFollowup) -> Row:
    return {
        "id": followup.id,
        "alert_id": followup.alert_id,
        "owner": followup.owner,
        "due_at": codec.utc(followup.due_at),
        "note": followup.note,
        "created_by": followup.created_by,
        "created_at": codec.utc(followup.created_at),
    }


def followup_from_row(row: Mapping[str, Any]) -> SalesFollowup:
    return SalesFollowup(
        id=row["id"],
        alert_id=row["alert_id"],
        owner=row["owner"],
        due_at=codec.required_ts(row["due_at"]),
        note=row["note"],
        created_by=row["created_by"],
        created_at=codec.required_ts(row["created_at"]),
        reminded_at=codec.parse_ts(row["reminded_at"]),
    )


class SalesAlerts:
    """Sales Pulse alerts (at most one open per condition), responses and follow-ups."""

    db: Database

    async def open_sales_alerts(self) -> list[SalesAlert]:
        rows = await self.db.select(Query(ALERTS, OPEN, order_by=("opened_at", "id")))
        return await self._with_responses(rows)

    async def get_sales_alert(self, alert_id: str) -> SalesAlert | None:
        rows = await self.db.select(Query(ALERTS, (eq("id", alert_id),), limit=1))
        found = await self._with_responses(rows)
        return found[0] if found else None

    async def open_sales_alert(self, alert: SalesAlert, log: LogEntry) -> SalesAlert | None:
        """Store the alert with its log row; None if its condition has an open alert."""
        insert = Insert(ALERTS, sales_alert_row(alert), ignore_conflict=True)
        return _alert(await self.db.apply(Change(insert, (log_insert(log),))))

    async def supersede_sales_alert(
        self, alert_id: str, worse: SalesAlert, log: LogEntry
    ) -> SalesAlert | None:
        """Close the open alert ``alert_id`` in favour of ``worse``; None if not open."""
        close = Update(ALERTS, (eq("id", alert_id), *OPEN), {"superseded_by": worse.id})
        then = (Insert(ALERTS, sales_alert_row(worse)), log_insert(log))
        return None if await self.db.apply(Change(close, then)) is None else worse

    async def clear_sales_alert(
        self, alert_id: str, *, now: datetime, log: LogEntry
    ) -> SalesAlert | None:
        """Close the open alert as cleared; None if it is not open."""
        clear = Update(ALERTS, (eq("id", alert_id), *OPEN), {"cleared_at": codec.utc(now)})
        return _alert(await self.db.apply(Change(clear, (log_insert(log),))))

    # -- posting the alert (``message``) and its clearing note (``clear``) ---------------------

    async def claim_sales_post(
        self, alert_id: str, prefix: str, *, now: datetime, lease_until: datetime
    ) -> SalesAlert | None:
        """Take the lease to post the alert (``message``) or its clearing note (``clear``)."""
        update = posts.claim(ALERTS, prefix, eq("id", alert_id), now=now, lease_until=lease_until)
        if prefix == "clear":
            update = Update(update.table, (*update.where, not_null("cleared_at")), update.values)
        return _alert(await self.db.apply(Change(update)))

    async def record_sales_post(
        self,
        alert_id: str,
        prefix: str,
        message: SlackRef,
        logs: Sequence[LogEntry],
        *,
        lease_until: datetime,
    ) -> SalesAlert | None:
        update = posts.record(
            ALERTS, prefix, eq("id", alert_id), posts.posted_row(prefix, message), lease_until
        )
        return _alert(await self.db.apply(Change(update, tuple(log_insert(e) for e in logs))))

    async def refuse_sales_post(
        self, alert_id: str, prefix: str, *, lease_until: datetime, log: LogEntry
    ) -> int | None:
        update = posts.refuse(ALERTS, prefix, eq("id", alert_id), lease_until)
        row = await self.db.apply(Change(update, (log_insert(log),)))
        return None if row is None else int(row[f"{prefix}_refusals"])

    async def unpark_sales_posts(self, prefix: str) -> None:
        await self.db.apply(Change(posts.unpark(ALERTS, prefix)))

    async def unposted_sales_alerts(self, now: datetime, limit: int = 100) -> list[str]:
        """Alerts still open whose message is not posted, and cleared alerts whose
        clearing note is not (when the alert itself was posted)."""
        alerts = Query(
            ALERTS,
            (*OPEN, *posts.unposted("message", now)),
            order_by=("opened_at", "id"),
            limit=limit,
            columns=("id",),
        )
        clears = Query(
            ALERTS,
            (not_null("cleared_at"), not_null("message_channel"), *posts.unposted("clear", now)),
            order_by=("cleared_at", "id"),
            limit=limit,
            columns=("id",),
        )
        rows = [*await self.db.select(alerts), *await self.db.select(clears)]
        return [row["id"] for row in rows]

    # -- responses and follow-ups ---------------------------------------------------------------

    async def respond_to_sales_alert(
        self, alert_id: str, response: SalesResponse, log: LogEntry
    ) -> SalesResponse | None:
        """Record a response once per alert and kind; None if it was already given."""
        insert = Insert(RESPONSES, sales_response_row(alert_id, response), ignore_conflict=True)
        row = await self.db.apply(Change(insert, (log_insert(log),)))
        return None if row is None else response

    async def add_followup(self, followup: SalesFollowup, log: LogEntry) -> SalesFollowup:
        await self.db.apply(Change(Insert(FOLLOWUPS, followup_row(followup)), (log_insert(log),)))
        return followup

    async def followups_of(self, alert_id: str) -> list[SalesFollowup]:
        query = Query(FOLLOWUPS, (eq("alert_id", alert_id),), order_by=("created_at", "id"))
        return [followup_from_row(row) for row in await self.db.select(query)]

    async def due_followups(self, now: datetime, limit: int = 100) -> list[SalesFollowup]:
        query = Query(
            FOLLOWUPS,
            (is_null("reminded_at"), at_or_before("due_at", now)),
            order_by=("due_at", "id"),
            limit=limit,
        )
        return [followup_from_row(row) for row in await self.db.select(query)]

    async def take_followup_reminder(
        self, followup_id: str, *, now: datetime, log: LogEntry
    ) -> SalesFollowup | None:
        """Mark the follow-up reminded; None if it already was (another worker did)."""
        update = Update(
            FOLLOWUPS,
            (eq("id", followup_id), is_null("reminded_at")),
            {"reminded_at": codec.utc(now)},
        )
        row = await self.db.apply(Change(update, (log_insert(log),)))
        return None if row is None else followup_from_row(row)

    async def _with_responses(self, rows: Sequence[Row]) -> list[SalesAlert]:
        if not rows:
            return []
        ids = [row["id"] for row in rows]
        query = Query(RESPONSES, (one_of("alert_id", ids),), order_by=("at", "response"))
        by_alert: dict[str, list[SalesResponse]] = {}
        for row in await self.db.select(query):
            by_alert.setdefault(row["alert_id"], []).append(sales_response_from_row(row))
        return [sales_alert_from_row(row, by_alert.get(row["id"], ())) for row in rows]


def _alert(row: Row | None) -> SalesAlert | None:
    return None if row is None else sales_alert_from_row(row)
