"""Supabase backend: the same tables, reached through Supabase's REST API (PostgREST).

Used when ``DATABASE_URL`` is unset and ``SUPABASE_URL`` + ``SUPABASE_SERVICE_ROLE_KEY`` are
set. The schema must already be applied (paste ``bot/store/supabase/*.sql`` into the Supabase
SQL editor, or run ``occ-bot migrate`` with ``DATABASE_URL``); ``migrate()`` only checks it,
because PostgREST cannot run DDL.

PostgREST runs each request as one statement, so:

* A state change with rows that belong with it (a decision and its escalation and log row;
  any write and its log row), or one that adds to a column (a reply's attempt count), is
  one ``rpc('occ_apply')`` call: a Postgres function from the migrations that runs the whole
  `Change` in one transaction, or none of it.
* A lone conditional write is one ``PATCH /rest/v1/<table>?<filters>`` with
  ``Prefer: return=representation``; an empty result means the race was lost.
* A lone insert that ignores a conflict (a log row, a job run) is an upsert with
  ``resolution=ignore-duplicates``: idempotent, so it is retried on transient errors.
* Counts are ``HEAD`` requests with ``Prefer: count=exact`` (the total is in
  ``Content-Range``), run side by side, each its own snapshot.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import Any

import httpx
from postgrest import APIError, AsyncRequestBuilder, AsyncSelectRequestBuilder
from postgrest.types import CountMethod
from supabase import AsyncClient, AsyncClientOptions, acreate_client

from bot.store import codec, revisions
from bot.store.errors import SchemaNotApplied, StoreError
from bot.store.ops import AnyOf, Change, Cond, Condition, Insert, Query, Row, Update, Where
from bot.store.schema import metadata
from bot.store.store import Store

Sleep = Callable[[float], Awaitable[None]]

_MISSING_TABLE_CODES = {"PGRST205", "42P01"}
_PAGE = 1000


def _how_to_migrate(missing: list[str]) -> str:
    files = ", ".join(f"bot/store/supabase/{revision}.sql" for revision in missing)
    return (
        f"paste {files} into the Supabase SQL editor, in that order (or run `occ-bot migrate` "
        "with DATABASE_URL set to the project's Postgres connection string)"
    )


def _value(value: Any) -> str:
    """A value as it stands in a PostgREST filter."""
    if isinstance(value, datetime):
        return codec.utc(value).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return str(value)


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


class RestDatabase:
    """`bot.store.database.Database` over Supabase's REST API; connects on first use."""

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
        attempts: tries for an idempotent insert (a log row, a job run).
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

    async def _connected(self) -> AsyncClient:
        async with self._lock:
            if self._client is None:
                self._http = httpx.AsyncClient(timeout=self._timeout)
                options = AsyncClientOptions(
                    httpx_client=self._http, auto_refresh_token=False, persist_session=False
                )
                self._client = await acreate_client(self._url, self._key, options)
        return self._client

    async def _table(self, name: str) -> AsyncRequestBuilder:
        return (await self._connected()).table(name)

    # --- lifecycle ------------------------------------------------------------------------

    async def migrate(self) -> list[str]:
        """Check the schema is applied; raise `SchemaNotApplied` saying how, if not."""
        known = revisions.known()
        applied = await self._applied_revision()
        if applied != known[-1]:
            missing = known[known.index(applied) + 1 :] if applied in known else known
            raise SchemaNotApplied(
                f"Supabase lacks migrations {', '.join(missing)}: {_how_to_migrate(missing)}"
            )
        return []

    async def _applied_revision(self) -> str | None:
        try:
            query = (await self._table("alembic_version")).select("version_num")
            rows = (await query.execute()).data
        except APIError as exc:
            if exc.code not in _MISSING_TABLE_CODES:
                raise
            return await self._legacy_revision()
        return rows[0]["version_num"] if rows else None

    async def _legacy_revision(self) -> str | None:
        """Projects set up before Alembic recorded their SQL files in schema_migrations."""
        try:
            query = (await self._table("schema_migrations")).select("name")
            names = {row["name"] for row in (await query.execute()).data}
        except APIError as exc:
            if exc.code in _MISSING_TABLE_CODES:
                return None
            raise
        applied = [revision for revision in revisions.known() if revision in names]
        return applied[-1] if applied else None

    async def ping(self) -> None:
        await (await self._table("alembic_version")).select("version_num").limit(1).execute()

    async def close(self) -> None:
        if self._http is not None:
            await self._http.aclose()
        self._client = None
        self._http = None

    # --- Database -------------------------------------------------------------------------

    async def apply(self, change: Change) -> Row | None:
        first = change.first
        if not change.then and isinstance(first, Update) and not first.increments:
            query = (await self._table(first.table)).update(codec.jsonable(first.values))
            rows = (await _filtered(query, first.where).execute()).data
            return rows[0] if rows else None
        if not change.then and isinstance(first, Insert) and first.ignore_conflict:
            return await self._insert_once(first)
        return (await (await self._connected()).rpc("occ_apply", _encoded(change)).execute()).data

    async def _insert_once(self, insert: Insert) -> Row | None:
        """An insert that ignores a conflict on the primary key: safe to retry, so retried."""
        keys = ",".join(column.name for column in metadata.tables[insert.table].primary_key)
        for attempt in range(1, self._attempts + 1):
            query = (await self._table(insert.table)).upsert(
                codec.jsonable(insert.row), on_conflict=keys, ignore_duplicates=True
            )
            try:
                rows = (await query.execute()).data
            except (httpx.TransportError, APIError) as exc:
                if attempt == self._attempts or not _transient(exc):
                    raise
            else:
                return rows[0] if rows else None
            await self._sleep(0.2 * 2 ** (attempt - 1))
        raise AssertionError("unreachable")

    async def select(self, query: Query) -> list[Row]:
        # Pages until a short page: the server may cap each response (max-rows) below _PAGE.
        found: list[Row] = []
        wanted = query.limit
        while wanted is None or len(found) < wanted:
            page = _PAGE if wanted is None else min(_PAGE, wanted - len(found))
            request = (await self._table(query.table)).select(",".join(query.columns) or "*")
            request = _filtered(request, query.where)
            for column in query.order_by:
                request = request.order(column, desc=query.descending)
            rows = (await request.limit(page).offset(query.offset + len(found)).execute()).data
            found += rows
            if not rows:
                break
        return found

    async def counts(self, counted: Mapping[str, tuple[str, Where]]) -> dict[str, int]:
        async def count(table: str, where: Where) -> int:
            # limit(1): PostgREST still builds the page it would return; keep that page tiny.
            request = (await self._table(table)).select("*", count=CountMethod.exact, head=True)
            response = await _filtered(request.limit(1), where).execute()
            if response.count is None:
                raise StoreError("the REST API answered a count request without a total")
            return response.count

        totals = await asyncio.gather(*(count(*spec) for spec in counted.values()))
        return dict(zip(counted, totals, strict=True))

    async def delete(self, table: str, where: Where) -> None:
        await _filtered((await self._table(table)).delete(), where).execute()


class SupabaseStore(Store):
    """The store over Supabase's REST API."""

    def __init__(self, url: str, key: str, **options: Any) -> None:
        super().__init__(RestDatabase(url, key, **options))


def _filtered(request: Any, where: Where) -> Any:
    """``request`` narrowed by ``where``, as PostgREST query parameters."""
    for condition in where:
        if isinstance(condition, AnyOf):
            request = request.or_(",".join(_branch(branch) for branch in condition.branches))
            continue
        request = _narrow(request, condition)
    return request


def _narrow(request: AsyncSelectRequestBuilder, cond: Cond) -> Any:
    column, value = cond.column, cond.value
    match cond.op:
        case "eq":
            return request.eq(column, _value(value))
        case "in":
            return request.in_(column, [_value(item) for item in value])
        case "is_null":
            return request.is_(column, None)
        case "not_null":
            return request.not_.is_(column, None)
        case "lt":
            return request.lt(column, _value(value))
        case "lte":
            return request.lte(column, _value(value))
        case "gte":
            return request.gte(column, _value(value))
        case "null_or_lt":
            return request.or_(f"{column}.is.null,{column}.lt.{_value(value)}")
    raise ValueError(f"unknown operator {cond.op!r}")


def _branch(branch: tuple[Condition, ...]) -> str:
    """One branch of an ``or=(...)`` filter: ``and(a.eq.x,b.lt.y)``."""
    return "and(" + ",".join(_term(condition) for condition in branch) + ")"


def _term(condition: Condition) -> str:
    if isinstance(condition, AnyOf):
        return "or(" + ",".join(_branch(branch) for branch in condition.branches) + ")"
    column, value = condition.column, condition.value
    match condition.op:
        case "in":
            return f"{column}.in.({','.join(_value(item) for item in value)})"
        case "is_null":
            return f"{column}.is.null"
        case "not_null":
            return f"{column}.not.is.null"
        case "null_or_lt":
            return f"or({column}.is.null,{column}.lt.{_value(value)})"
    return f"{column}.{condition.op}.{_value(value)}"


def _encoded(change: Change) -> dict[str, Any]:
    """A change as `occ_apply` reads it."""
    return {"change": {"first": _write(change.first), "then": [_write(t) for t in change.then]}}


def _write(write: Update | Insert) -> dict[str, Any]:
    if isinstance(write, Insert):
        return {
            "kind": "insert",
            "table": write.table,
            "row": codec.jsonable(write.row),
            "ignore_conflict": write.ignore_conflict,
        }
    return {
        "kind": "update",
        "table": write.table,
        "where": _where_json(write.where),
        "values": codec.jsonable(write.values),
        "increments": dict(write.increments),
    }


def _where_json(where: Where) -> list[dict[str, Any]]:
    return [
        {"any": [_where_json(branch) for branch in condition.branches]}
        if isinstance(condition, AnyOf)
        else {
            "column": condition.column,
            "op": condition.op,
            "value": codec.jsonable(condition.value),
        }
        for condition in where
    ]
