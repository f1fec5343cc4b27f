"""The SQL of ``occ_apply``, the Postgres function the Supabase REST backend sends each change
to (``rpc('occ_apply')``), and of its helpers, as the revisions create and replace them.

``occ_table`` is the allow-list: the tables occ_apply may write. A revision passes it
explicitly, as the full tuple of table names, written out in the revision: ``AFTER`` (what it
leaves), and ``BEFORE`` (what it found, restored by its downgrade) when it replaces one
(tests/store/test_migrations.py checks that each revision's ``BEFORE`` is the ``AFTER`` of the
one before, and that the newest ``AFTER`` names every table of `bot.store.schema`).

* 0004 creates the functions (`functions`); 0007 to 0011 replace ``occ_table`` (`occ_table`).
* 0016 pins their search_path (`hardened_occ_table` in `in_schema`) and revokes the API
  roles' privileges (`revoke_from_api_roles`). A later revision that adds a table replaces
  occ_table with `replace_occ_table` and revokes its table with `revoke_from_api_roles`.

What a revision rendered once is history: tests/store/test_migrations.py compares every
revision's SQL with the Supabase SQL files, so a change here that alters an earlier revision
fails there.
"""

from __future__ import annotations

import textwrap

Tables = tuple[str, ...]


def quoted(tables: Tables) -> str:
    """``'drafts', 'escalations'``: the tables as SQL literals, for ``tbl not in (...)``."""
    return ", ".join(f"'{table}'" for table in tables)


def functions(tables: Tables) -> str:
    """0004's functions, ``occ_table`` letting occ_apply write ``tables``."""
    return (
        occ_table(tables)
        + """
create or replace function occ_conditions(tbl text, conds jsonb) returns text
language plpgsql immutable as $fn$
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
            from jsonb_each_text(coalesce(first->'increments', '{}'))
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
    )


def occ_table(tables: Tables) -> str:
    """SQL replacing 0004's occ_table so that occ_apply writes ``tables`` (before 0016)."""
    return f"""
create or replace function occ_table(tbl text) returns text
language plpgsql immutable as $fn$
begin
    if tbl is null or tbl not in ({quoted(tables)}) then
        raise exception 'occ_apply: unknown table %', tbl using errcode = '22023';
    end if;
    return tbl;
end
$fn$;
"""


def hardened_occ_table(tables: Tables) -> str:
    """0016's occ_table letting occ_apply write ``tables``: 0004's with its search_path pinned
    and each name written with @schema, the tables' schema, put in by `in_schema`."""
    return f"""
create or replace function @schema.occ_table(tbl text) returns text
language plpgsql immutable set search_path = '' as $fn$
begin
    if tbl is null or tbl not in ({quoted(tables)}) then
        raise exception 'occ_apply: unknown table %', tbl using errcode = '22023';
    end if;
    return tbl;
end
$fn$
"""


def in_schema(*definitions: str) -> str:
    """SQL creating the functions in the current schema, with @schema standing for it."""
    listed = ",".join(f"\n$def${definition}$def$" for definition in definitions)
    return f"""
do $functions$
declare
    target text := pg_catalog.quote_ident(pg_catalog.current_schema());
    definition text;
begin
    foreach definition in array array[{listed}
    ] loop
        execute pg_catalog.replace(definition, '@schema', target);
    end loop;
end
$functions$;
"""


def replace_occ_table(tables: Tables) -> str:
    """SQL replacing occ_table (since 0016) so that occ_apply writes ``tables``: what a
    revision that adds a table runs, with every table occ_apply may write from then on."""
    return in_schema(hardened_occ_table(tables))


def revoke_from_api_roles(
    relations: tuple[str, ...], sequences: tuple[tuple[str, str], ...] = ()
) -> str:
    """SQL revoking every privilege Supabase's ``anon`` and ``authenticated`` hold on the named
    relations (those that exist) and on the sequences behind the (table, column) pairs."""
    names = textwrap.fill(
        ", ".join(f"'{name}'" for name in relations),
        width=96,
        initial_indent=" " * 12,
        subsequent_indent=" " * 12,
    )
    serials = "".join(
        f"        execute pg_catalog.format('revoke all on sequence %s from %I',\n"
        f"            pg_catalog.pg_get_serial_sequence('{table}', '{column}'), api_role);\n"
        for table, column in sequences
    )
    return f"""
do $revoke$
declare
    api_role text;
    relation text;
begin
    foreach api_role in array array['anon', 'authenticated'] loop
        continue when pg_catalog.to_regrole(api_role) is null;
        foreach relation in array array[
{names}
        ] loop
            continue when pg_catalog.to_regclass(relation) is null;
            execute pg_catalog.format('revoke all on table %I from %I', relation, api_role);
        end loop;
{serials}    end loop;
end
$revoke$;
"""
