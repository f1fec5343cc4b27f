"""Creating an entity's table in a revision from the `Table` its entity module defines, so
that its columns are written once.

A new entity's revision::

    from bot.store.migrations import occ_apply, tables
    from bot.store.widgets import widgets_table

    BEFORE = ("drafts", "escalations", ..., "drafting_leases")  # all that occ_apply may write
    AFTER = ("drafts", "escalations", ..., "drafting_leases", "widgets")

    def upgrade() -> None:
        tables.create(widgets_table)
        if op.get_context().dialect.name == "postgresql":
            op.execute("alter table widgets enable row level security")
            op.execute(occ_apply.revoke_from_api_roles(("widgets",)))
            op.execute(occ_apply.replace_occ_table(AFTER))

    def downgrade() -> None:
        if op.get_context().dialect.name == "postgresql":
            op.execute(occ_apply.replace_occ_table(BEFORE))
        tables.drop(widgets_table)

The revision renders the table as the entity defines it *now*. So when a later revision
changes that table, first freeze the revision that created it: write its columns out in it,
as revisions 0001 to 0016 do (the test comparing the Supabase SQL files with the revisions
shows that its SQL stayed the same), then change the entity and add the revision that alters
the table.
"""

from __future__ import annotations

from alembic import op
from alembic.operations.ops import CreateIndexOp, CreateTableOp
from sqlalchemy import (
    CheckConstraint,
    Constraint,
    ForeignKeyConstraint,
    Index,
    PrimaryKeyConstraint,
    Table,
    UniqueConstraint,
)

from bot.store.columns import where_option

# A table's constraints and indexes are sets: listed in a fixed order, the SQL a revision
# renders is the same every time.
_KINDS = (PrimaryKeyConstraint, ForeignKeyConstraint, UniqueConstraint, CheckConstraint)


def _constraints(table: Table) -> list[Constraint]:
    def order(constraint: Constraint) -> tuple[int, str]:
        kind = next((i for i, k in enumerate(_KINDS) if isinstance(constraint, k)), len(_KINDS))
        return kind, str(constraint.name)

    return sorted(table.constraints, key=order)


def _indexes(table: Table) -> list[Index]:
    return sorted(table.indexes, key=lambda index: str(index.name))


def create(table: Table) -> None:
    """Create ``table`` as its entity defines it: columns, keys and checks, then its indexes."""
    op.invoke(
        CreateTableOp(
            table.name,
            [*table.columns, *_constraints(table)],
            _namespace_metadata=table.metadata,
            _constraints_included=True,  # `unique=True` columns' constraints are listed
            **table.kwargs,
        )
    )
    dialect = op.get_context().dialect.name
    for index in _indexes(table):
        create_index = CreateIndexOp.from_index(index)
        create_index.kw.update(where_option(index, dialect))
        op.invoke(create_index)


def drop(table: Table) -> None:
    """Drop ``table`` and its indexes (what `create` made)."""
    for index in reversed(_indexes(table)):
        op.drop_index(str(index.name), table.name)
    op.drop_table(table.name)
