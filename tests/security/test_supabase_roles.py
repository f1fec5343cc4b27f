"""What Supabase's API roles can do once every file of bot/store/supabase is pasted.

The files are loaded, in order, into a fresh database of the test PostgreSQL server by a
superuser, as the SQL editor runs them, after Supabase's roles and grants are set up the way
its own images do (supabase/postgres, migrations/db/init-scripts/00000000000000-initial-schema.sql):

    create role anon nologin noinherit;
    create role authenticated nologin noinherit;
    create role service_role nologin noinherit bypassrls;
    grant usage on schema public to postgres, anon, authenticated, service_role;
    alter default privileges in schema public grant all on tables to postgres, anon, ...;
    (and the same on functions and sequences)

so every table, view, sequence and function the SQL editor creates in ``public`` is granted
to the API roles unless the files revoke it. The functions' search_path is checked the way
Supabase's database linter does it (lint 0011 function_search_path_mutable,
supabase/splinter lints/0011_function_search_path_mutable.sql, and
https://supabase.com/docs/guides/database/database-linter?lint=0011_function_search_path_mutable,
which asks for ``search_path = ''``).

Roles are the server's, not the database's: the test creates the missing ones and drops
those it created at the end (unless another database still holds a grant to them).
PostgreSQL is required, never skipped.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql

from bot.store.migrate import SUPABASE_SQL

API_ROLES = ("anon", "authenticated")
ROLES = {
    "anon": "nologin noinherit",
    "authenticated": "nologin noinherit",
    "service_role": "nologin noinherit bypassrls",
}
SUPABASE_GRANTS = """
grant usage on schema public to anon, authenticated, service_role;
alter default privileges in schema public grant all on tables to anon, authenticated, service_role;
alter default privileges in schema public
    grant all on functions to anon, authenticated, service_role;
alter default privileges in schema public
    grant all on sequences to anon, authenticated, service_role;
"""
WINDOW = "2026-12-01T10:00:00+00:00"
JOB_RUN = {"job": "digest", "window_start": WINDOW, "runner": "r1", "started_at": WINDOW}


def _server_url(database: str) -> str:
    # Imported here, not with the module: tests/store's modules load tests.store_fixtures as a
    # pytest plugin (rewritten), which fails if this folder, collected first, imported it already.
    from tests.store_fixtures import PG_URL

    return PG_URL.rsplit("/", 1)[0] + f"/{database}"


def _create_missing_roles(conn: psycopg.Connection) -> list[str]:
    created = []
    for role, options in ROLES.items():
        try:
            conn.execute(sql.SQL(f"create role {{}} {options}").format(sql.Identifier(role)))
        except psycopg.errors.DuplicateObject:
            continue
        created.append(role)
    return created


@pytest.fixture(scope="module")
def supabase_url() -> Iterator[str]:
    """A fresh database set up as a Supabase project, with every SQL file pasted."""
    name = f"occ_supabase_roles_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_server_url("postgres"), autocommit=True) as admin:
        created = _create_missing_roles(admin)
        admin.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    try:
        with psycopg.connect(_server_url(name), autocommit=True) as conn:
            conn.execute(SUPABASE_GRANTS)
            for path in sorted(SUPABASE_SQL.glob("*.sql")):
                conn.execute(path.read_text(encoding="utf-8").encode())
        yield _server_url(name)
    finally:
        with psycopg.connect(_server_url("postgres"), autocommit=True) as admin:
            admin.execute(
                sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name))
            )
            for role in created:
                # a role granted something in another database meanwhile is left in place
                with contextlib.suppress(psycopg.errors.DependentObjectsStillExist):
                    admin.execute(sql.SQL("drop role {}").format(sql.Identifier(role)))


@pytest.fixture
def db(supabase_url: str) -> Iterator[psycopg.Connection]:
    """A superuser connection to the project, in a transaction rolled back afterwards."""
    with psycopg.connect(supabase_url) as conn:
        try:
            yield conn
        finally:
            conn.rollback()


def _names(conn: psycopg.Connection, kinds: str) -> list[str]:
    rows = conn.execute(
        "select relname from pg_class where relnamespace = 'public'::regnamespace"
        " and relkind = any(%s) order by relname",
        (list(kinds),),
    )
    return [name for (name,) in rows]


def _functions(conn: psycopg.Connection) -> list[str]:
    rows = conn.execute(
        "select oid::regprocedure::text from pg_proc"
        " where pronamespace = 'public'::regnamespace order by 1"
    )
    return [signature for (signature,) in rows]


def _outcome(conn: psycopg.Connection, statement: sql.Composable) -> str:
    """'denied' when PostgreSQL refuses the privilege; otherwise what happened."""
    try:
        with conn.transaction():
            conn.execute(statement)
    except psycopg.Error as error:
        if error.sqlstate == "42501" and str(error).startswith("permission denied"):
            return "denied"
        if error.sqlstate == "55000" and "are not automatically updatable" in str(error):
            return "denied"  # a view nobody can write (GROUP BY): refused before privileges
        return f"{error.sqlstate}: {error}"
    return "allowed"


def _apply(conn: psycopg.Connection, change: dict) -> dict | None:
    (written,) = conn.execute(
        "select public.occ_apply(%s::jsonb)", (json.dumps(change),)
    ).fetchone()
    return written


def test_the_files_leave_tables_views_and_functions_to_look_at(db: psycopg.Connection) -> None:
    assert {"drafts", "decision_log", "alembic_version"} <= set(_names(db, "r"))
    assert set(_names(db, "v")) == {
        "occ_breaches",
        "occ_claims",
        "occ_decision_bands",
        "occ_cx_waits",
        "occ_decision_times",
    }
    assert _names(db, "S") == ["decision_log_seq_seq"]
    assert len(_functions(db)) == 4


@pytest.mark.parametrize("role", API_ROLES)
def test_the_api_roles_hold_no_privilege_on_any_table_view_or_sequence(
    db: psycopg.Connection, role: str
) -> None:
    held = db.execute(
        """
        select relname from pg_class
        where relnamespace = 'public'::regnamespace and (
            relkind in ('r', 'p', 'v', 'm', 'f') and has_table_privilege(
                %(role)s, oid, 'select, insert, update, delete, truncate, references, trigger'
            )
            or relkind = 'S' and has_sequence_privilege(%(role)s, oid, 'usage, select, update')
        )
        order by relname
        """,
        {"role": role},
    ).fetchall()
    assert held == []


@pytest.mark.parametrize("role", API_ROLES)
def test_the_api_roles_are_refused_reads_and_writes_not_just_filtered_by_rls(
    db: psycopg.Connection, role: str
) -> None:
    tables = _names(db, "r")
    statements: list[sql.Composable] = []
    for name in tables + _names(db, "v"):
        table = sql.Identifier("public", name)
        statements += [
            sql.SQL("select * from {}").format(table),
            sql.SQL("insert into {} default values").format(table),
            sql.SQL("delete from {}").format(table),
        ]
        if name in tables:
            statements.append(sql.SQL("truncate {}").format(table))  # RLS never covers it
    statements.append(sql.SQL("select nextval('public.decision_log_seq_seq')"))
    db.execute(sql.SQL("set local role {}").format(sql.Identifier(role)))
    outcomes = {statement.as_string(db): _outcome(db, statement) for statement in statements}
    assert {text: seen for text, seen in outcomes.items() if seen != "denied"} == {}


@pytest.mark.parametrize("role", API_ROLES)
def test_the_api_roles_cannot_call_the_functions(db: psycopg.Connection, role: str) -> None:
    callable_ = [
        signature
        for signature in _functions(db)
        if db.execute(
            "select has_function_privilege(%s, %s, 'execute')", (role, signature)
        ).fetchone()[0]
    ]
    assert callable_ == []
    db.execute(sql.SQL("set local role {}").format(sql.Identifier(role)))
    assert _outcome(db, sql.SQL("select public.occ_apply('{}'::jsonb)")) == "denied"


def test_a_stats_view_without_security_invoker_still_shows_the_api_roles_nothing(
    db: psycopg.Connection,
) -> None:
    """PostgreSQL below 15 has no security_invoker: the view reads the log as its owner, past
    row level security. The revoked privilege is what keeps the anon key out there."""
    db.execute(
        "insert into decision_log (id, created_at, actor, action, scope, subject_id, outcome)"
        " values ('l1', now(), 'system', 'cx.sla_breached', 'cx', 'd1', 'success')"
    )
    db.execute("alter view occ_breaches reset (security_invoker)")
    db.execute("set local role anon")
    assert _outcome(db, sql.SQL("select * from public.occ_breaches")) == "denied"


def test_the_service_role_reads_everything_and_applies_changes(db: psycopg.Connection) -> None:
    db.execute("set local role service_role")
    for name in _names(db, "rv"):
        db.execute(sql.SQL("select count(*) from {}").format(sql.Identifier("public", name)))
    inserted = _apply(db, {"first": {"kind": "insert", "table": "job_runs", "row": JOB_RUN}})
    assert inserted is not None and inserted["outcome"] == "running"
    where = [
        {"column": "job", "op": "eq", "value": "digest"},
        {"column": "finished_at", "op": "is_null"},
        {
            "any": [
                [{"column": "outcome", "op": "in", "value": ["running", "failed"]}],
                [{"column": "started_at", "op": "lt", "value": WINDOW}],
            ]
        },
    ]
    update = {"kind": "update", "table": "job_runs", "values": {"outcome": "success"}}
    finished = _apply(db, {"first": {**update, "where": where}})
    assert finished is not None and finished["outcome"] == "success"
    assert _apply(db, {"first": {**update, "where": where}}) is None  # no longer running


def test_every_function_pins_an_empty_search_path(db: psycopg.Connection) -> None:
    # Supabase's lint 0011 flags a function whose proconfig sets no search_path; it asks for ''.
    configs = dict(
        db.execute(
            "select oid::regprocedure::text, coalesce(proconfig, '{}') from pg_proc"
            " where pronamespace = 'public'::regnamespace"
        ).fetchall()
    )
    assert configs
    assert {
        name: config for name, config in configs.items() if 'search_path=""' not in config
    } == {}


def test_occ_apply_writes_the_occ_tables_whatever_the_callers_search_path(
    db: psycopg.Connection,
) -> None:
    """A table of the same name earlier in the caller's search_path is not where it writes."""
    db.execute("create schema decoy")
    db.execute("create table decoy.job_runs (like public.job_runs including all)")
    db.execute("grant usage on schema decoy to service_role")
    db.execute("grant all on decoy.job_runs to service_role")
    db.execute("set local role service_role")
    db.execute("set local search_path = decoy, public")
    _apply(db, {"first": {"kind": "insert", "table": "job_runs", "row": JOB_RUN}})
    assert db.execute("select count(*) from public.job_runs").fetchone() == (1,)
    assert db.execute("select count(*) from decoy.job_runs").fetchone() == (0,)
