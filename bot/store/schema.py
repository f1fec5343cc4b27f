"""The schema, defined once: every table, column, constraint and index the bot stores.

The SQL backends query these `Table`s; the Alembic migrations in `migrations/versions/` build
them (a test compares the migrated database with this metadata); the Supabase SQL files are
those migrations rendered for PostgreSQL. To change the schema, change it here, then add a
migration (`alembic revision --autogenerate` drafts one) and regenerate the Supabase files
(`python -m bot.store.migrate --write-supabase`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Identity,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeEngine

from bot.store import codec

SQLITE_TIMESTAMP = "%Y-%m-%dT%H:%M:%S.%fZ"


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes: ``timestamptz`` on PostgreSQL; on SQLite, fixed-width UTC text
    (2024-05-01T12:00:00.000000Z), so comparing text is comparing time."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(Text())
        return dialect.type_descriptor(DateTime(timezone=True))

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        value = codec.utc(value)
        return value.strftime(SQLITE_TIMESTAMP) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        return codec.parse_ts(value)


Json = JSON().with_variant(JSONB(), "postgresql")


def _one_of(column: str, values: tuple[str, ...]) -> CheckConstraint:
    listed = ", ".join(f"'{value}'" for value in values)
    return CheckConstraint(f"{column} in ({listed})", name=f"{column}_check")


def _delivery_columns(prefix: str) -> list[Column[Any]]:
    """A message delivered to Chatwoot once (see bot.store.deliveries)."""
    return [
        Column(f"{prefix}_status", Text, nullable=False, server_default="none"),
        Column(f"{prefix}_attempts", Integer, nullable=False, server_default="0"),
        Column(f"{prefix}_next_attempt_at", UtcDateTime),
        Column(f"{prefix}_last_error", Text),
        Column(f"{prefix}_message_id", Text),
        Column(f"{prefix}_sent_at", UtcDateTime),
        Column(f"{prefix}_lease_until", UtcDateTime),
    ]


def _post_columns(prefix: str) -> list[Column[Any]]:
    """A Slack message posted once for the row (see bot.store.posts)."""
    return [
        Column(f"{prefix}_channel", Text),
        Column(f"{prefix}_ts", Text),
        Column(f"{prefix}_lease_until", UtcDateTime),
        Column(f"{prefix}_refusals", Integer, nullable=False, server_default="0"),
    ]


DRAFT_STATES = ("pending", "approved", "rejected", "escalated")
DECISION_KINDS = ("approve", "edit", "reject", "escalate")
REPLY_STATUSES = ("none", "queued", "sending", "sent", "recorded", "failed", "gave_up")
URGENCIES = ("urgent", "high", "normal")
ESCALATION_STATES = ("open", "claimed", "resolved")
SCOPES = ("cx", "sales", "reliability", "training")
OUTCOMES = ("success", "retry", "failed", "timeout", "refused")
MESSAGE_KINDS = ("reply", "note")
DELIVERY_DUE = "delivery_status in ('queued', 'failed', 'sending')"
RUN_OUTCOMES = ("running", "success", "failed")
INBOUND_STATES = ("waiting", "drafted", "failed")
FIGURES = "scope = 'cx' and outcome = 'success'"  # what the team's numbers count
TRAINING = "scope = 'training'"

metadata = MetaData(
    naming_convention={
        "ix": "%(table_name)s_%(column_0_N_name)s_idx",
        "uq": "%(table_name)s_%(column_0_name)s_key",
        "ck": "%(table_name)s_%(constraint_name)s",
        "fk": "%(table_name)s_%(column_0_name)s_fkey",
        "pk": "%(table_name)s_pkey",
    }
)

drafts = Table(
    "drafts",
    metadata,
    Column("id", Text, primary_key=True),
    Column("external_id", Text, unique=True),
    Column("conversation_id", BigInteger, nullable=False),
    Column("input", Json, nullable=False),
    Column("flags", Json, nullable=False, server_default=text("'[]'")),
    Column("received_at", UtcDateTime, nullable=False),
    Column("state", Text, nullable=False, server_default="pending"),
    Column("card_channel", Text),
    Column("card_ts", Text),
    Column("posted_at", UtcDateTime),
    Column("decision_kind", Text),
    Column("decided_by", Text),
    Column("decided_at", UtcDateTime),
    Column("final_text", Text),
    Column("reject_reason", Text),
    Column("decision_notes", Text),
    Column("escalation_id", Text),
    *_delivery_columns("reply"),
    Column("card_lease_until", UtcDateTime),
    Column("card_refusals", Integer, nullable=False, server_default="0"),
    # A newer customer message's draft replaced this one before anyone decided it. The state
    # stays 'pending' (SQLite databases from the first release cannot widen the state check),
    # so "awaiting a decision" is: pending and not superseded.
    Column("superseded_by", Text),
    Column("superseded_at", UtcDateTime),
    # A training card (`/occ training start`): one scenario of the packet for one trainee.
    # Only 'cx' drafts are the team's queue; nothing of a 'training' one reaches a customer.
    Column("scope", Text, nullable=False, server_default="cx"),
    Column("trainee", Text),
    Column("training_round", Text),
    Column("scenario", Text),
    _one_of("state", DRAFT_STATES),
    _one_of("decision_kind", DECISION_KINDS),
    _one_of("reply_status", REPLY_STATUSES),
    Index(
        "drafts_reply_due_idx",
        "received_at",
        postgresql_where=text("reply_status in ('queued', 'failed', 'sending')"),
        sqlite_where=text("reply_status in ('queued', 'failed', 'sending')"),
    ),
    Index("drafts_conversation_idx", "conversation_id"),
    Index(
        "drafts_trainee_idx",
        "trainee",
        "received_at",
        postgresql_where=text("trainee is not null"),
        sqlite_where=text("trainee is not null"),
    ),
    # The recent decisions drafting learns from (newest first, a few hundred).
    Index(
        "drafts_decided_idx",
        "decided_at",
        postgresql_where=text("decided_at is not null"),
        sqlite_where=text("decided_at is not null"),
    ),
    Index(
        "drafts_unposted_idx",
        "received_at",
        postgresql_where=text("card_channel is null and state = 'pending'"),
        sqlite_where=text("card_channel is null and state = 'pending'"),
    ),
)

escalations = Table(
    "escalations",
    metadata,
    Column("id", Text, primary_key=True),
    Column("draft_id", Text, ForeignKey("drafts.id"), nullable=False, unique=True),
    Column("conversation_id", BigInteger),
    Column("type", Text, nullable=False),
    Column("urgency", Text, nullable=False),
    Column("notes", Text, nullable=False, server_default=""),
    Column("escalated_by", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("due_at", UtcDateTime, nullable=False),
    Column("state", Text, nullable=False, server_default="open"),
    Column("message_channel", Text),
    Column("message_ts", Text),
    Column("claimed_by", Text),
    Column("claimed_at", UtcDateTime),
    Column("resolved_by", Text),
    Column("resolved_at", UtcDateTime),
    Column("reminders_sent", Integer, nullable=False, server_default="0"),
    Column("next_reminder_at", UtcDateTime),
    Column("message_lease_until", UtcDateTime),
    Column("message_refusals", Integer, nullable=False, server_default="0"),
    *_delivery_columns("note"),
    Column("resolution_outcome", Text),
    Column("resolution_summary", Text),
    Column("resolution_amount_usd", Float),
    Column("resolution_reply", Text),
    Column("resolution_notes", Text),
    _one_of("urgency", URGENCIES),
    _one_of("note_status", REPLY_STATUSES),
    _one_of("state", ESCALATION_STATES),
    Index(
        "escalations_open_due_idx",
        "due_at",
        postgresql_where=text("state = 'open'"),
        sqlite_where=text("state = 'open'"),
    ),
    Index(
        "escalations_note_due_idx",
        "created_at",
        postgresql_where=text("note_status in ('queued', 'failed', 'sending')"),
        sqlite_where=text("note_status in ('queued', 'failed', 'sending')"),
    ),
    Index(
        "escalations_unposted_idx",
        "created_at",
        postgresql_where=text("message_channel is null and state in ('open', 'claimed')"),
        sqlite_where=text("message_channel is null and state in ('open', 'claimed')"),
    ),
)

# Messages for Chatwoot conversations that are not a draft's reply (a manager's reply to the
# customer, resolution notes; later CX and Sales Pulse notes): each row is delivered once,
# with the same status, lease and backoff columns as a reply (bot.store.deliveries), and
# written in the transaction of the change it belongs to.
chatwoot_outbox = Table(
    "chatwoot_outbox",
    metadata,
    Column("id", Text, primary_key=True),
    Column("subject_id", Text, nullable=False),
    Column("conversation_id", BigInteger, nullable=False),
    Column("kind", Text, nullable=False),
    Column("content", Text, nullable=False),
    Column("action", Text, nullable=False),
    Column("actor", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    *_delivery_columns("delivery"),
    _one_of("kind", MESSAGE_KINDS),
    _one_of("delivery_status", REPLY_STATUSES),
    Index("chatwoot_outbox_subject_idx", "subject_id", "created_at"),
    Index(
        "chatwoot_outbox_due_idx",
        "created_at",
        postgresql_where=text(DELIVERY_DUE),
        sqlite_where=text(DELIVERY_DUE),
    ),
)

# One row per reminder of an unclaimed escalation, written in the same transaction that
# moves the escalation's reminder count on: taking a reminder is that conditional write, so
# each due time gets one row however many replicas tick. The row is then posted once (the
# `message_` post columns), and re-offered until it is posted or no longer needed.
escalation_reminders = Table(
    "escalation_reminders",
    metadata,
    Column("id", Text, primary_key=True),
    Column("escalation_id", Text, ForeignKey("escalations.id"), nullable=False),
    Column("number", Integer, nullable=False),
    Column("level", Integer, nullable=False),
    Column("notify", Text, nullable=False),
    Column("due_at", UtcDateTime, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("message_channel", Text),
    Column("message_ts", Text),
    Column("message_lease_until", UtcDateTime),
    Column("message_refusals", Integer, nullable=False, server_default="0"),
    Column("message_attempts", Integer, nullable=False, server_default="0"),
    Column("skipped_at", UtcDateTime),
    UniqueConstraint("escalation_id", "number", name="escalation_reminders_number_key"),
    Index(
        "escalation_reminders_unposted_idx",
        "created_at",
        postgresql_where=text("message_channel is null and skipped_at is null"),
        sqlite_where=text("message_channel is null and skipped_at is null"),
    ),
)

OPEN_ALERT = "superseded_by is null and cleared_at is null"

# One row per Sales Pulse alert message. At most one alert per condition is open (neither
# superseded by a worse one nor cleared): opening one is an insert that a unique partial
# index lets through once, so a condition is alerted once however many replicas see it.
# The alert and, once it clears, its clearing note are each posted once (`message_` and
# `clear_` post columns).
sales_alerts = Table(
    "sales_alerts",
    metadata,
    Column("id", Text, primary_key=True),
    Column("condition", Text, nullable=False),
    Column("trigger", Text, nullable=False),
    Column("finding", Json, nullable=False),
    Column("opened_at", UtcDateTime, nullable=False),
    Column("supersedes", Text),
    Column("superseded_by", Text),
    Column("cleared_at", UtcDateTime),
    *_post_columns("message"),
    *_post_columns("clear"),
    Index(
        "sales_alerts_open_condition_idx",
        "condition",
        unique=True,
        postgresql_where=text(OPEN_ALERT),
        sqlite_where=text(OPEN_ALERT),
    ),
)

# What people did about an alert: Acknowledge and each response button, once per alert
# (a double click or a second person meets the unique key and is told who was first).
sales_responses = Table(
    "sales_responses",
    metadata,
    Column("alert_id", Text, ForeignKey("sales_alerts.id"), primary_key=True),
    Column("response", Text, primary_key=True),
    Column("actor", Text, nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("detail", Json, nullable=False, server_default=text("'{}'")),
)

# Follow-ups created from an alert: the owner is reminded once when the due time passes.
sales_followups = Table(
    "sales_followups",
    metadata,
    Column("id", Text, primary_key=True),
    Column("alert_id", Text, ForeignKey("sales_alerts.id"), nullable=False),
    Column("owner", Text, nullable=False),
    Column("due_at", UtcDateTime, nullable=False),
    Column("note", Text, nullable=False, server_default=""),
    Column("created_by", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("reminded_at", UtcDateTime),
    Index(
        "sales_followups_due_idx",
        "due_at",
        postgresql_where=text("reminded_at is null"),
        sqlite_where=text("reminded_at is null"),
    ),
)

# When each data source (Shopify, Chatwoot) was last read successfully, and its last error:
# data older than OCC_DATA_STALE_MINUTES is a reliability incident.
data_sources = Table(
    "data_sources",
    metadata,
    Column("name", Text, primary_key=True),
    Column("first_tried_at", UtcDateTime, nullable=False),
    Column("last_ok_at", UtcDateTime),
    Column("last_error", Text),
    Column("last_error_at", UtcDateTime),
)

# Customers' Chatwoot messages, stored (once per message) before the webhook answers and
# drafted afterwards. `draft_id` is the draft that answers the message: a newer draft of the
# conversation takes over the messages of the one it supersedes.
inbound_messages = Table(
    "inbound_messages",
    metadata,
    Column("id", Text, primary_key=True),
    Column("conversation_id", BigInteger, nullable=False),
    Column("message_id", BigInteger, nullable=False),
    Column("content", Text, nullable=False),
    Column("customer_name", Text),
    Column("customer_email", Text),
    Column("customer_email_verified", Boolean, nullable=False, server_default=false()),
    Column("received_at", UtcDateTime, nullable=False),
    Column("state", Text, nullable=False, server_default="waiting"),
    Column("draft_id", Text),
    Column("error", Text),
    _one_of("state", INBOUND_STATES),
    Index("inbound_messages_conversation_idx", "conversation_id", "message_id"),
    Index(
        "inbound_messages_waiting_idx",
        "received_at",
        postgresql_where=text("state = 'waiting'"),
        sqlite_where=text("state = 'waiting'"),
    ),
)

# One drafter per conversation at a time: the lease orders its drafts, so a newer draft
# always answers every message an older one did. Failed tries back off, then give up.
drafting_leases = Table(
    "drafting_leases",
    metadata,
    Column("conversation_id", BigInteger, primary_key=True, autoincrement=False),
    Column("lease_until", UtcDateTime),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("retry_at", UtcDateTime),
    Column("last_error", Text),
)

# `seq` numbers rows as they arrive: the tie-break for rows with the same created_at.
decision_log = Table(
    "decision_log",
    metadata,
    Column("id", Text, primary_key=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("actor", Text, nullable=False),
    Column("action", Text, nullable=False),
    Column("scope", Text, nullable=False),
    Column("subject_id", Text, nullable=False),
    Column("conversation_id", BigInteger),
    Column("payload", Json, nullable=False, server_default=text("'{}'")),
    Column("outcome", Text, nullable=False),
    Column("seq", BigInteger().with_variant(Integer, "sqlite"), Identity(always=True)),
    # payload's waited_seconds (card → decision) as a column: the team's median and p90 are
    # then read from an index, not parsed out of every row's JSON.
    Column("waited_seconds", Float),
    _one_of("scope", SCOPES),
    _one_of("outcome", OUTCOMES),
    Index("decision_log_created_idx", "created_at", "seq"),
    Index("decision_log_subject_idx", "subject_id", "created_at", "seq"),
    # The team's numbers (the views of migration 0013): counted and ordered from the index.
    Index(
        "decision_log_figures_idx",
        "action",
        "created_at",
        "actor",
        "waited_seconds",
        postgresql_where=text(FIGURES),
        sqlite_where=text(FIGURES),
    ),
    Index("decision_log_actor_idx", "actor", "action", "created_at"),
    # `/occ training report`: the few training rows, found without reading the live ones.
    Index(
        "decision_log_training_idx",
        "created_at",
        "seq",
        postgresql_where=text(TRAINING),
        sqlite_where=text(TRAINING),
    ),
)

# One row per job and window: taking the row is taking the run, so a scan runs once per
# window however many replicas tick.
job_runs = Table(
    "job_runs",
    metadata,
    Column("job", Text, primary_key=True),
    Column("window_start", UtcDateTime, primary_key=True),
    Column("runner", Text, nullable=False),
    Column("started_at", UtcDateTime, nullable=False),
    Column("finished_at", UtcDateTime),
    Column("outcome", Text, nullable=False, server_default="running"),
    Column("detail", Text, nullable=False, server_default=""),
    _one_of("outcome", RUN_OUTCOMES),
)

# An incident (a dependency failing, later a stale source or a sales condition) is one row
# keyed by what it is about: opening it is one conditional write, so it alerts once and
# recovers once however many replicas see it.
incidents = Table(
    "incidents",
    metadata,
    Column("id", Text, primary_key=True),
    Column("scope", Text, nullable=False),
    Column("opened_at", UtcDateTime, nullable=False),
    Column("detail", Text, nullable=False, server_default=""),
    Column("closed_at", UtcDateTime),
    _one_of("scope", SCOPES),
)

TABLES = tuple(metadata.tables)

# The figures the team's numbers are read from: read-only views over decision_log, defined in
# migration 0013 (one per figure), so that every backend, Supabase's REST API included, counts
# and orders them in SQL. Described here for querying only; they are never created from here.
views = MetaData()

occ_decision_times = Table(
    "occ_decision_times",  # operators' decisions on live drafts, with the time each took
    views,
    Column("created_at", UtcDateTime),
    Column("actor", Text),
    Column("action", Text),
    Column("waited_seconds", Float),
)

occ_claims = Table(
    "occ_claims",  # managers' claims of escalations, within the SLA (1) or not (0)
    views,
    Column("created_at", UtcDateTime),
    Column("actor", Text),
    Column("within_sla", Integer),
)

occ_breaches = Table(
    "occ_breaches",  # conversations found waiting past the CX SLA
    views,
    Column("created_at", UtcDateTime),
)
