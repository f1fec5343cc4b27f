"""Supabase store: the same tables, reached through Supabase's REST API (PostgREST).

Used when ``DATABASE_URL`` is unset and ``SUPABASE_URL`` + ``SUPABASE_SERVICE_ROLE_KEY`` are
set. The schema must already be applied (paste ``bot/store/migrations/postgres/*.sql`` into
the Supabase SQL editor, or run ``occ-bot migrate`` with ``DATABASE_URL``); ``migrate()``
only checks it, because PostgREST cannot run DDL.

PostgREST has no multi-statement transactions, so each operation is a sequence of
idempotent requests:

* A compare-and-set is one conditional ``PATCH /rest/v1/<table>?id=eq.X&state=eq.pending``
  with ``Prefer: return=representation``; an empty result means the race was lost, and then
  nothing else is written. ``claim_reply`` reads the row first, because PostgREST cannot
  write ``attempts + 1``: its PATCH repeats the read status and attempt count as filters, so
  it still succeeds for one caller only. ``claim_card_post`` and ``claim_escalation_post``
  need no read: the "no lease, or an expired one" test is an ``or=(...)`` filter on the PATCH.
* Only after the CAS has won are the dependent rows written: the escalation (``decide``) and
  then the decision_log row, each as an insert that ignores a duplicate id and is retried on
  transient errors (network, 5xx). A crash between the CAS and the log insert leaves the new
  state without its log row; the state itself (who decided, when) is still on the draft.
* ``add_draft`` inserts the draft with ``on_conflict=external_id`` and ignore-duplicates,
  then the draft.received row.

``queue_summary`` counts with ``Prefer: count=exact``: PostgREST puts the total in
``Content-Range`` (``0-0/12``), so a count is a HEAD request and carries no rows. Its five
requests run side by side, each its own snapshot, so the numbers may be a moment apart.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import Any

import httpx
from postgrest import APIError, APIResponse, AsyncRequestBuilder, AsyncSelectRequestBuilder
from postgrest.types import CountMethod, ReturnMethod
from supabase import AsyncClient, AsyncClientOptions, acreate_client

from bot.domain import (
    Action,
    Decision,
    Draft,
    DraftState,
    Escalation,
    EscalationState,
    LogEntry,
    Reply,
    ReplyStatus,
    SlackRef,
)
from bot.store import codec
from bot.store.base import (
    ESCALATIONS_OPEN,
    REPLIES_FAILING,
    REPLIES_IN_FLIGHT,
    NotFound,
    QueueSummary,
    SchemaNotApplied,
    StoreError,
    migrations,
)

Sleep = Callable[[float], Awaitable[None]]

_TABLES = ("drafts", "escalations", "decision_log")
_MISSING_TABLE_CODES = {"PGRST205", "42P01"}
_PAGE = 1000
_HOW_TO_MIGRATE = (
    "apply bot/store/migrations/postgres/*.sql in the Supabase SQL editor "
    "(or run `occ-bot migrate` with DATABASE_URL set to the project's Postgres connection string)"
)


def _ts(value: datetime) -> str:
    """A timestamp for a PostgREST filter value."""
    return codec.utc(value).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _lease_free(column: str, now: datetime) -> str:
    """An ``or=(...)`` filter body: the lease column is null or ended before ``now``."""
    return f"{column}.is.null,{column}.lt.{_ts(now)}"


def _transient(exc: Exception) -> bool:
    if isinstance(exc, httpx.TransportError):
        return True
    if isinstance(exc, APIError):
        code = exc.code or ""
        # bare HTTP statuses (proxy errors), connection and resource errors
        return (code.isdigit() and code.startswith("5")) or code.startswith(
            ("08", "53", "57P", "PGRST000", "PGRST001", "PGRST002", "PGRST003")
        )
    return False


class SupabaseStore:
    """`Store` over Supabase's REST API; the client is created on first use."""

    def __init__(
        self,
        url: str,
        key: str,
        *,
        timeout: float = 10.0,
        attempts: int = 4,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        """Args:
        url: the project URL, ``https://<ref>.supabase.co``.
        key: the service role key (RLS is on and has no policies for other roles).
        timeout: seconds per HTTP request.
        attempts: tries for each idempotent follow-up write (log rows, escalations).
        sleep: how to wait between those tries (injected by tests).
        """
        self._url = url
        self._key = key
        self._timeout = timeout
        self._attempts = attempts
        self._sleep = sleep
        self._client: AsyncClient | None = None
        self._http: httpx.AsyncClient | None = None
        self._lock = asyncio.Lock()

    async def _table(self, name: str) -> AsyncRequestBuilder:
        async with self._lock:
            if self._client is None:
                self._http = httpx.AsyncClient(timeout=self._timeout)
                options = AsyncClientOptions(
                    httpx_client=self._http, auto_refresh_token=False, persist_session=False
                )
                self._client = await acreate_client(self._url, self._key, options)
        return self._client.table(name)

    # --- lifecycle ------------------------------------------------------------------------

    async def migrate(self) -> list[str]:
        """Check the schema is applied; raise `SchemaNotApplied` saying how, if not."""
        try:
            rows = (await (await self._table("schema_migrations")).select("name").execute()).data
        except APIError as exc:
            if exc.code in _MISSING_TABLE_CODES:
                raise SchemaNotApplied(
                    f"Supabase has no occ-bot tables: {_HOW_TO_MIGRATE}"
                ) from exc
            raise
        applied = {row["name"] for row in rows}
        missing = [m.name for m in migrations("postgres") if m.name not in applied]
        if missing:
            raise SchemaNotApplied(
                f"Supabase lacks migrations {', '.join(missing)}: {_HOW_TO_MIGRATE}"
            )
        for table in _TABLES:
            try:
                await (await self._table(table)).select("id").limit(1).execute()
            except APIError as exc:
                if exc.code in _MISSING_TABLE_CODES:
                    raise SchemaNotApplied(
                        f"Supabase has no {table} table: {_HOW_TO_MIGRATE}"
                    ) from exc
                raise
        return []

    async def ping(self) -> None:
        await (await self._table("schema_migrations")).select("name").limit(1).execute()

    async def close(self) -> None:
        if self._http is not None:
            await self._http.aclose()
        self._client = None
        self._http = None

    # --- drafts ---------------------------------------------------------------------------

    async def add_draft(self, draft: Draft, log: LogEntry) -> tuple[Draft, bool]:
        row = codec.draft_row(draft)
        table = await self._table("drafts")
        if draft.input.external_id is not None:
            query = table.upsert(row, on_conflict="external_id", ignore_duplicates=True)
        else:
            query = table.insert(row)
        try:
            data = (await query.execute()).data
        except APIError as exc:
            if exc.code != "23505":  # the draft id exists: this call was already made
                raise
            data = []
        if data:
            await self._write_log(log)
            return codec.draft_from_row(data[0]), True
        existing = await self._existing_draft(draft)
        if existing.id == draft.id and not await self._has_received_row(draft.id):
            await self._write_log(log)  # finish an earlier call that stopped before its log row
        return existing, False

    async def _existing_draft(self, draft: Draft) -> Draft:
        external_id = draft.input.external_id
        if external_id is not None:
            row = await self._one("drafts", "external_id", external_id)
            if row is not None:
                return codec.draft_from_row(row)
        row = await self._one("drafts", "id", draft.id)
        if row is None or row["external_id"] != external_id:
            raise StoreError(f"draft id {draft.id!r} is already used by another draft")
        return codec.draft_from_row(row)

    async def _has_received_row(self, draft_id: str) -> bool:
        query = (
            (await self._table("decision_log"))
            .select("id")
            .eq("subject_id", draft_id)
            .eq("action", Action.DRAFT_RECEIVED.value)
            .limit(1)
        )
        return bool((await query.execute()).data)

    async def get_draft(self, draft_id: str) -> Draft | None:
        row = await self._one("drafts", "id", draft_id)
        return None if row is None else codec.draft_from_row(row)

    async def set_card(
        self, draft_id: str, card: SlackRef, posted_at: datetime, log: LogEntry
    ) -> Draft:
        query = (await self._table("drafts")).update(codec.card_row(card, posted_at))
        rows = (await query.eq("id", draft_id).execute()).data
        if not rows:
            raise NotFound(f"draft {draft_id!r}")
        await self._write_log(log)
        return codec.draft_from_row(rows[0])

    async def claim_card_post(
        self, draft_id: str, *, now: datetime, lease_until: datetime
    ) -> Draft | None:
        query = (
            (await self._table("drafts"))
            .update({"card_lease_until": codec.utc(lease_until)})
            .eq("id", draft_id)
            .is_("card_channel", None)
            .or_(_lease_free("card_lease_until", now))
        )
        rows = (await query.execute()).data
        return codec.draft_from_row(rows[0]) if rows else None

    async def unposted_drafts(self, now: datetime, limit: int = 100) -> list[str]:
        query = (
            (await self._table("drafts"))
            .select("id")
            .eq("state", DraftState.PENDING.value)
            .is_("card_channel", None)
            .or_(_lease_free("card_lease_until", now))
            .order("received_at")
            .order("id")
            .limit(limit)
        )
        return [row["id"] for row in (await query.execute()).data]

    async def decide(
        self,
        draft_id: str,
        decision: Decision,
        *,
        reply_status: ReplyStatus,
        log: LogEntry,
        escalation: Escalation | None = None,
        reply_lease_until: datetime | None = None,
    ) -> Draft | None:
        values = codec.decision_row(
            decision, reply_status, escalation.id if escalation else None, reply_lease_until
        )
        query = (
            (await self._table("drafts"))
            .update(values)
            .eq("id", draft_id)
            .eq("state", DraftState.PENDING.value)
        )
        rows = (await query.execute()).data
        if not rows:
            return None
        if escalation is not None:
            await self._insert_once("escalations", codec.escalation_row(escalation))
        await self._write_log(log)
        return codec.draft_from_row(rows[0])

    async def claim_reply(
        self, draft_id: str, *, now: datetime, lease_until: datetime, force: bool = False
    ) -> Draft | None:
        current = await self.get_draft(draft_id)
        if current is None:
            return None
        reply = current.reply
        now = codec.utc(now)
        query = (
            (await self._table("drafts"))
            .update(
                {
                    "reply_status": ReplyStatus.SENDING.value,
                    "reply_attempts": reply.attempts + 1,
                    "reply_lease_until": codec.utc(lease_until),
                }
            )
            .eq("id", draft_id)
            .eq("reply_status", reply.status.value)
            .eq("reply_attempts", reply.attempts)
        )
        if reply.status is ReplyStatus.QUEUED:
            pass
        elif reply.status is ReplyStatus.FAILED and _at_or_before(reply.next_attempt_at, now):
            query = query.lte("reply_next_attempt_at", _ts(now))
        elif reply.status is ReplyStatus.SENDING and _before(reply.lease_until, now):
            query = query.lt("reply_lease_until", _ts(now))
        elif not (force and reply.status in (ReplyStatus.FAILED, ReplyStatus.GAVE_UP)):
            return None
        rows = (await query.execute()).data
        return codec.draft_from_row(rows[0]) if rows else None

    async def finish_reply(self, draft_id: str, reply: Reply, log: LogEntry) -> Draft | None:
        query = (
            (await self._table("drafts"))
            .update(codec.reply_row(reply))
            .eq("id", draft_id)
            .eq("reply_status", ReplyStatus.SENDING.value)
            .eq("reply_attempts", reply.attempts)
        )
        rows = (await query.execute()).data
        if not rows:
            if await self.get_draft(draft_id) is None:
                raise NotFound(f"draft {draft_id!r}")
            return None
        await self._write_log(log)
        return codec.draft_from_row(rows[0])

    async def due_replies(self, now: datetime, limit: int = 100) -> list[str]:
        # Three simple requests instead of one `or=(...)` filter: the same rows, plainer URLs.
        table = await self._table("drafts")
        queries = [
            table.select("id", "received_at").eq("reply_status", ReplyStatus.QUEUED.value),
            table.select("id", "received_at")
            .eq("reply_status", ReplyStatus.FAILED.value)
            .lte("reply_next_attempt_at", _ts(now)),
            table.select("id", "received_at")
            .eq("reply_status", ReplyStatus.SENDING.value)
            .lt("reply_lease_until", _ts(now)),
        ]
        rows: list[Mapping[str, Any]] = []
        for query in queries:
            rows += (await query.order("received_at").order("id").limit(limit).execute()).data
        rows.sort(key=lambda row: (codec.parse_ts(row["received_at"]), row["id"]))
        return [row["id"] for row in rows[:limit]]

    # --- escalations ----------------------------------------------------------------------

    async def get_escalation(self, escalation_id: str) -> Escalation | None:
        row = await self._one("escalations", "id", escalation_id)
        return None if row is None else codec.escalation_from_row(row)

    async def escalation_for_draft(self, draft_id: str) -> Escalation | None:
        row = await self._one("escalations", "draft_id", draft_id)
        return None if row is None else codec.escalation_from_row(row)

    async def set_escalation_message(
        self, escalation_id: str, message: SlackRef, log: LogEntry
    ) -> Escalation:
        query = (
            (await self._table("escalations"))
            .update(codec.message_row(message))
            .eq("id", escalation_id)
        )
        rows = (await query.execute()).data
        if not rows:
            raise NotFound(f"escalation {escalation_id!r}")
        await self._write_log(log)
        return codec.escalation_from_row(rows[0])

    async def claim_escalation_post(
        self, escalation_id: str, *, now: datetime, lease_until: datetime
    ) -> Escalation | None:
        query = (
            (await self._table("escalations"))
            .update({"message_lease_until": codec.utc(lease_until)})
            .eq("id", escalation_id)
            .is_("message_channel", None)
            .or_(_lease_free("message_lease_until", now))
        )
        rows = (await query.execute()).data
        return codec.escalation_from_row(rows[0]) if rows else None

    async def unposted_escalations(self, now: datetime, limit: int = 100) -> list[str]:
        query = (
            (await self._table("escalations"))
            .select("id")
            .in_("state", [EscalationState.OPEN.value, EscalationState.CLAIMED.value])
            .is_("message_channel", None)
            .or_(_lease_free("message_lease_until", now))
            .order("created_at")
            .order("id")
            .limit(limit)
        )
        return [row["id"] for row in (await query.execute()).data]

    async def claim_escalation(
        self,
        escalation_id: str,
        *,
        actor: str,
        now: datetime,
        next_reminder_at: datetime | None,
        log: LogEntry,
    ) -> Escalation | None:
        values = {
            "state": EscalationState.CLAIMED.value,
            "claimed_by": actor,
            "claimed_at": codec.utc(now),
            "next_reminder_at": None if next_reminder_at is None else codec.utc(next_reminder_at),
        }
        query = (
            (await self._table("escalations"))
            .update(values)
            .eq("id", escalation_id)
            .eq("state", EscalationState.OPEN.value)
        )
        return await self._escalation_cas(query.execute(), log)

    async def resolve_escalation(
        self, escalation_id: str, *, actor: str, now: datetime, log: LogEntry
    ) -> Escalation | None:
        values = {
            "state": EscalationState.RESOLVED.value,
            "resolved_by": actor,
            "resolved_at": codec.utc(now),
        }
        query = (
            (await self._table("escalations"))
            .update(values)
            .eq("id", escalation_id)
            .in_("state", [EscalationState.OPEN.value, EscalationState.CLAIMED.value])
        )
        return await self._escalation_cas(query.execute(), log)

    async def due_reminders(self, now: datetime, limit: int = 100) -> list[str]:
        rows: list[Mapping[str, Any]] = []
        for never_reminded in (True, False):
            query = (
                (await self._table("escalations"))
                .select("id", "due_at")
                .eq("state", EscalationState.OPEN.value)
                .lte("due_at", _ts(now))
            )
            if never_reminded:
                query = query.is_("next_reminder_at", None)
            else:
                query = query.lte("next_reminder_at", _ts(now))
            rows += (await query.order("due_at").order("id").limit(limit).execute()).data
        rows.sort(key=lambda row: (codec.parse_ts(row["due_at"]), row["id"]))
        return [row["id"] for row in rows[:limit]]

    async def mark_reminded(
        self,
        escalation_id: str,
        *,
        expected_count: int,
        next_reminder_at: datetime,
        log: LogEntry,
    ) -> Escalation | None:
        values = {
            "reminders_sent": expected_count + 1,
            "next_reminder_at": codec.utc(next_reminder_at),
        }
        query = (
            (await self._table("escalations"))
            .update(values)
            .eq("id", escalation_id)
            .eq("state", EscalationState.OPEN.value)
            .eq("reminders_sent", expected_count)
        )
        return await self._escalation_cas(query.execute(), log)

    async def _escalation_cas(self, request: Awaitable[Any], log: LogEntry) -> Escalation | None:
        rows = (await request).data
        if not rows:
            return None
        await self._write_log(log)
        return codec.escalation_from_row(rows[0])

    # --- queue summary --------------------------------------------------------------------

    async def queue_summary(self, now: datetime) -> QueueSummary:
        drafts = await self._table("drafts")
        escalations = await self._table("escalations")
        oldest_pending = (
            drafts.select("received_at", count=CountMethod.exact)
            .eq("state", DraftState.PENDING.value)
            .order("received_at")
            .limit(1)
        )
        pending, in_flight, failing, unresolved, overdue = await asyncio.gather(
            oldest_pending.execute(),
            _count(drafts).in_("reply_status", REPLIES_IN_FLIGHT).execute(),
            _count(drafts).in_("reply_status", REPLIES_FAILING).execute(),
            _count(escalations).in_("state", ESCALATIONS_OPEN).execute(),
            _count(escalations)
            .eq("state", EscalationState.OPEN.value)
            .lt("due_at", _ts(now))
            .execute(),
        )
        oldest = pending.data[0]["received_at"] if pending.data else None
        return QueueSummary(
            pending=_total(pending),
            oldest_pending_at=codec.parse_ts(oldest),
            replies_in_flight=_total(in_flight),
            replies_failing=_total(failing),
            open_escalations=_total(unresolved),
            overdue_escalations=_total(overdue),
        )

    # --- decision log ---------------------------------------------------------------------

    async def log(self, entry: LogEntry) -> None:
        await self._write_log(entry)

    async def entries(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        subject_id: str | None = None,
    ) -> list[LogEntry]:
        # Pages until an empty one: the server may cap each response (max-rows) below _PAGE.
        found: list[LogEntry] = []
        while True:
            query = (await self._table("decision_log")).select("*")
            if since is not None:
                query = query.gte("created_at", _ts(since))
            if until is not None:
                query = query.lt("created_at", _ts(until))
            if subject_id is not None:
                query = query.eq("subject_id", subject_id)
            query = query.order("created_at").order("seq").limit(_PAGE).offset(len(found))
            rows = (await query.execute()).data
            if not rows:
                return found
            found += [codec.log_from_row(row) for row in rows]

    # --- helpers --------------------------------------------------------------------------

    async def _one(self, table: str, column: str, value: str) -> Mapping[str, Any] | None:
        query = (await self._table(table)).select("*").eq(column, value).limit(1)
        rows = (await query.execute()).data
        return rows[0] if rows else None

    async def _write_log(self, entry: LogEntry) -> None:
        await self._insert_once("decision_log", codec.log_row(entry))

    async def _insert_once(self, table: str, row: Mapping[str, Any]) -> None:
        """Insert a row keyed by ``id``; a row already there counts as done. Retried."""
        for attempt in range(1, self._attempts + 1):
            query = (await self._table(table)).upsert(
                dict(row), on_conflict="id", ignore_duplicates=True, returning=ReturnMethod.minimal
            )
            try:
                await query.execute()
                return
            except (httpx.TransportError, APIError) as exc:
                if attempt == self._attempts or not _transient(exc):
                    raise
            await self._sleep(0.2 * 2 ** (attempt - 1))


def _count(table: AsyncRequestBuilder) -> AsyncSelectRequestBuilder:
    """A HEAD request for the exact number of matching rows; add filters, then execute."""
    # limit(1): PostgREST still builds the page it would return; keep that page tiny.
    return table.select("id", count=CountMethod.exact, head=True).limit(1)


def _total(response: APIResponse) -> int:
    if response.count is None:
        raise StoreError("the REST API answered a count request without a total")
    return response.count


def _at_or_before(value: datetime | None, now: datetime) -> bool:
    return value is not None and value <= now


def _before(value: datetime | None, now: datetime) -> bool:
    return value is not None and value < now
