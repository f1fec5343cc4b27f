-- occ-bot schema 0001 (PostgreSQL / Supabase).
-- Apply with `occ-bot migrate` (DATABASE_URL), or paste this whole file into the Supabase
-- SQL editor. Every statement is idempotent, so running it again is harmless.
-- Row level security is on for every table with no policies: only the service role
-- (which bypasses RLS) and the table owner can read or write; the public anon key cannot.

create table if not exists schema_migrations (
    name text primary key,
    applied_at timestamptz not null default now()
);

create table if not exists drafts (
    id text primary key,
    external_id text unique,
    conversation_id bigint not null,
    input jsonb not null,
    flags jsonb not null default '[]'::jsonb,
    received_at timestamptz not null,
    state text not null default 'pending' check (state in ('pending', 'approved', 'rejected', 'escalated')),
    card_channel text,
    card_ts text,
    posted_at timestamptz,
    decision_kind text check (decision_kind in ('approve', 'edit', 'reject', 'escalate')),
    decided_by text,
    decided_at timestamptz,
    final_text text,
    reject_reason text,
    decision_notes text,
    escalation_id text,
    reply_status text not null default 'none' check (reply_status in ('none', 'queued', 'sending', 'sent', 'recorded', 'failed', 'gave_up')),
    reply_attempts integer not null default 0,
    reply_next_attempt_at timestamptz,
    reply_last_error text,
    reply_message_id text,
    reply_sent_at timestamptz,
    reply_lease_until timestamptz
);

create index if not exists drafts_reply_due_idx on drafts (received_at)
    where reply_status in ('queued', 'failed', 'sending');
create index if not exists drafts_conversation_idx on drafts (conversation_id);

create table if not exists escalations (
    id text primary key,
    draft_id text not null unique references drafts (id),
    conversation_id bigint,
    type text not null,
    urgency text not null check (urgency in ('urgent', 'high', 'normal')),
    notes text not null default '',
    escalated_by text not null,
    created_at timestamptz not null,
    due_at timestamptz not null,
    state text not null default 'open' check (state in ('open', 'claimed', 'resolved')),
    message_channel text,
    message_ts text,
    claimed_by text,
    claimed_at timestamptz,
    resolved_by text,
    resolved_at timestamptz,
    reminders_sent integer not null default 0,
    next_reminder_at timestamptz
);

create index if not exists escalations_open_due_idx on escalations (due_at)
    where state = 'open';

create table if not exists decision_log (
    id text primary key,
    created_at timestamptz not null default now(),
    actor text not null,
    action text not null,
    scope text not null check (scope in ('cx', 'sales', 'reliability', 'training')),
    subject_id text not null,
    conversation_id bigint,
    payload jsonb not null default '{}'::jsonb,
    outcome text not null check (outcome in ('success', 'retry', 'failed', 'timeout', 'refused')),
    seq bigint generated always as identity
);

create index if not exists decision_log_created_idx on decision_log (created_at, seq);
create index if not exists decision_log_subject_idx on decision_log (subject_id, created_at, seq);

alter table schema_migrations enable row level security;
alter table drafts enable row level security;
alter table escalations enable row level security;
alter table decision_log enable row level security;

insert into schema_migrations (name) values ('0001_init') on conflict (name) do nothing;
