"""`occ_apply`: one state change in one transaction, for the Supabase REST backend.

PostgREST runs one statement per request, so a decision and its log row sent as two
requests could land half. The REST backend sends each `bot.store.ops.Change` to this
function instead (``rpc('occ_apply')``): the conditional write, then the rows that belong
with it, in the function's one transaction, or nothing. Conditions and values arrive as JSON
and are typed through ``jsonb_populate_record`` against the table's own row type, so the
function needs no per-table code. PostgreSQL only; the SQL backends run changes directly.

Revision ID: 0004_rest_transactions
Revises: 0003_job_runs_incidents
"""

from __future__ import annotations

from alembic import op

revision = "0004_rest_transactions"
down_revision = "0003_job_runs_incidents"
branch_labels = None
depends_on = None

TABLES = "'drafts', 'escalations', 'decision_log', 'job_runs', 'incidents'"

FUNCTIONS = f"""
create or replace function occ_table(tbl text) returns text
language plpgsql immutable as $fn$
begin
    if tbl is null or tbl not in ({TABLES}) then
        raise exception 'occ_apply: unknown table %', tbl using errcode = '22023';
    end if;
    return tbl;
end
$fn$;

create or replace function occ_conditions(tbl text, conds jsonb) returns text
language plpgsql immutable as $fn$
declare
    cond jsonb;
    col text;
    val text;
    branch jsonb;
    branches text[];
    parts text[] := '{{}}';
    part text;
begin
    for cond in select value from jsonb_array_elements(coalesce(conds, '[]')) loop
        if cond ? 'any' then
            branches := '{{}}';
            for branch in select value from jsonb_array_elements(cond->'any') loop
                branches := branches || ('(' || occ_conditions(tbl, branch) || ')');
            end loop;
            parts := parts || ('(' || array_to_string(branches, ' or ') || ')');
            continue;
        end if;
        col := cond->>'column';
        -- the value typed as the column is: read back through a record of the table's type
        val := format(
            '(jsonb_populate_record(null::%I, jsonb_build_object(%L, %L::jsonb))).%I',
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
                't.%I in (select (jsonb_populate_record(null::%I, jsonb_build_object(%L, v))).%I'
                ' from jsonb_array_elements(%L::jsonb) v)',
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
$fn$;

create or replace function occ_insert(tbl text, row_values jsonb, ignore_conflict boolean)
returns jsonb
language plpgsql as $fn$
declare
    cols text;
    picked text;
    written jsonb;
begin
    select string_agg(format('%I', key), ', '), string_agg(format('r.%I', key), ', ')
      into cols, picked
      from jsonb_object_keys(row_values) key;
    execute format(
        'insert into %I as t (%s) select %s from jsonb_populate_record(null::%I, $1) r %s'
        ' returning to_jsonb(t.*)',
        occ_table(tbl), cols, picked, tbl,
        case when ignore_conflict then 'on conflict do nothing' else '' end
    ) using row_values into written;
    return written;
end
$fn$;

create or replace function occ_apply(change jsonb) returns jsonb
language plpgsql as $fn$
declare
    first jsonb := change->'first';
    tbl text := occ_table(first->>'table');
    assignments text;
    written jsonb;
    later jsonb;
begin
    if first->>'kind' = 'update' then
        select string_agg(assignment, ', ') into assignments from (
            select format(
                '%I = (jsonb_populate_record(null::%I, %L::jsonb)).%I',
                key, tbl, first->'values', key
            ) as assignment
            from jsonb_object_keys(first->'values') key
            union all
            select format('%I = t.%I + %s', key, key, (value)::int)
            from jsonb_each_text(coalesce(first->'increments', '{{}}'))
        ) assignments;
        execute format(
            'update %I as t set %s where %s returning to_jsonb(t.*)',
            tbl, assignments, occ_conditions(tbl, first->'where')
        ) into written;
    elsif first->>'kind' = 'insert' then
        written := occ_insert(
            tbl, first->'row', coalesce((first->>'ignore_conflict')::boolean, false)
        );
    else
        raise exception 'occ_apply: unknown write %', first->>'kind' using errcode = '22023';
    end if;
    if written is null then
        return null;
    end if;
    for later in select value from jsonb_array_elements(coalesce(change->'then', '[]')) loop
        perform occ_insert(later->>'table', later->'row', false);
    end loop;
    return written;
end
$fn$;

revoke all on function occ_table(text) from public;
revoke all on function occ_conditions(text, jsonb) from public;
revoke all on function occ_insert(text, jsonb, boolean) from public;
revoke all on function occ_apply(jsonb) from public;

do $do$
begin
    -- Supabase: only the service role may call these (anon and authenticated never).
    if exists (select 1 from pg_roles where rolname = 'anon') then
        revoke all on function occ_apply(jsonb) from anon, authenticated;
        revoke all on function occ_insert(text, jsonb, boolean) from anon, authenticated;
        revoke all on function occ_conditions(text, jsonb) from anon, authenticated;
        revoke all on function occ_table(text) from anon, authenticated;
    end if;
    if exists (select 1 from pg_roles where rolname = 'service_role') then
        grant execute on function occ_apply(jsonb) to service_role;
        grant execute on function occ_insert(text, jsonb, boolean) to service_role;
        grant execute on function occ_conditions(text, jsonb) to service_role;
        grant execute on function occ_table(text) to service_role;
    end if;
end
$do$;
"""


def upgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute(FUNCTIONS)


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute(
            "drop function if exists occ_apply(jsonb); "
            "drop function if exists occ_insert(text, jsonb, boolean); "
            "drop function if exists occ_conditions(text, jsonb); "
            "drop function if exists occ_table(text);"
        )
