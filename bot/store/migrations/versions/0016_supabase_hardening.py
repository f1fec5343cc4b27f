"""Supabase hardening: the rpc functions no longer resolve names through the caller's
search_path, and Supabase's API roles hold no privilege on the bot's tables, views and
sequence, so row level security is not the only barrier.

* ``occ_table``, ``occ_conditions``, ``occ_insert`` and ``occ_apply`` (0004, ``occ_table`` as
  0011 left it) are replaced, unchanged but for ``set search_path = ''`` and every name they
  use written with its schema, as Supabase's database linter asks (0011
  function_search_path_mutable). The schema is the one the earlier revisions made the tables
  in (``public`` on Supabase), so it is read when this runs and written into the functions.
  A later revision that lets occ_apply write a new table replaces occ_table with
  `bot.store.migrations.occ_apply.replace_occ_table`, not with 0007's.
* Supabase's default privileges grant ``anon`` and ``authenticated`` everything on each new
  table, view and sequence in ``public``; this revokes them. That includes the stats views
  (0013), which on PostgreSQL below 15 have no ``security_invoker`` and read decision_log as
  their owner, past row level security; they are revoked on every version, for one rule:
  the API roles get nothing. The functions' own grants (0004: only ``service_role`` may
  execute them) survive ``create or replace``. Where the roles do not exist (plain
  PostgreSQL) there is nothing to revoke. Default privileges are left alone: on Supabase they
  are the project's, shared with whatever else lives in ``public``; a later revision revokes
  its own tables with `bot.store.migrations.occ_apply.revoke_from_api_roles`
  (tests/security/test_supabase_roles.py fails until it does).
* It refuses to run unless the database is at the revision before: every statement here could
  run twice, and the SQL files promise that one pasted twice fails and changes nothing.

PostgreSQL only.

Revision ID: 0016_supabase_hardening
Revises: 0015_verified_email
"""

from __future__ import annotations

from alembic import op

from bot.store.migrations.occ_apply import (
    functions,
    hardened_occ_table,
    in_schema,
    occ_table,
    revoke_from_api_roles,
)

revision = "0016_supabase_hardening"
down_revision = "0015_verified_email"
branch_labels = None
depends_on = None

# The tables occ_apply may write, as 0011 left them: this revision keeps them.
BEFORE = AFTER = (
    "drafts",
    "escalations",
    "decision_log",
    "job_runs",
    "incidents",
    "escalation_reminders",
    "chatwoot_outbox",
    "sales_alerts",
    "sales_responses",
    "sales_followups",
    "data_sources",
    "inbound_messages",
    "drafting_leases",
)

# Every relation of the schema at this revision; schema_migrations only on projects set up
# before Alembic.
RELATIONS = (
    "alembic_version",
    "schema_migrations",
    "drafts",
    "escalations",
    "decision_log",
    "job_runs",
    "incidents",
    "escalation_reminders",
    "chatwoot_outbox",
    "sales_alerts",
    "sales_followups",
    "sales_responses",
    "data_sources",
    "inbound_messages",
    "drafting_leases",
    "occ_decision_times",
    "occ_claims",
    "occ_breaches",
)
SEQUENCES = (("decision_log", "seq"),)

GUARD = f"""
do $guard$
begin
    if not exists (select 1 from alembic_version where version_num = '{down_revision}') then
        raise exception 'occ-bot: {revision} goes once, right after {down_revision}';
    end if;
end
$guard$;
"""


# 0004's other functions with their search_path pinned, each name written with @schema: the
# tables' schema, put in by `in_schema` (occ_table's is `hardened_occ_table`).
CONDITIONS = """
create or replace function @schema.occ_conditions(tbl text, conds jsonb) returns text
language plpgsql immutable set search_path = '' as $fn$
declare
    cond jsonb;
    col text;
    val text;
    branch jsonb;
    branches text[];
    parts text[] := '{}';
    part text;
begin
    for cond in select value from jsonb_array_elements(coalesce(conds, '[]')) loop
        if cond ? 'any' then
            branches := '{}';
            for branch in select value from jsonb_array_elements(cond->'any') loop
                branches := branches || ('(' || @schema.occ_conditions(tbl, branch) || ')');
            end loop;
            parts := parts || ('(' || array_to_string(branches, ' or ') || ')');
            continue;
        end if;
        col := cond->>'column';
        -- the value typed as the column is: read back through a record of the table's type
        val := format(
            '(jsonb_populate_record(null::@schema.%I, jsonb_build_object(%L, %L::jsonb))).%I',
            tbl, col, cond->'value', col
        );
        part := case cond->>'op'
            when 'eq' then format('t.%I = %s', col, val)
            when 'lt' then format('t.%I < %s', col, val)
            when 'lte' then format('t.%I <= %s', col, val)
            when 'gte' then format('t.%I >= %s', col, val)
            when 'is_null' then format('t.%I is null', col)
            when 'not_null' then format('t.%I is not null', col)
            when 'null_or_lt' then format('(t.%I is null or t.%I < %s)', col, col, val)
            when 'in' then format(
                't.%I in (select (jsonb_populate_record(null::@schema.%I, '
                'jsonb_build_object(%L, v))).%I from jsonb_array_elements(%L::jsonb) v)',
                col, tbl, col, col, cond->'value'
            )
        end;
        if part is null then
            raise exception 'occ_apply: bad condition %', cond using errcode = '22023';
        end if;
        parts := parts || part;
    end loop;
    return coalesce(nullif(array_to_string(parts, ' and '), ''), 'true');
end
$fn$
"""

INSERT = """
create or replace function @schema.occ_insert(
    tbl text, row_values jsonb, ignore_conflict boolean
) returns jsonb
language plpgsql set search_path = '' as $fn$
declare
    cols text;
    picked text;
    written jsonb;
begin
    select string_agg(format('%I', key), ', '), string_agg(format('r.%I', key), ', ')
      into cols, picked
      from jsonb_object_keys(row_values) key;
    execute format(
        'insert into @schema.%I as t (%s) select %s'
        ' from jsonb_populate_record(null::@schema.%I, $1) r %s returning to_jsonb(t.*)',
        @schema.occ_table(tbl), cols, picked, tbl,
        case when ignore_conflict then 'on conflict do nothing' else '' end
    ) using row_values into written;
    return written;
end
$fn$
"""

APPLY = """
create or replace function @schema.occ_apply(change jsonb) returns jsonb
language plpgsql set search_path = '' as $fn$
declare
    first jsonb := change->'first';
    tbl text := @schema.occ_table(first->>'table');
    assignments text;
    written jsonb;
    later jsonb;
begin
    if first->>'kind' = 'update' then
        select string_agg(assignment, ', ') into assignments from (
            select format(
                '%I = (jsonb_populate_record(null::@schema.%I, %L::jsonb)).%I',
                key, tbl, first->'values', key
            ) as assignment
            from jsonb_object_keys(first->'values') key
            union all
            select format('%I = t.%I + %s', key, key, (value)::int)
            from jsonb_each_text(coalesce(first->'increments', '{}'))
        ) assignments;
        execute format(
            'update @schema.%I as t set %s where %s returning to_jsonb(t.*)',
            tbl, assignments, @schema.occ_conditions(tbl, first->'where')
        ) into written;
    elsif first->>'kind' = 'insert' then
        written := @schema.occ_insert(
            tbl, first->'row', coalesce((first->>'ignore_conflict')::boolean, false)
        );
    else
        raise exception 'occ_apply: unknown write %', first->>'kind' using errcode = '22023';
    end if;
    if written is null then
        return null;
    end if;
    for later in select value from jsonb_array_elements(coalesce(change->'then', '[]')) loop
        perform @schema.occ_insert(later->>'table', later->'row', false);
    end loop;
    return written;
end
$fn$
"""


def upgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute(GUARD)
        op.execute(in_schema(hardened_occ_table(AFTER), CONDITIONS, INSERT, APPLY))
        op.execute(revoke_from_api_roles(RELATIONS, SEQUENCES))


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        # The functions as 0004 and 0011 left them; the revoked privileges stay revoked.
        op.execute(functions(("drafts", "escalations", "decision_log", "job_runs", "incidents")))
        op.execute(occ_table(BEFORE))
