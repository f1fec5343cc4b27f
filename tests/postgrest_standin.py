"""A stand-in for Supabase's REST API (PostgREST) on 127.0.0.1, backed by a real PostgreSQL schema.

The stand-in works in its own schema of the test PostgreSQL server (``$OCC_TEST_DATABASE_URL``,
default ``postgresql://postgres@127.0.0.1:5432/test``): ``schema_sql`` and later
`PostgrestStandin.apply_sql` run there as if pasted into the Supabase SQL editor, so tables,
constraints, defaults and plpgsql functions are PostgreSQL's own. Each REST request becomes
one transaction of SQL built the way PostgREST builds it (``src/PostgREST/Query/*.hs``):
identifiers through `psycopg.sql`, values always bound, request bodies read by
``json_to_record(set)`` with the columns' types, results rendered by PostgreSQL's ``json_agg``
(so timestamptz reads ``2025-03-14T09:30:12.345678+00:00`` in the UTC session, jsonb is JSON
and bigint a number). Requests run on a small pool of connections, side by side, so a
conditional PATCH is a real row-locked UPDATE. The subset of PostgREST spoken:

* ``GET``/``HEAD /rest/v1/<table>`` with ``select`` (column names or ``*``), filters
  ``eq``/``neq``/``lt``/``lte``/``gt``/``gte``/``like``/``ilike``/``match``/``imatch``/
  ``is``/``in``/``isdistinct`` (each may be negated with ``not.``), logic trees
  ``or=(...)``/``and=(...)`` (nestable, negatable), ``order`` (``asc``/``desc``,
  ``nullsfirst``/``nullslast``; PostgreSQL's default null order otherwise), ``limit``,
  ``offset``; responses capped at ``max_rows`` (PostgREST's ``db-max-rows``).
* Counts: with ``Prefer: count=exact`` (``planned``/``estimated`` are answered exactly too)
  ``Content-Range`` carries the total of matching rows, ``0-0/7`` or ``*/0``, with
  PostgREST's ``rangeStatusHeader`` status: 206 when the page holds fewer rows than the
  total, 416 (PGRST103) when the offset is past it. ``HEAD`` answers as ``GET``, bodiless.
* ``POST`` (insert; upsert with ``Prefer: resolution=ignore-duplicates|merge-duplicates`` on
  ``on_conflict`` columns, else the primary key; ``columns``), ``PATCH`` and ``DELETE``
  with filters; ``Prefer: return=representation|minimal``.
* ``POST /rest/v1/rpc/<function>`` with a JSON object of named arguments (``GET``/``HEAD``
  with query arguments too, in a read-only transaction): the overload whose parameters
  match the keys is called as ``fn(a := ..., b := ...)``. A scalar result answers as that
  JSON value, a single composite as one object, ``setof`` as an array (filters, order,
  limit and counts apply), ``void`` as 204 without a body.
* Errors as PostgREST's JSON ``{"code", "details", "hint", "message"}``: PostgreSQL's
  SQLSTATE, message, detail and hint, with the HTTP status from PostgREST's
  ``mapSQLtoHTTP`` (``src/PostgREST/Error.hs``): 23505/23503 409, P0001 400, other
  ``P0`` 500, ``40`` 500, 42P01 404, 42883 404, ``PTnnn`` nnn, unlisted codes 400, and
  ``RAISE SQLSTATE 'PGRST'`` with a JSON message and detail for a custom response. The
  stand-in's own: PGRST204 (a payload column the table lacks, 400), PGRST205 (no such table,
  404), PGRST202/PGRST203 (no function matches the arguments 404, several do 300),
  PGRST100/PGRST102 (a bad query string or body, 400); a wrong API key gets 401.
  Error messages name the schema ``public``, as Supabase's do.

Unsupported (answered 400 PGRST127): embedding, ``select`` aliases/casts/JSON paths,
``Prefer: missing=default`` with rows lacking a column, single unnamed-parameter functions.
Requests are recorded for tests; `fail_next` makes the next ones fail as a proxy would.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

import anyio.to_thread
import psycopg
import uvicorn
from psycopg import sql
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

DEFAULT_DATABASE_URL = os.environ.get(
    "OCC_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
EXPOSED_SCHEMA = "public"  # the schema name PostgREST's messages use on Supabase

_RESERVED_PARAMS = {"select", "order", "limit", "offset", "on_conflict", "columns"}
_COUNT_METHODS = {"exact", "planned", "estimated"}
_OPERATORS = {
    "eq": "=",
    "neq": "<>",
    "gt": ">",
    "gte": ">=",
    "lt": "<",
    "lte": "<=",
    "like": "LIKE",
    "ilike": "ILIKE",
    "match": "~",
    "imatch": "~*",
    "isdistinct": "IS DISTINCT FROM",
}
_IS_VALUES = {
    "null": "NULL",
    "not_null": "NOT NULL",
    "true": "TRUE",
    "false": "FALSE",
    "unknown": "UNKNOWN",
}
_JSON_HEADERS = {"content-type": "application/json; charset=utf-8"}


class PostgrestError(Exception):
    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: str | None = None,
        hint: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body = {"code": code, "details": details, "hint": hint, "message": message}
        self.headers = headers or {}

    def response(self, headers: dict[str, str] | None = None) -> Response:
        return Response(
            json.dumps(self.body),
            status_code=self.status,
            headers={**self.headers, **(headers or {}), **_JSON_HEADERS},
        )


def _parse_error(what: str, text: str) -> PostgrestError:
    return PostgrestError(400, "PGRST100", f'"failed to parse {what} ({text})" (line 1, column 1)')


def _not_implemented(details: str) -> PostgrestError:
    return PostgrestError(400, "PGRST127", "Feature not implemented", details=details)


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: list[tuple[str, str]]
    headers: dict[str, str]
    body: Any


@dataclass
class _Failure:
    method: str
    table: str
    status: int
    remaining: int


# --- PostgreSQL errors as PostgREST answers them ---------------------------------------------


def _status_for(sqlstate: str, message: str) -> int:
    """PostgREST's ``mapSQLtoHTTP`` (src/PostgREST/Error.hs), for an authenticated request."""
    exact = {
        "23503": 409,
        "23505": 409,
        "25006": 405,
        "53400": 500,
        "57P01": 503,
        "P0001": 400,
        "42P01": 404,
        "42P17": 500,
        "42501": 403,
    }
    if sqlstate in exact:
        return exact[sqlstate]
    if sqlstate == "21000":
        return 400 if message.endswith("requires a WHERE clause") else 500
    if sqlstate == "22023":
        return 401 if message.startswith("role") and message.endswith("does not exist") else 400
    if sqlstate == "42883":
        return 406 if message.startswith("function xmlagg(") else 404
    if sqlstate.startswith("PT"):
        code = sqlstate[2:]
        return int(code) if code.isdigit() and 100 <= int(code) <= 599 else 500
    by_class = {
        "08": 503,
        "09": 500,
        "0L": 403,
        "0P": 403,
        "25": 500,
        "28": 403,
        "2D": 500,
        "38": 500,
        "39": 500,
        "3B": 500,
        "40": 500,
        "53": 503,
        "54": 500,
        "55": 500,
        "57": 500,
        "58": 500,
        "F0": 500,
        "HV": 500,
        "P0": 500,
        "XX": 500,
    }
    return by_class.get(sqlstate[:2], 400)


def _from_pg(exc: psycopg.Error) -> PostgrestError:
    diag = exc.diag
    sqlstate = exc.sqlstate or ""
    message = diag.message_primary or str(exc)
    if sqlstate == "PGRST":
        return _raised_pgrst(message, diag.message_detail)
    if not sqlstate:  # the connection failed under us
        return PostgrestError(503, "PGRST001", "Database client error. Retrying the connection.")
    return PostgrestError(
        _status_for(sqlstate, message),
        sqlstate,
        message,
        details=diag.message_detail,
        hint=diag.message_hint,
    )


def _raised_pgrst(message: str, detail: str | None) -> PostgrestError:
    """``RAISE SQLSTATE 'PGRST' USING message = '{"code":..}', detail = '{"status":..}'``."""
    try:
        body = json.loads(message)
        if not isinstance(body, dict) or "code" not in body or "message" not in body:
            raise ValueError(message)
    except ValueError:
        return PostgrestError(
            500,
            "PGRST121",
            "Could not parse JSON in the \"RAISE SQLSTATE 'PGRST'\" error",
            details=f"Invalid JSON value for MESSAGE: '{message}'",
            hint="MESSAGE must be a JSON object with obligatory keys: 'code', 'message' and "
            "optional keys: 'details', 'hint'.",
        )
    try:
        response = json.loads(detail or "")
        status = int(response["status"])
        headers = {str(k): str(v) for k, v in response.get("headers", {}).items()}
    except (ValueError, KeyError, TypeError, AttributeError):
        return PostgrestError(
            500,
            "PGRST121",
            "Could not parse JSON in the \"RAISE SQLSTATE 'PGRST'\" error",
            details="DETAIL is missing in the RAISE statement"
            if detail is None
            else f"Invalid JSON value for DETAIL: '{detail}'",
            hint="DETAIL must be a JSON object with obligatory keys: 'status', 'headers' and "
            "optional key: 'status_text'.",
        )
    return PostgrestError(
        status,
        str(body["code"]),
        str(body["message"]),
        details=body.get("details"),
        hint=body.get("hint"),
        headers=headers,
    )


# --- the schema cache, read live from the catalogs -------------------------------------------


@dataclass(frozen=True)
class _Table:
    name: str
    columns: dict[str, str]  # name -> type, in the table's order
    primary_key: tuple[str, ...]


@dataclass(frozen=True)
class _Param:
    name: str
    type: str
    required: bool
    variadic: bool


@dataclass(frozen=True)
class _Routine:
    name: str
    params: tuple[_Param, ...]
    returns: Literal["void", "scalar", "composite"]
    setof: bool


def _find_table(conn: psycopg.Connection, schema: str, name: str) -> _Table:
    rows = conn.execute(
        """
        SELECT a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod),
               coalesce(a.attnum = ANY (i.indkey), false)
        FROM pg_catalog.pg_class c
        JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
        JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0
             AND NOT a.attisdropped
        LEFT JOIN pg_catalog.pg_index i ON i.indrelid = c.oid AND i.indisprimary
        WHERE n.nspname = %s AND c.relname = %s AND c.relkind IN ('r', 'v', 'm', 'f', 'p')
        ORDER BY a.attnum
        """,
        (schema, name),
    ).fetchall()
    if not rows:
        raise PostgrestError(
            404,
            "PGRST205",
            f"Could not find the table '{EXPOSED_SCHEMA}.{name}' in the schema cache",
        )
    return _Table(
        name=name,
        columns={column: type_ for column, type_, _ in rows},
        primary_key=tuple(column for column, _, is_pk in rows if is_pk),
    )


def _find_routine(conn: psycopg.Connection, schema: str, name: str, keys: set[str]) -> _Routine:
    """The overload ``keys`` call, as PostgREST's ``findProc`` (src/PostgREST/Plan.hs) picks it."""
    functions = conn.execute(
        """
        SELECT p.oid, p.proretset, p.prorettype = 'pg_catalog.void'::pg_catalog.regtype,
               (t.typtype = 'c' OR coalesce(p.proargmodes::text[] && '{t,b,o}', false)),
               p.pronargs - p.pronargdefaults
        FROM pg_catalog.pg_proc p
        JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
        JOIN pg_catalog.pg_type t ON t.oid = p.prorettype
        WHERE n.nspname = %s AND p.proname = %s AND p.prokind = 'f'
        ORDER BY p.oid
        """,
        (schema, name),
    ).fetchall()
    arguments = conn.execute(
        """
        SELECT p.oid, coalesce(a.name, ''), a.type::pg_catalog.regtype::text,
               coalesce(a.mode, 'i')
        FROM pg_catalog.pg_proc p,
             unnest(coalesce(p.proallargtypes, p.proargtypes::oid[]), p.proargnames,
                    p.proargmodes) WITH ORDINALITY AS a (type, name, mode, idx)
        WHERE p.oid = ANY (%s)
        ORDER BY p.oid, a.idx
        """,
        ([oid for oid, *_ in functions],),
    ).fetchall()
    candidates: list[_Routine] = []
    for oid, setof, void, composite, required in functions:
        inputs = [
            (arg_name, type_, mode == "v")
            for arg_oid, arg_name, type_, mode in arguments
            if arg_oid == oid and mode in ("i", "b", "v")
        ]
        params = tuple(
            _Param(arg_name, type_, index < required, variadic)
            for index, (arg_name, type_, variadic) in enumerate(inputs)
        )
        returns = "void" if void else "composite" if composite else "scalar"
        candidates.append(_Routine(name, params, returns, setof))

    def matches(routine: _Routine) -> bool:
        if any(param.name == "" for param in routine.params):
            return False  # single unnamed parameters: not supported by the stand-in
        if not routine.params:
            return not keys
        required = {p.name for p in routine.params if p.required}
        optional = {p.name for p in routine.params if not p.required}
        return keys - optional == required

    matching = [routine for routine in candidates if matches(routine)]
    if len(matching) == 1:
        return matching[0]
    if matching:
        signatures = ", ".join(
            f"{EXPOSED_SCHEMA}.{name}("
            + ", ".join(f"{p.name} => {p.type}" for p in routine.params)
            + ")"
            for routine in matching
        )
        raise PostgrestError(
            300,
            "PGRST203",
            f"Could not choose the best candidate function between: {signatures}",
            hint="Try renaming the parameters or the function itself in the database so "
            "function overloading can be resolved",
        )
    names = sorted(keys)
    listed = f"({', '.join(names)})" if names else " without parameters"
    searched = (
        f" with parameter{'s' if len(names) > 1 else ''} {', '.join(names)}"
        if names
        else " without parameters"
    )
    raise PostgrestError(
        404,
        "PGRST202",
        f"Could not find the function {EXPOSED_SCHEMA}.{name}{listed} in the schema cache",
        details=f"Searched for the function {EXPOSED_SCHEMA}.{name}{searched} or with a "
        "single unnamed json/jsonb parameter, but no matches were found in the schema cache.",
    )


# --- the query string grammar -----------------------------------------------------------------


class _Binds:
    """Bound parameters by name, so a fragment may appear twice (page and count)."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def add(self, value: Any) -> sql.Placeholder:
        name = f"p{len(self.values)}"
        self.values[name] = value
        return sql.Placeholder(name)


def _column(qualifier: sql.Identifier, name: str) -> sql.Composable:
    if not name or not re.fullmatch(r"[^.,:()\-> ]+", name):
        raise _not_implemented(f"the stand-in reads plain column names only, not {name!r}")
    return sql.SQL("{}.{}").format(qualifier, sql.Identifier(name))


def _filter(qualifier: sql.Identifier, column: str, expr: str, binds: _Binds) -> sql.Composable:
    """``column=[not.]op.value``, as PostgREST's ``pgFmtFilter`` writes it (SqlFragment.hs)."""
    negated = expr.startswith("not.")
    body = expr[4:] if negated else expr
    operator, dot, operand = body.partition(".")
    if not dot:
        raise _parse_error("filter", expr)
    target = _column(qualifier, column)
    if operator == "is":
        keyword = _IS_VALUES.get(operand.lower())
        if keyword is None:
            raise _parse_error("filter", expr)
        condition = sql.SQL("{} IS " + keyword).format(target)
    elif operator == "in":
        if not (operand.startswith("(") and operand.endswith(")")):
            raise _parse_error("filter", expr)
        items = _csv(operand[1:-1])
        literal = "{}" if items == [""] else "{" + ",".join(map(_array_item, items)) + "}"
        condition = sql.SQL("{} = ANY ({})").format(target, binds.add(literal))
    elif operator in _OPERATORS:
        if operator in ("like", "ilike"):
            operand = operand.replace("*", "%")
        condition = sql.SQL("{} " + _OPERATORS[operator] + " {}").format(target, binds.add(operand))
    else:
        raise _parse_error("filter", expr)
    return sql.SQL("NOT {}").format(condition) if negated else condition


def _array_item(item: str) -> str:
    return '"' + item.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _logic(qualifier: sql.Identifier, operator: str, tree: str, binds: _Binds) -> sql.Composable:
    """``or=(a.is.null,b.lt.5)``: each item is ``column.[not.]op.value`` or a nested
    ``[not.]and(...)``/``[not.]or(...)``; a value runs to the next ``,`` or ``)`` unless
    double-quoted."""
    negated = operator.startswith("not.")
    joiner = operator.removeprefix("not.")
    tree = tree.strip()
    if joiner not in ("and", "or") or not (tree.startswith("(") and tree.endswith(")")):
        raise _parse_error("logic tree", tree)
    parts: list[sql.Composable] = []
    for item in map(str.strip, _logic_items(tree[1:-1])):
        nested = re.fullmatch(r"((?:not\.)?(?:and|or))(\(.*\))", item, re.S)
        if nested:
            parts.append(_logic(qualifier, nested.group(1), nested.group(2), binds))
            continue
        column, dot, expr = item.partition(".")
        if not dot:
            raise _parse_error("logic tree", tree)
        negation = ""
        if expr.startswith("not."):
            negation, expr = "not.", expr[4:]
        operator_name, _, operand = expr.partition(".")
        if len(operand) >= 2 and operand[0] == operand[-1] == '"':
            operand = re.sub(r"\\(.)", r"\1", operand[1:-1])
        parts.append(_filter(qualifier, column, f"{negation}{operator_name}.{operand}", binds))
    combined = sql.SQL("(") + sql.SQL(f" {joiner.upper()} ").join(parts) + sql.SQL(")")
    return sql.SQL("NOT {}").format(combined) if negated else combined


def _where(
    qualifier: sql.Identifier, params: list[tuple[str, str]], binds: _Binds, skip: set[str]
) -> sql.Composable:
    conditions: list[sql.Composable] = []
    for key, value in params:
        if key in _RESERVED_PARAMS or key in skip:
            continue
        if key in ("or", "and", "not.or", "not.and"):
            conditions.append(_logic(qualifier, key, value, binds))
        else:
            conditions.append(_filter(qualifier, key, value, binds))
    if not conditions:
        return sql.SQL("")
    return sql.SQL(" WHERE ") + sql.SQL(" AND ").join(conditions)


def _order(qualifier: sql.Identifier, order: str | None) -> sql.Composable:
    if not order:
        return sql.SQL("")
    terms: list[sql.Composable] = []
    for term in order.split(","):
        column, *modifiers = term.strip().split(".")
        words: list[str] = []
        for modifier in modifiers:
            word = {
                "asc": "ASC",
                "desc": "DESC",
                "nullsfirst": "NULLS FIRST",
                "nullslast": "NULLS LAST",
            }.get(modifier)
            if word is None or len(modifiers) > 2:
                raise _parse_error("order", order)
            words.append(word)
        terms.append(sql.SQL(" ").join([_column(qualifier, column), *map(sql.SQL, words)]))
    return sql.SQL(" ORDER BY ") + sql.SQL(", ").join(terms)


def _selected(select: str | None) -> list[str] | None:
    if select is None or select.strip() == "*":
        return None
    names = [name.strip() for name in select.split(",")]
    for name in names:
        if name == "*" or not re.fullmatch(r"[^.,:()\-> ]+", name):
            raise _not_implemented(f"the stand-in selects plain column names only: {select!r}")
    return names


def _nonnegative(params: dict[str, str], name: str) -> int | None:
    value = params.get(name)
    if value is None:
        return None
    if not value.isdigit():
        raise _parse_error(name, value)
    return int(value)


def _content_range(offset: int, returned: int, total: int | None) -> str:
    """PostgREST's ``contentRangeH``: ``first-last/total``; ``*`` for an empty page, and for
    a total nobody asked for."""
    last = offset + returned - 1
    span = f"{offset}-{last}" if total != 0 and offset <= last else "*"
    return f"{span}/{'*' if total is None else total}"


def _logic_items(text: str) -> list[str]:
    """A logic tree's items: split at commas outside parentheses and double quotes."""
    items: list[str] = []
    current = ""
    depth = 0
    quoted = False
    escaped = False
    for char in text:
        if escaped:
            escaped = False
        elif quoted and char == "\\":
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif not quoted and char == "(":
            depth += 1
        elif not quoted and char == ")":
            depth -= 1
        elif not quoted and depth == 0 and char == ",":
            items.append(current)
            current = ""
            continue
        current += char
    items.append(current)
    return items


def _csv(text: str) -> list[str]:
    """PostgREST's list syntax inside in.(...): commas separate, double quotes protect."""
    items: list[str] = []
    current = ""
    quoted = False
    escaped = False
    for char in text:
        if escaped:
            current += char
            escaped = False
        elif char == "\\" and quoted:
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char == "," and not quoted:
            items.append(current)
            current = ""
        else:
            current += char
    items.append(current)
    return items


# --- one request ------------------------------------------------------------------------------


@dataclass
class _Call:
    method: str
    target: str  # "<table>" or "rpc/<function>"
    params: list[tuple[str, str]]
    prefer: dict[str, str]
    raw: bytes

    @property
    def first(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for key, value in self.params:
            out.setdefault(key, value)
        return out

    def payload(self, *, rpc: bool) -> Any:
        if not self.raw.strip() and rpc:
            return {}
        try:
            return json.loads(self.raw)
        except ValueError:
            raise PostgrestError(400, "PGRST102", "Empty or invalid json") from None


def _body_source(raw: str, fields: list[tuple[str, str]], binds: _Binds) -> sql.Composable:
    """PostgREST's ``fromJsonBodyF``: the body's rows, typed as the target columns."""
    is_object = raw.lstrip(" \t\n\r").startswith("{")
    names = sql.SQL(", ").join(sql.Identifier(name) for name, _ in fields)
    typed = sql.SQL(", ").join(
        sql.SQL("{} {}").format(sql.Identifier(name), sql.SQL(type_)) for name, type_ in fields
    )
    function = sql.SQL("json_to_record" if is_object else "json_to_recordset")
    return sql.SQL(
        "(SELECT {body}::json AS json_data) pgrst_payload, "
        "LATERAL (SELECT {names} FROM {function}(pgrst_payload.json_data) AS _({typed})) "
        "pgrst_body"
    ).format(body=binds.add(raw), names=names, function=function, typed=typed)


def _rows_response(
    body: str, status: int, headers: dict[str, str], *, representation: bool
) -> Response:
    if not representation:
        return Response(status_code=status, headers=headers)
    return Response(body, status_code=status, headers={**headers, **_JSON_HEADERS})


class _Handler:
    """Answers one request on one connection, in one transaction."""

    def __init__(self, standin: PostgrestStandin, conn: psycopg.Connection, call: _Call) -> None:
        self.standin = standin
        self.conn = conn
        self.call = call
        self.schema = standin.schema
        self.binds = _Binds()

    def _fetch(self, query: sql.Composable) -> tuple[Any, ...]:
        row = self.conn.execute(query, self.binds.values).fetchone()
        assert row is not None
        return row

    def _relation(self, name: str) -> sql.Composable:
        return sql.SQL("{}.{}").format(sql.Identifier(self.schema), sql.Identifier(name))

    def _count(self) -> str | None:
        count = self.call.prefer.get("count")
        return count if count in _COUNT_METHODS else None

    def answer(self) -> Response:
        call = self.call
        if call.target.startswith("rpc/"):
            return self.rpc(call.target.removeprefix("rpc/"))
        if "/" in call.target:
            raise PostgrestError(404, "PGRST125", "Invalid path specified in request URL")
        table = _find_table(self.conn, self.schema, call.target)
        if call.method in ("GET", "HEAD"):
            return self.read(table)
        if call.method == "POST":
            return self.insert(table)
        if call.method == "PATCH":
            return self.update(table)
        return self.delete(table)

    # --- reading ----------------------------------------------------------------------------

    def _page(self) -> tuple[int, int]:
        params = self.call.first
        offset = _nonnegative(params, "offset") or 0
        limit = _nonnegative(params, "limit")
        limit = self.standin.max_rows if limit is None else min(limit, self.standin.max_rows)
        return offset, limit

    def _read_response(
        self, offset: int, returned: int, total: int | None, body: str | None
    ) -> Response:
        """A read's status and headers as PostgREST's ``rangeStatusHeader`` makes them."""
        headers = {"content-range": _content_range(offset, returned, total)}
        count = self._count()
        if count is not None:
            headers["preference-applied"] = f"count={count}"
        if total is not None and offset > total:
            return PostgrestError(
                416,
                "PGRST103",
                "Requested range not satisfiable",
                details=f"An offset of {offset} was requested, but there are only {total} rows.",
            ).response(headers)
        status = 206 if total is not None and returned < total else 200
        if body is None:
            return Response(status_code=status, headers={**headers, **_JSON_HEADERS})
        return Response(body, status_code=status, headers={**headers, **_JSON_HEADERS})

    def read(self, table: _Table) -> Response:
        qualifier = sql.Identifier(table.name)
        selected = _selected(self.call.first.get("select"))
        columns = (
            sql.SQL("{}.*").format(qualifier)
            if selected is None
            else sql.SQL(", ").join(_column(qualifier, name) for name in selected)
        )
        where = _where(qualifier, self.call.params, self.binds, set())
        order = _order(qualifier, self.call.first.get("order"))
        offset, limit = self._page()
        total = (
            sql.SQL("(SELECT pg_catalog.count(*) FROM {}{})").format(
                self._relation(table.name), where
            )
            if self._count()
            else sql.SQL("null::bigint")
        )
        query = sql.SQL(
            "WITH pgrst_source AS (SELECT {columns} FROM {relation}{where}{order} "
            "LIMIT {limit} OFFSET {offset}) "
            "SELECT {total}, pg_catalog.count(*), "
            "coalesce(json_agg(_postgrest_t), '[]')::text "
            "FROM (SELECT * FROM pgrst_source) _postgrest_t"
        ).format(
            columns=columns,
            relation=self._relation(table.name),
            where=where,
            order=order,
            limit=self.binds.add(limit),
            offset=self.binds.add(offset),
            total=total,
        )
        total_rows, returned, body = self._fetch(query)
        head = self.call.method == "HEAD"
        return self._read_response(offset, returned, total_rows, None if head else body)

    # --- writing ----------------------------------------------------------------------------

    def _returning(self, table: _Table) -> list[str]:
        selected = _selected(self.call.first.get("select"))
        return list(table.columns) if selected is None else selected

    def _write_fields(self, table: _Table, payload: Any) -> list[tuple[str, str]]:
        """The payload's columns (or ``columns=``), typed; PGRST204 for one the table lacks."""
        rows = payload if isinstance(payload, list) else [payload]
        if not all(isinstance(row, dict) for row in rows):
            raise PostgrestError(400, "PGRST102", "Empty or invalid json")
        columns = self.call.first.get("columns")
        if columns is not None:
            names = [name.strip().strip('"') for name in columns.split(",") if name.strip()]
        else:
            keys = [list(row) for row in rows]
            if rows and any(set(k) != set(keys[0]) for k in keys):
                raise PostgrestError(400, "PGRST102", "All object keys must match")
            names = keys[0] if keys else []
        for name in names:
            if name not in table.columns:
                raise PostgrestError(
                    400,
                    "PGRST204",
                    f"Could not find the '{name}' column of '{table.name}' in the schema cache",
                )
        if self.call.prefer.get("missing") == "default" and any(
            set(names) - set(row) for row in rows
        ):
            raise _not_implemented("the stand-in does not fill missing values with defaults")
        return [(name, table.columns[name]) for name in names]

    def _representation(self) -> bool:
        return self.call.prefer.get("return") == "representation"

    def insert(self, table: _Table) -> Response:
        payload = self.call.payload(rpc=False)
        fields = self._write_fields(table, payload)
        qualifier = sql.Identifier(table.name)
        names = [name for name, _ in fields]
        resolution = self.call.prefer.get("resolution")
        conflict: sql.Composable = sql.SQL("")
        if resolution in ("ignore-duplicates", "merge-duplicates"):
            on_conflict = self.call.first.get("on_conflict")
            target = (
                [name.strip() for name in on_conflict.split(",")]
                if on_conflict
                else list(table.primary_key)
            )
            if target:
                action = (
                    sql.SQL("DO UPDATE SET ")
                    + sql.SQL(", ").join(
                        sql.SQL("{0} = EXCLUDED.{0}").format(sql.Identifier(name)) for name in names
                    )
                    if resolution == "merge-duplicates" and names
                    else sql.SQL("DO NOTHING")
                )
                conflict = sql.SQL(" ON CONFLICT ({}) {}").format(
                    sql.SQL(", ").join(map(sql.Identifier, target)), action
                )
        returning = self._returning(table)
        if fields:
            source = sql.SQL("({}) SELECT {} FROM {}").format(
                sql.SQL(", ").join(map(sql.Identifier, names)),
                sql.SQL(", ").join(
                    sql.SQL("pgrst_body.{}").format(sql.Identifier(n)) for n in names
                ),
                _body_source(self.call.raw.decode(), fields, self.binds),
            )
        else:  # `{}` or `[{}, {}]`: one row of defaults per object
            rows = len(payload) if isinstance(payload, list) else 1
            source = sql.SQL("SELECT FROM generate_series(1, {})").format(self.binds.add(rows))
        query = sql.SQL(
            "WITH pgrst_source AS (INSERT INTO {relation} {source}{conflict} "
            "RETURNING {returned}, ({qualifier}.xmax = 0) AS pgrst_inserted) "
            "SELECT (SELECT pg_catalog.count(*) FROM pgrst_source), "
            "(SELECT pg_catalog.count(*) FROM pgrst_source WHERE pgrst_inserted), "
            "(SELECT coalesce(json_agg(_postgrest_t), '[]')::text "
            "FROM (SELECT {names} FROM pgrst_source) _postgrest_t)"
        ).format(
            relation=self._relation(table.name),
            source=source,
            conflict=conflict,
            returned=sql.SQL(", ").join(_column(qualifier, name) for name in returning),
            qualifier=qualifier,
            names=sql.SQL(", ").join(map(sql.Identifier, returning)),
        )
        written, inserted, body = self._fetch(query)
        status = 200 if resolution == "merge-duplicates" and inserted == 0 else 201
        headers = {"content-range": _content_range(1, 0, written if self._count() else None)}
        return _rows_response(body, status, headers, representation=self._representation())

    def update(self, table: _Table) -> Response:
        payload = self.call.payload(rpc=False)
        fields = self._write_fields(table, payload)
        qualifier = sql.Identifier(table.name)
        returning = self._returning(table)
        returned = sql.SQL(", ").join(_column(qualifier, name) for name in returning)
        where = _where(qualifier, self.call.params, self.binds, set())
        if fields:
            mutation = sql.SQL(
                "UPDATE {relation} SET {sets} FROM {source}{where} RETURNING {returned}"
            )
            mutation = mutation.format(
                relation=self._relation(table.name),
                sets=sql.SQL(", ").join(
                    sql.SQL("{0} = pgrst_body.{0}").format(sql.Identifier(name))
                    for name, _ in fields
                ),
                source=_body_source(self.call.raw.decode(), fields, self.binds),
                where=where,
                returned=returned,
            )
        else:  # nothing to set: PostgREST selects no rows
            mutation = sql.SQL("SELECT {} FROM {} WHERE false").format(
                returned, self._relation(table.name)
            )
        return self._mutated(mutation)

    def delete(self, table: _Table) -> Response:
        qualifier = sql.Identifier(table.name)
        returned = sql.SQL(", ").join(_column(qualifier, name) for name in self._returning(table))
        mutation = sql.SQL("DELETE FROM {}{} RETURNING {}").format(
            self._relation(table.name),
            _where(qualifier, self.call.params, self.binds, set()),
            returned,
        )
        return self._mutated(mutation)

    def _mutated(self, mutation: sql.Composable) -> Response:
        query = sql.SQL(
            "WITH pgrst_source AS ({}) SELECT pg_catalog.count(*), "
            "coalesce(json_agg(_postgrest_t), '[]')::text "
            "FROM (SELECT * FROM pgrst_source) _postgrest_t"
        ).format(mutation)
        written, body = self._fetch(query)
        total = written if self._count() else None
        if self.call.method == "DELETE":
            headers = {"content-range": _content_range(1, 0, total)}
        else:
            headers = {"content-range": _content_range(0, written, total)}
        representation = self._representation()
        return _rows_response(
            body, 200 if representation else 204, headers, representation=representation
        )

    # --- functions --------------------------------------------------------------------------

    def rpc(self, name: str) -> Response:
        call = self.call
        if call.method in ("GET", "HEAD"):
            payload: dict[str, Any] = {}
            names = {row[0] for row in self._param_names(name)}
            direct = {key: value for key, value in call.first.items() if key in names}
            routine = _find_routine(self.conn, self.schema, name, set(direct))
        elif call.method == "POST":
            payload = call.payload(rpc=True)
            if isinstance(payload, list):
                payload = payload[0] if payload else {}
            if not isinstance(payload, dict):
                raise PostgrestError(400, "PGRST102", "Empty or invalid json")
            direct = {}
            routine = _find_routine(self.conn, self.schema, name, set(payload))
        else:
            raise PostgrestError(405, "PGRST101", f"Cannot use the {call.method} method on RPC")
        specified = [p for p in routine.params if p.name in payload or p.name in direct]
        function = self._relation(name)
        scalar = routine.returns != "composite"

        def argument(param: _Param) -> sql.Composable:
            prefix = sql.SQL("VARIADIC " if param.variadic else "")
            if param.name in direct:
                value = sql.SQL("{}::{}").format(
                    self.binds.add(direct[param.name]), sql.SQL(param.type)
                )
            else:
                value = sql.SQL("pgrst_body.{}").format(sql.Identifier(param.name))
            return sql.SQL("{}{} := {}").format(prefix, sql.Identifier(param.name), value)

        invocation = sql.SQL("{}({})").format(
            function, sql.SQL(", ").join(argument(p) for p in specified)
        )
        called = (
            sql.SQL("(SELECT {} pgrst_scalar) pgrst_call").format(invocation)
            if scalar
            else sql.SQL("{} pgrst_call").format(invocation)
        )
        if payload and specified:
            raw = json.dumps({p.name: payload[p.name] for p in specified})
            fields = [(p.name, p.type) for p in specified]
            source = sql.SQL("{}, LATERAL {}").format(_body_source(raw, fields, self.binds), called)
        else:
            source = called
        picked = sql.SQL("pgrst_call.pgrst_scalar" if scalar else "pgrst_call.*")

        qualifier = sql.Identifier(name)
        selected = _selected(call.first.get("select"))
        columns = (
            sql.SQL("{}.*").format(qualifier)
            if selected is None or scalar
            else sql.SQL(", ").join(_column(qualifier, column) for column in selected)
        )
        where = _where(qualifier, call.params, self.binds, set(direct))
        order = _order(qualifier, call.first.get("order"))
        offset, limit = self._page()
        total = (
            sql.SQL("(SELECT pg_catalog.count(*) FROM pgrst_source {}{})").format(qualifier, where)
            if self._count()
            else sql.SQL("null::bigint")
        )
        # PostgREST's asJsonF: one value (or object) for a single result, an array for setof
        aggregate = "json_agg(_postgrest_t" + (".pgrst_scalar)" if scalar else ")")
        if routine.returns == "void":
            body = sql.SQL("''")
        elif routine.setof:
            body = sql.SQL(f"coalesce({aggregate}, '[]')")
        else:
            body = sql.SQL(f"coalesce({aggregate}->0, 'null')")
        query = sql.SQL(
            "WITH pgrst_source AS (SELECT {picked} FROM {source}) "
            "SELECT {total}, pg_catalog.count(*), ({body})::text "
            "FROM (SELECT {columns} FROM pgrst_source {qualifier}{where}{order} "
            "LIMIT {limit} OFFSET {offset}) _postgrest_t"
        ).format(
            picked=picked,
            source=source,
            total=total,
            body=body,
            columns=columns,
            qualifier=qualifier,
            where=where,
            order=order,
            limit=self.binds.add(limit),
            offset=self.binds.add(offset),
        )
        total_rows, returned, text = self._fetch(query)
        if not routine.setof:
            returned = 1  # PostgREST's pageCountSelectF for a function returning one value
        if routine.returns == "void":
            headers = {"content-range": _content_range(offset, returned, total_rows)}
            return Response(status_code=204, headers=headers)
        head = call.method == "HEAD"
        return self._read_response(offset, returned, total_rows, None if head else text)

    def _param_names(self, name: str) -> list[tuple[str]]:
        return self.conn.execute(
            """
            SELECT DISTINCT a.name
            FROM pg_catalog.pg_proc p
            JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace,
            unnest(p.proargnames) AS a (name)
            WHERE n.nspname = %s AND p.proname = %s
            """,
            (self.schema, name),
        ).fetchall()


# --- connections ------------------------------------------------------------------------------


class _Pool:
    """Connections in the stand-in's schema (UTC session), each lent to one request at a time;
    at most ``size`` (PostgREST's ``db-pool``, default 10), a request waiting ``timeout``
    seconds for one (``db-pool-acquisition-timeout``) before a 504 PGRST003."""

    def __init__(self, database_url: str, schema: str, size: int = 10, timeout: float = 10) -> None:
        self._database_url = database_url
        self._schema = schema
        self._idle: list[psycopg.Connection] = []
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(size)
        self._timeout = timeout
        self._closed = False

    def _connect(self) -> psycopg.Connection:
        conn = psycopg.connect(self._database_url, autocommit=True)
        conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(self._schema)))
        conn.execute("SET timezone TO 'UTC'")
        return conn

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection]:
        if not self._slots.acquire(timeout=self._timeout):
            raise PostgrestError(
                504, "PGRST003", "Timed out acquiring connection from connection pool."
            )
        try:
            with self._lock:
                if self._closed:
                    raise PostgrestError(503, "PGRST000", "Database connection error.")
                conn = self._idle.pop() if self._idle else None
            if conn is None:
                conn = self._connect()
            try:
                yield conn
            finally:
                with self._lock:
                    keep = not (self._closed or conn.closed or conn.broken)
                    if keep:
                        self._idle.append(conn)
                if not keep:
                    conn.close()
        finally:
            self._slots.release()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()


# --- the server -------------------------------------------------------------------------------


@dataclass
class PostgrestStandin:
    """PostgREST over a PostgreSQL schema; ``schema_sql`` is applied as if pasted in the SQL
    editor.

    Without ``schema`` the stand-in creates a fresh one on ``database_url`` and drops it in
    `close` (which `serving` calls on the way out); a given ``schema`` is used and kept.
    """

    api_key: str
    schema_sql: str | None = None
    max_rows: int = 1000
    database_url: str = DEFAULT_DATABASE_URL
    schema: str = ""
    requests: list[RecordedRequest] = field(default_factory=list)
    _failures: list[_Failure] = field(default_factory=list)
    _owns_schema: bool = False
    _pool: _Pool | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        if not self.schema:
            self.schema = f"postgrest_standin_{uuid.uuid4().hex[:12]}"
            with psycopg.connect(self.database_url, autocommit=True) as conn:
                conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(self.schema)))
            self._owns_schema = True
        self._pool = _Pool(self.database_url, self.schema)
        if self.schema_sql:
            try:
                self.apply_sql(self.schema_sql)
            except BaseException:
                self.close()
                raise

    def apply_sql(self, script: str) -> None:
        """Run a migration file in one transaction, as the SQL editor would."""
        assert self._pool is not None
        with self._pool.connection() as conn, conn.transaction():
            conn.execute(script.encode())

    def close(self) -> None:
        """Close the connections; drop the schema if the stand-in created it."""
        if self._pool is not None:
            self._pool.close()
            self._pool = None
        if self._owns_schema:
            with psycopg.connect(self.database_url, autocommit=True) as conn:
                conn.execute(
                    sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(self.schema))
                )
            self._owns_schema = False

    def fail_next(self, method: str, table: str, *, times: int = 1, status: int = 503) -> None:
        """Answer the next ``times`` requests for ``table`` (or ``rpc/<function>``) with a bare
        ``status``, as a proxy in front of PostgREST would."""
        with self._lock:
            self._failures.append(_Failure(method.upper(), table, status, times))

    def app(self) -> Starlette:
        route = Route(
            "/rest/v1/{target:path}",
            self._handle,
            methods=["GET", "HEAD", "POST", "PATCH", "DELETE"],
        )
        return Starlette(routes=[route])

    async def _handle(self, request: Request) -> Response:
        raw = await request.body()
        target = request.path_params["target"]
        try:
            recorded_body = json.loads(raw) if raw else None
        except ValueError:
            recorded_body = raw.decode(errors="replace")
        self.requests.append(
            RecordedRequest(
                method=request.method,
                path=request.url.path,
                query=list(request.query_params.multi_items()),
                headers={k.lower(): v for k, v in request.headers.items()},
                body=recorded_body,
            )
        )
        if (
            request.headers.get("apikey") != self.api_key
            or request.headers.get("authorization") != f"Bearer {self.api_key}"
        ):
            return JSONResponse(
                {"message": "Invalid API key", "hint": "Double check your Supabase API key."},
                status_code=401,
            )
        with self._lock:
            for failure in self._failures:
                if failure.remaining and (failure.method, failure.table) == (
                    request.method,
                    target,
                ):
                    failure.remaining -= 1
                    return Response("upstream unavailable", status_code=failure.status)
        prefer: dict[str, str] = {}
        for header in request.headers.getlist("prefer"):
            for item in header.split(","):
                key, equals, value = item.partition("=")
                if equals:
                    prefer.setdefault(key.strip(), value.strip())
        call = _Call(
            method=request.method,
            target=target,
            params=list(request.query_params.multi_items()),
            prefer=prefer,
            raw=raw,
        )
        return await anyio.to_thread.run_sync(self._answer, call)

    def _answer(self, call: _Call) -> Response:
        pool = self._pool
        try:
            if pool is None:
                raise PostgrestError(503, "PGRST000", "Database connection error.")
            with pool.connection() as conn, conn.transaction():
                if call.method in ("GET", "HEAD"):
                    conn.execute("SET TRANSACTION READ ONLY")
                return _Handler(self, conn, call).answer()
        except PostgrestError as exc:
            return exc.response()
        except psycopg.Error as exc:
            return _from_pg(exc).response()


@contextmanager
def serving(standin: PostgrestStandin) -> Iterator[str]:
    """Run the stand-in on 127.0.0.1 (a free port) in a thread; yields its base URL. On the way
    out the server stops and the stand-in is closed (an owned schema is dropped)."""
    config = uvicorn.Config(
        standin.app(), host="127.0.0.1", port=0, log_level="warning", lifespan="off"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="postgrest-standin", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("PostgREST stand-in did not start")
            time.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        standin.close()
