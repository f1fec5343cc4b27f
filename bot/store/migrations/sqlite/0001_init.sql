-- occ-bot schema 0001 (SQLite). Same tables and meaning as migrations/postgres/0001_init.sql.
-- Timestamps are UTC text in one fixed-width form (2024-05-01T12:00:00.000000Z), so text
-- comparison is time order. JSON columns are text checked with json_valid().

create table if not exists schema_migrations (
    name text primary key,
    applied_at text not null default (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

create table if not exists drafts (
    id text primary key,
    external_id text unique,
    conversation_id integer not null,
    input text not null check (json_valid(input)),
    flags text not null default '[]' check (json_valid(flags)),
    received_at text not null,
    state text not null default 'pending' check (state in ('pending', 'approved', 'rejected', 'escalated')),
    card_channel text,
    card_ts text,
    posted_at text,
    decision_kind text check (decision_kind in ('approve', 'edit', 'reject', 'escalate')),
    decided_by text,
    decided_at text,
    final_text text,
    reject_reason text,
    decision_notes text,
    escalation_id text,
    reply_status text not null default 'none' check (reply_status in ('none', 'queued', 'sending', 'sent', 'recorded', 'failed', 'gave_up')),
    reply_attempts integer not null default 0,
    reply_next_attempt_at text,
    reply_last_error text,
    reply_message_id text,
    reply_sent_at text,
    reply_lease_until text
);

create index if not exists drafts_reply_due_idx on drafts (received_at)
    where reply_status in ('queued', 'failed', 'sending');
create index if not exists drafts_conversation_idx on drafts (conversation_id);

create table if not exists escalations (
    id text primary key,
    draft_id text not null unique references drafts (id),
    conversation_id integer,
    type text not null,
    urgency text not null check (urgency in ('urgent', 'high', 'normal')),
    notes text not null default '',
    escalated_by text not null,
    created_at text not null,
    due_at text not null,
    state text not null default 'open' check (state in ('open', 'claimed', 'resolved')),
    message_channel text,
    message_ts text,
    claimed_by text,
    claimed_at text,
    resolved_by text,
    resolved_at text,
    reminders_sent integer not null default 0,
    next_reminder_at text
);

create index if not exists escalations_open_due_idx on escalations (due_at)
    where state = 'open';

-- seq is the rowid: insertion order, the tie-break for rows with the same created_at.
create table if not exists decision_log (
    seq integer primary key autoincrement,
    id text not null unique,
    created_at text not null,
    actor text not null,
    action text not null,
    scope text not null check (scope in ('cx', 'sales', 'reliability', 'training')),
    subject_id text not null,
    conversation_id integer,
    payload text not null default '{}' check (json_valid(payload)),
    outcome text not null check (outcome in ('success', 'retry', 'failed', 'timeout', 'refused'))
);

create index if not exists decision_log_created_idx on decision_log (created_at, seq);
create index if not exists decision_log_subject_idx on decision_log (subject_id, created_at, seq);

insert into schema_migrations (name) values ('0001_init') on conflict (name) do nothing;
