"""One Chatwoot outbox: a draft's reply and an escalation's private note become messages in
``chatwoot_outbox``, delivered by the one path every other Chatwoot message takes.

Each draft's reply (``reply_*`` columns) and each escalation's note (``note_*``) is carried
over with its delivery as it stands, whatever its status, so a queued, failing or leased
delivery is picked up by the outbox job where it was left, and a sent one is not sent again:

* a reply becomes message ``reply_<draft id>``: the final text, from the decider, at the
  decision's time (the outbox searches the conversation for the same text since then
  before any second attempt, as replies did);
* a note becomes message ``note_<escalation id>``. Its text was built when it was sent, with
  the escalating operator's Slack name; here it is rebuilt with their Slack user ID, ending
  with the marker the note always carried (``occ-bot escalation <id>``), which is what the
  outbox searches the conversation for before a second attempt, so a note that reached
  Chatwoot before the upgrade is found, not added again.

Then the old columns go. On SQLite the drafts' ``reply_*`` columns stay, unused: a table
CHECK names ``reply_status``, and SQLite can only drop such a column by rebuilding the
table, which would lose the unnamed CHECKs of databases from the first release (see 0006).

Revision ID: 0017_one_outbox
Revises: 0016_supabase_hardening
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bot.store.columns import UtcDateTime

revision = "0017_one_outbox"
down_revision = "0016_supabase_hardening"
branch_labels = None
depends_on = None

FIELDS = ("status", "attempts", "next_attempt_at", "last_error", "message_id", "sent_at")
FIELDS += ("lease_until",)
DUE = "{prefix}_status in ('queued', 'failed', 'sending')"
STATUSES = "'none', 'queued', 'sending', 'sent', 'recorded', 'failed', 'gave_up'"
MESSAGE = "id, subject_id, conversation_id, kind, content, action, actor, created_at"


def _columns(prefix: str) -> str:
    return ", ".join(f"{prefix}_{field}" for field in FIELDS)


def _postgres() -> bool:
    return op.get_context().dialect.name == "postgresql"


def upgrade() -> None:
    op.execute(
        f"insert into chatwoot_outbox ({MESSAGE}, {_columns('delivery')}) "
        "select 'reply_' || id, id, conversation_id, 'reply', final_text, 'reply.sent', "
        f"decided_by, decided_at, {_columns('reply')} from drafts "
        "where reply_status <> 'none' and final_text is not null"
    )
    op.execute(
        f"insert into chatwoot_outbox ({MESSAGE}, {_columns('delivery')}) "
        "select 'note_' || id, id, conversation_id, 'note', "
        "'Escalated to managers (' || upper(urgency) || ', ' || replace(type, '_', ' ') "
        "|| ') by ' || escalated_by || ' from Slack.\n\n' || notes "
        "|| '\n\n(occ-bot escalation ' || id || ')', "
        f"'escalation.noted', escalated_by, created_at, {_columns('note')} from escalations "
        "where note_status <> 'none' and conversation_id is not null"
    )
    op.drop_index("drafts_reply_due_idx", "drafts")
    op.drop_index("escalations_note_due_idx", "escalations")
    for field in reversed(FIELDS):  # PostgreSQL drops each column's CHECK with it
        op.drop_column("escalations", f"note_{field}")
        if _postgres():
            op.drop_column("drafts", f"reply_{field}")


def downgrade() -> None:
    for table, prefix in (("drafts", "reply"), ("escalations", "note")):
        if table == "escalations" or _postgres():
            _add_delivery_columns(table, prefix)
        for field in FIELDS:
            fallback = {"status": "'none'", "attempts": "0"}.get(field, "null")
            op.execute(
                f"update {table} set {prefix}_{field} = coalesce((select delivery_{field} "
                "from chatwoot_outbox o "
                f"where o.id = '{prefix}_' || {table}.id), {fallback})"
            )
        op.create_index(
            f"{table}_{prefix}_due_idx",
            table,
            ["received_at" if table == "drafts" else "created_at"],
            postgresql_where=sa.text(DUE.format(prefix=prefix)),
            sqlite_where=sa.text(DUE.format(prefix=prefix)),
        )
    op.execute("delete from chatwoot_outbox where id like 'reply\\_%' escape '\\'")
    op.execute("delete from chatwoot_outbox where id like 'note\\_%' escape '\\'")


def _add_delivery_columns(table: str, prefix: str) -> None:
    op.add_column(
        table, sa.Column(f"{prefix}_status", sa.Text, nullable=False, server_default="none")
    )
    op.add_column(
        table, sa.Column(f"{prefix}_attempts", sa.Integer, nullable=False, server_default="0")
    )
    op.add_column(table, sa.Column(f"{prefix}_next_attempt_at", UtcDateTime))
    op.add_column(table, sa.Column(f"{prefix}_last_error", sa.Text))
    op.add_column(table, sa.Column(f"{prefix}_message_id", sa.Text))
    op.add_column(table, sa.Column(f"{prefix}_sent_at", UtcDateTime))
    op.add_column(table, sa.Column(f"{prefix}_lease_until", UtcDateTime))
    if _postgres():
        op.create_check_constraint(
            op.f(f"{table}_{prefix}_status_check"), table, f"{prefix}_status in ({STATUSES})"
        )
