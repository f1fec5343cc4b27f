"""A stand-in for Supabase's REST API (PostgREST) on 127.0.0.1, backed by in-memory tables.

Tables come from the real PostgreSQL migration files (``create table``, ``alter table ... add
column`` and ``insert`` are applied; indexes and RLS are skipped), so a column the bot writes
but the schema lacks fails here as it would on Supabase; `PostgrestStandin.apply_sql` pastes a
later file into a running stand-in. Speaks the subset of PostgREST the supabase client uses:

* ``GET /rest/v1/<table>`` with ``select``, filters ``eq``/``neq``/``in``/``lt``/``lte``/
  ``gt``/``gte``/``is``, logic trees ``or=(...)``/``and=(...)`` (nestable, without ``not``),
  ``order``, ``limit``, ``offset``; responses capped at ``max_rows``.
* Counts: with ``Prefer: count=exact`` (``planned``/``estimated`` are answered exactly too)
  a read's ``Content-Range`` carries the total of matching rows, ``0-0/7`` or ``*/0``, with
  PostgREST's status: 206 when the page holds fewer rows than the total, 416 (PGRST103)
  when the offset is past it. ``HEAD`` answers as ``GET`` would, without a body.
* ``POST`` (insert; upsert with ``Prefer: resolution=ignore-duplicates|merge-duplicates``
  and ``on_conflict``) and ``PATCH`` with filters; ``Prefer: return=representation|minimal``.
* Errors as PostgREST's JSON ``{"code", "details", "hint", "message"}``: 23505 (409),
  23502/23514/PGRST204/42703 (400), PGRST205 (404); a wrong API key gets 401.

Each request is handled without awaiting between reading and writing the tables, so a
conditional PATCH is atomic, as a row-locked UPDATE is. Requests are recorded for tests.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

_RESERVED_PARAMS = {"select", "order", "limit", "offset", "on_conflict", "columns"}
_LOGIC_KEYS = {"or": any, "and": all}
_COUNT_METHODS = {"exact", "planned", "estimated"}
_COMPARATORS: dict[str, Callable[[Any, Any], bool]] = {
    "eq": lambda a, b: a == b,
    "neq": lambda a, b: a != b,
    "lt": lambda a, b: a < b,
    "lte": lambda a, b: a <= b,
    "gt": lambda a, b: a > b,
    "gte": lambda a, b: a >= b,
}


class PostgrestError(Exception):
    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body = {"code": code, "details": details, "hint": hint, "message": message}


@dataclass
class ColumnSpec:
    name: str
    type: str  # text, bigint, integer, jsonb, timestamptz
    not_null: bool = False
    default: Callable[[], Any] | None = None
    identity: bool = False
    allowed: tuple[str, ...] | None = None  # from `check (col in (...))`


@dataclass
class TableSpec:
    name: str
    columns: dict[str, ColumnSpec]
    primary_key: str
    unique: list[str]  # single-column unique constraints, primary key included


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


# --- schema from the migration file ---------------------------------------------------------


def _literal(text: str) -> Any:
    text = text.strip()
    if text.lower() == "null":
        return None
    match = re.fullmatch(r"'((?:[^']|'')*)'(?:::(\w+))?", text)
    if match:
        value = match.group(1).replace("''", "'")
        return json.loads(value) if match.group(2) in ("jsonb", "json") else value
    return int(text)


def _column(line: str) -> ColumnSpec:
    name, type_, *_ = line.split()
    lowered = line.lower()
    spec = ColumnSpec(name=name, type=type_.lower())
    spec.not_null = "not null" in lowered or "primary key" in lowered
    spec.identity = "generated always as identity" in lowered
    if spec.identity:
        spec.not_null = True
    default = re.search(r"\bdefault\s+(now\(\)|'(?:[^']|'')*'(?:::\w+)?|-?\d+)", line, re.I)
    if default:
        expr = default.group(1)
        if expr.lower() == "now()":
            spec.default = lambda: datetime.now(UTC)
        else:
            value = _literal(expr)
            spec.default = lambda: json.loads(json.dumps(value))
    check = re.search(r"check \((\w+) in \(([^)]*)\)\)", line, re.I)
    if check:
        spec.allowed = tuple(_literal(part) for part in check.group(2).split(","))
    return spec


@dataclass
class SchemaChanges:
    """What one PostgreSQL migration file does, in the subset the stand-in applies."""

    tables: dict[str, TableSpec]
    added_columns: list[tuple[str, ColumnSpec, bool]]  # table, column, "if not exists"
    rows: list[tuple[str, dict[str, Any], str | None]]  # table, values, "on conflict" column


def parse_schema(sql: str) -> SchemaChanges:
    """Created tables, added columns and inserted rows from a PostgreSQL migration file."""
    tables: dict[str, TableSpec] = {}
    blocks = re.finditer(r"create table if not exists (\w+) \((.*?)\n\);", sql, re.S | re.I)
    for block in blocks:
        columns: dict[str, ColumnSpec] = {}
        primary_key = ""
        unique: list[str] = []
        for raw in block.group(2).splitlines():
            line = raw.strip().rstrip(",")
            if not line or line.startswith("--"):
                continue
            spec = _column(line)
            columns[spec.name] = spec
            if "primary key" in line.lower():
                primary_key = spec.name
                unique.insert(0, spec.name)
            elif re.search(r"\bunique\b", line, re.I):
                unique.append(spec.name)
        tables[block.group(1)] = TableSpec(block.group(1), columns, primary_key, unique)
    added = [
        (m.group(1), _column(m.group(3)), m.group(2) is not None)
        for m in re.finditer(r"alter table (\w+) add column (if not exists )?([^;]+);", sql, re.I)
    ]
    rows = [
        (
            m.group(1),
            dict(zip(_split(m.group(2)), map(_literal, _split(m.group(3))), strict=True)),
            m.group(4),
        )
        for m in re.finditer(
            r"insert into (\w+) \(([^)]*)\) values \(([^)]*)\)"
            r"(?: on conflict \((\w+)\) do nothing)?",
            sql,
            re.I,
        )
    ]
    return SchemaChanges(tables, added, rows)


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",")]


# --- values ---------------------------------------------------------------------------------


def _pg_json_timestamp(value: datetime) -> str:
    """timestamptz as PostgreSQL's to_json writes it (UTC session): fraction trimmed."""
    value = value.astimezone(UTC)
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    if value.microsecond:
        text += "." + f"{value.microsecond:06d}".rstrip("0")
    return text + "+00:00"


def _coerce(table: TableSpec, column: ColumnSpec, value: Any) -> Any:
    if value is None or column.type == "jsonb":
        return value
    try:
        if column.type == "timestamptz":
            parsed = datetime.fromisoformat(str(value))
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=UTC)
            return parsed.astimezone(UTC)
        if column.type in ("bigint", "integer"):
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError(value)
            return int(value)
    except ValueError as exc:
        pg_type = "timestamp with time zone" if column.type == "timestamptz" else column.type
        raise PostgrestError(
            400, "22P02", f'invalid input syntax for type {pg_type}: "{value}"'
        ) from exc
    return value if isinstance(value, str) else json.dumps(value)


def _render(table: TableSpec, row: dict[str, Any], columns: list[str] | None) -> dict[str, Any]:
    names = columns or list(table.columns)
    out: dict[str, Any] = {}
    for name in names:
        value = row[name]
        if isinstance(value, datetime):
            value = _pg_json_timestamp(value)
        out[name] = value
    return out


# --- the server -----------------------------------------------------------------------------


@dataclass
class PostgrestStandin:
    """In-memory PostgREST. ``schema_sql`` is applied as if pasted in the SQL editor."""

    api_key: str
    schema_sql: str | None = None
    max_rows: int = 1000
    tables: dict[str, TableSpec] = field(default_factory=dict)
    rows: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    requests: list[RecordedRequest] = field(default_factory=list)
    _failures: list[_Failure] = field(default_factory=list)
    _identity: dict[tuple[str, str], int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.schema_sql:
            self.apply_sql(self.schema_sql)

    def apply_sql(self, sql: str) -> None:
        """Apply a migration file as the SQL editor would; existing rows are kept."""
        changes = parse_schema(sql)
        for name, table in changes.tables.items():
            if name not in self.tables:  # `create table if not exists`
                self.tables[name] = table
                self.rows[name] = []
        for name, column, if_not_exists in changes.added_columns:
            table = self.tables.get(name)
            if table is None:
                raise ValueError(f'relation "{name}" does not exist')
            if column.name in table.columns:
                if if_not_exists:
                    continue
                raise ValueError(f'column "{column.name}" of relation "{name}" already exists')
            table.columns[column.name] = column
            for row in self.rows[name]:
                row[column.name] = column.default() if column.default else None
        for name, values, conflict in changes.rows:
            if conflict is None:
                self._insert(self.tables[name], [values], None, None)
            else:
                params = {"on_conflict": conflict}
                self._insert(self.tables[name], [values], "ignore-duplicates", params)

    def fail_next(self, method: str, table: str, *, times: int = 1, status: int = 503) -> None:
        """Answer the next ``times`` matching requests with a bare ``status`` (a proxy error)."""
        self._failures.append(_Failure(method.upper(), table, status, times))

    def app(self) -> Starlette:
        route = Route("/rest/v1/{table}", self._handle, methods=["GET", "POST", "PATCH"])
        return Starlette(routes=[route])

    async def _handle(self, request: Request) -> Response:
        raw = await request.body()
        table_name = request.path_params["table"]
        self.requests.append(
            RecordedRequest(
                method=request.method,
                path=request.url.path,
                query=list(request.query_params.multi_items()),
                headers={k.lower(): v for k, v in request.headers.items()},
                body=json.loads(raw) if raw else None,
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
        for failure in self._failures:
            if failure.remaining and (failure.method, failure.table) == (
                request.method,
                table_name,
            ):
                failure.remaining -= 1
                return Response("upstream unavailable", status_code=failure.status)
        try:
            return self._dispatch(request, table_name, json.loads(raw) if raw else None)
        except PostgrestError as exc:
            return JSONResponse(exc.body, status_code=exc.status)

    def _dispatch(self, request: Request, table_name: str, body: Any) -> Response:
        table = self.tables.get(table_name)
        if table is None:
            raise PostgrestError(
                404,
                "PGRST205",
                f"Could not find the table 'public.{table_name}' in the schema cache",
            )
        params = request.query_params
        prefer = {
            key.strip(): value.strip()
            for item in request.headers.get("prefer", "").split(",")
            if "=" in item
            for key, value in [item.split("=", 1)]
        }
        columns = self._select_columns(table, params.get("select"))
        if request.method in ("GET", "HEAD"):
            rows = self._matching(table, params)
            count = prefer.get("count")
            total = len(rows) if count in _COUNT_METHODS else None
            rows = self._ordered(table, rows, params.get("order"))
            offset = int(params.get("offset", 0))
            limit = min(int(params.get("limit", self.max_rows)), self.max_rows)
            rows = rows[offset : offset + limit]
            return self._read_response(
                table, rows, columns, offset, total, count, head=request.method == "HEAD"
            )
        if request.method == "POST":
            body_rows = body if isinstance(body, list) else [body]
            written = self._insert(table, body_rows, prefer.get("resolution"), params)
            if prefer.get("return") != "representation":
                return Response(status_code=201, headers={"content-range": "*/*"})
            return self._rows_response(table, written, columns, 201, 0)
        written = self._update(table, body, params)
        if prefer.get("return") != "representation":
            return Response(status_code=204, headers={"content-range": f"0-{len(written) - 1}/*"})
        return self._rows_response(table, written, columns, 200, 0)

    # --- reading ----------------------------------------------------------------------------

    @staticmethod
    def _select_columns(table: TableSpec, select: str | None) -> list[str] | None:
        if select in (None, "*"):
            return None
        names = [name.strip() for name in select.split(",")]
        for name in names:
            if name not in table.columns:
                raise PostgrestError(400, "42703", f"column {table.name}.{name} does not exist")
        return names

    def _matching(self, table: TableSpec, params: Any) -> list[dict[str, Any]]:
        predicates = [
            self._logic(table, key, value)
            if key in _LOGIC_KEYS
            else self._predicate(table, key, value)
            for key, value in params.multi_items()
            if key not in _RESERVED_PARAMS
        ]
        return [row for row in self.rows[table.name] if all(p(row) for p in predicates)]

    @classmethod
    def _logic(cls, table: TableSpec, operator: str, tree: str) -> Callable[[dict[str, Any]], bool]:
        """``or=(a.is.null,b.lt.5)``: each item is ``column.op.value`` or a nested
        ``and(...)``/``or(...)``; a value runs to the next ``,`` or ``)`` unless quoted."""
        tree = tree.strip()
        if not (tree.startswith("(") and tree.endswith(")")):
            raise PostgrestError(
                400, "PGRST100", f'"failed to parse logic tree ({tree})" (line 1, column 1)'
            )
        parts: list[Callable[[dict[str, Any]], bool]] = []
        for item in map(str.strip, _logic_items(tree[1:-1])):
            nested = re.fullmatch(r"(and|or)(\(.*\))", item, re.S)
            if nested:
                parts.append(cls._logic(table, nested.group(1), nested.group(2)))
                continue
            column, _, expr = item.partition(".")
            operator_name, _, operand = expr.partition(".")
            if operator_name == "not" or column == "not":
                raise PostgrestError(400, "PGRST100", "the stand-in does not support not.")
            if len(operand) >= 2 and operand[0] == operand[-1] == '"':
                operand = re.sub(r"\\(.)", r"\1", operand[1:-1])
            parts.append(cls._predicate(table, column, f"{operator_name}.{operand}"))
        combine = _LOGIC_KEYS[operator]
        return lambda row: combine(part(row) for part in parts)

    @staticmethod
    def _predicate(table: TableSpec, column: str, expr: str) -> Callable[[dict[str, Any]], bool]:
        spec = table.columns.get(column)
        if spec is None:
            raise PostgrestError(400, "42703", f"column {table.name}.{column} does not exist")
        operator, _, operand = expr.partition(".")
        if operator == "is":
            wanted = {"null": None, "true": True, "false": False}[operand.lower()]
            return lambda row: row[column] is wanted
        if operator == "in":
            items = [_coerce(table, spec, item) for item in _csv(operand.strip()[1:-1])]
            return lambda row: row[column] is not None and row[column] in items
        compare = _COMPARATORS.get(operator)
        if compare is None:
            raise PostgrestError(
                400, "PGRST100", f'"failed to parse filter ({expr})" (line 1, column 1)'
            )
        value = _coerce(table, spec, operand)
        return lambda row: row[column] is not None and compare(row[column], value)

    @staticmethod
    def _ordered(
        table: TableSpec, rows: list[dict[str, Any]], order: str | None
    ) -> list[dict[str, Any]]:
        if not order:
            return list(rows)
        ordered = list(rows)
        for term in reversed(order.split(",")):
            column, *modifiers = term.split(".")
            if column not in table.columns:
                raise PostgrestError(400, "42703", f"column {table.name}.{column} does not exist")
            descending = "desc" in modifiers
            nulls_first = "nullsfirst" in modifiers or (descending and "nullslast" not in modifiers)
            present = [row for row in ordered if row[column] is not None]
            missing = [row for row in ordered if row[column] is None]
            present.sort(key=lambda row, c=column: row[c], reverse=descending)
            ordered = missing + present if nulls_first else present + missing
        return ordered

    def _read_response(
        self,
        table: TableSpec,
        rows: list[dict[str, Any]],
        columns: list[str] | None,
        offset: int,
        total: int | None,
        count: str | None,
        *,
        head: bool,
    ) -> Response:
        """A read's status and headers as PostgREST's ``rangeStatusHeader`` makes them."""
        headers = {"content-range": _content_range(offset, len(rows), total)}
        if total is not None:
            headers["preference-applied"] = f"count={count}"
        if total is not None and offset > total:
            error = PostgrestError(
                416,
                "PGRST103",
                "Requested range not satisfiable",
                details=f"An offset of {offset} was requested, but there are only {total} rows.",
            )
            return JSONResponse(error.body, status_code=error.status, headers=headers)
        status = 206 if total is not None and len(rows) < total else 200
        if head:
            return Response(status_code=status, headers=headers, media_type="application/json")
        return JSONResponse(
            [_render(table, row, columns) for row in rows], status_code=status, headers=headers
        )

    def _rows_response(
        self,
        table: TableSpec,
        rows: list[dict[str, Any]],
        columns: list[str] | None,
        status: int,
        offset: int,
    ) -> Response:
        content_range = f"{offset}-{offset + len(rows) - 1}/*" if rows else "*/*"
        return JSONResponse(
            [_render(table, row, columns) for row in rows],
            status_code=status,
            headers={"content-range": content_range},
        )

    # --- writing ----------------------------------------------------------------------------

    def _checked(self, table: TableSpec, values: dict[str, Any], *, new: bool) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, value in values.items():
            spec = table.columns.get(name)
            if spec is None:
                raise PostgrestError(
                    400,
                    "PGRST204",
                    f"Could not find the '{name}' column of '{table.name}' in the schema cache",
                )
            if spec.identity and (new or value is not None):
                raise PostgrestError(
                    400, "428C9", f'cannot insert a non-DEFAULT value into column "{name}"'
                )
            out[name] = _coerce(table, spec, value)
        return out

    def _validate(self, table: TableSpec, row: dict[str, Any]) -> None:
        for spec in table.columns.values():
            value = row.get(spec.name)
            if value is None and spec.not_null:
                raise PostgrestError(
                    400,
                    "23502",
                    f'null value in column "{spec.name}" of relation "{table.name}" '
                    "violates not-null constraint",
                    details="Failing row contains (...).",
                )
            if value is not None and spec.allowed is not None and value not in spec.allowed:
                raise PostgrestError(
                    400,
                    "23514",
                    f'new row for relation "{table.name}" violates check constraint '
                    f'"{table.name}_{spec.name}_check"',
                    details="Failing row contains (...).",
                )

    @staticmethod
    def _conflict(
        table: TableSpec, rows: list[dict[str, Any]], row: dict[str, Any], column: str
    ) -> dict[str, Any] | None:
        value = row.get(column)
        if value is None:
            return None
        return next((other for other in rows if other is not row and other[column] == value), None)

    @staticmethod
    def _unique_violation(table: TableSpec, column: str, value: Any) -> PostgrestError:
        name = f"{table.name}_pkey" if column == table.primary_key else f"{table.name}_{column}_key"
        return PostgrestError(
            409,
            "23505",
            f'duplicate key value violates unique constraint "{name}"',
            details=f"Key ({column})=({value}) already exists.",
        )

    def _insert(
        self,
        table: TableSpec,
        body_rows: list[dict[str, Any]],
        resolution: str | None,
        params: Any,
    ) -> list[dict[str, Any]]:
        target = (params.get("on_conflict") if params is not None else None) or table.primary_key
        staged = [dict(row) for row in self.rows[table.name]]
        written: list[dict[str, Any]] = []
        for body in body_rows:
            values = self._checked(table, body, new=True)
            clash = self._conflict(table, staged, values, target) if resolution else None
            if clash is not None:
                if resolution == "ignore-duplicates":
                    continue
                clash.update(values)
                self._validate(table, clash)
                written.append(clash)
                continue
            row = {name: None for name in table.columns}
            for spec in table.columns.values():
                if spec.identity:
                    key = (table.name, spec.name)
                    self._identity[key] = self._identity.get(key, 0) + 1
                    row[spec.name] = self._identity[key]
                elif spec.name not in values and spec.default is not None:
                    row[spec.name] = spec.default()
            row.update(values)
            self._validate(table, row)
            staged.append(row)
            written.append(row)
        for column in table.unique:
            seen: set[Any] = set()
            for row in staged:
                if row[column] is not None and row[column] in seen:
                    raise self._unique_violation(table, column, row[column])
                seen.add(row[column])
        self.rows[table.name] = staged
        return written

    def _update(self, table: TableSpec, body: Any, params: Any) -> list[dict[str, Any]]:
        values = self._checked(table, body or {}, new=False)
        matches = {id(row) for row in self._matching(table, params)}
        staged: list[dict[str, Any]] = []
        written: list[dict[str, Any]] = []
        for row in self.rows[table.name]:
            if id(row) in matches:
                row = {**row, **values}
                self._validate(table, row)
                written.append(row)
            staged.append(row)
        for column in table.unique:
            for row in written:
                if self._conflict(table, staged, row, column) is not None:
                    raise self._unique_violation(table, column, row[column])
        self.rows[table.name] = staged
        return written


def _content_range(offset: int, returned: int, total: int | None) -> str:
    """``first-last/total``; ``*`` for an empty page, and for a total nobody asked for."""
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


@contextmanager
def serving(standin: PostgrestStandin) -> Iterator[str]:
    """Run the stand-in on 127.0.0.1 (a free port) in a thread; yields its base URL."""
    config = uvicorn.Config(
        standin.app(), host="127.0.0.1", port=0, log_level="warning", lifespan="off"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="postgrest-standin", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("PostgREST stand-in did not start")
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
