"""Sales Pulse alerts, the responses to them, and follow-ups, on any `Database`.

Opening an alert is an insert that the unique index on open alerts' ``condition`` lets
through once; superseding one by a worse alert and clearing one are conditional writes on the
open row. Each comes with its decision_log row, in one transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.domain import LogEntry, SalesAlert, SalesFollowup, SalesResponse, SlackRef
from bot.store import codec, posts
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

ALERTS = "sales_alerts"
RESPONSES = "sales_responses"
FOLLOWUPS = "sales_followups"
OPEN = (is_null("superseded_by"), is_null("cleared_at"))


class SalesAlerts:
    db: Database

    async def open_sales_alerts(self) -> list[SalesAlert]:
        rows = await self.db.select(Query(ALERTS, OPEN, order_by=("opened_at", "id")))
        return await self._with_responses(rows)

    async def get_sales_alert(self, alert_id: str) -> SalesAlert | None:
        rows = await self.db.select(Query(ALERTS, (eq("id", alert_id),), limit=1))
        found = await self._with_responses(rows)
        return found[0] if found else None

    async def open_sales_alert(self, alert: SalesAlert, log: LogEntry) -> SalesAlert | None:
        """Store the alert unless its condition already has an open one."""
        insert = Insert(ALERTS, codec.sales_alert_row(alert), ignore_conflict=True)
        return _alert(await self.db.apply(Change(insert, (log_insert(log),))))

    async def supersede_sales_alert(
        self, alert_id: str, worse: SalesAlert, log: LogEntry
    ) -> SalesAlert | None:
        """Replace the open alert ``alert_id`` by ``worse``; None if it is no longer open."""
        close = Update(ALERTS, (eq("id", alert_id), *OPEN), {"superseded_by": worse.id})
        then = (Insert(ALERTS, codec.sales_alert_row(worse)), log_insert(log))
        return None if await self.db.apply(Change(close, then)) is None else worse

    async def clear_sales_alert(
        self, alert_id: str, *, now: datetime, log: LogEntry
    ) -> SalesAlert | None:
        clear = Update(ALERTS, (eq("id", alert_id), *OPEN), {"cleared_at": codec.utc(now)})
        return _alert(await self.db.apply(Change(clear, (log_insert(log),))))

    # -- posting the alert (``message``) and its clearing note (``clear``) ---------------------

    async def claim_sales_post(
        self, alert_id: str, prefix: str, *, now: datetime, lease_until: datetime
    ) -> SalesAlert | None:
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
            ALERTS, prefix, eq("id", alert_id), codec.posted_row(prefix, message), lease_until
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
        """Record the response once per alert; None if that response was already given."""
        insert = Insert(
            RESPONSES, codec.sales_response_row(alert_id, response), ignore_conflict=True
        )
        row = await self.db.apply(Change(insert, (log_insert(log),)))
        return None if row is None else response

    async def add_followup(self, followup: SalesFollowup, log: LogEntry) -> SalesFollowup:
        await self.db.apply(
            Change(Insert(FOLLOWUPS, codec.followup_row(followup)), (log_insert(log),))
        )
        return followup

    async def followups_of(self, alert_id: str) -> list[SalesFollowup]:
        query = Query(FOLLOWUPS, (eq("alert_id", alert_id),), order_by=("created_at", "id"))
        return [codec.followup_from_row(row) for row in await self.db.select(query)]

    async def due_followups(self, now: datetime, limit: int = 100) -> list[SalesFollowup]:
        query = Query(
            FOLLOWUPS,
            (is_null("reminded_at"), at_or_before("due_at", now)),
            order_by=("due_at", "id"),
            limit=limit,
        )
        return [codec.followup_from_row(row) for row in await self.db.select(query)]

    async def take_followup_reminder(
        self, followup_id: str, *, now: datetime, log: LogEntry
    ) -> SalesFollowup | None:
        """Mark the follow-up reminded; None if another worker already did."""
        update = Update(
            FOLLOWUPS,
            (eq("id", followup_id), is_null("reminded_at")),
            {"reminded_at": codec.utc(now)},
        )
        row = await self.db.apply(Change(update, (log_insert(log),)))
        return None if row is None else codec.followup_from_row(row)

    async def _with_responses(self, rows: Sequence[Row]) -> list[SalesAlert]:
        if not rows:
            return []
        ids = [row["id"] for row in rows]
        query = Query(RESPONSES, (one_of("alert_id", ids),), order_by=("at", "response"))
        by_alert: dict[str, list[SalesResponse]] = {}
        for row in await self.db.select(query):
            by_alert.setdefault(row["alert_id"], []).append(codec.sales_response_from_row(row))
        return [codec.sales_alert_from_row(row, by_alert.get(row["id"], ())) for row in rows]


def _alert(row: Row | None) -> SalesAlert | None:
    return None if row is None else codec.sales_alert_from_row(row)
