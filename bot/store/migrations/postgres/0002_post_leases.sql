-- occ-bot schema 0002 (PostgreSQL / Supabase): leases for reposting Slack messages.
-- A draft whose card (or an escalation whose manager message) failed to post keeps no Slack
-- reference; a scheduled job reposts it, and the lease lets only one replica post at a time.
-- Apply with `occ-bot migrate`, or paste this file into the Supabase SQL editor after 0001.
-- Every statement is idempotent, so running it again is harmless.

alter table drafts add column if not exists card_lease_until timestamptz;
alter table escalations add column if not exists message_lease_until timestamptz;

create index if not exists drafts_unposted_idx on drafts (received_at)
    where card_channel is null and state = 'pending';
create index if not exists escalations_unposted_idx on escalations (created_at)
    where message_channel is null and state in ('open', 'claimed');

insert into schema_migrations (name) values ('0002_post_leases') on conflict (name) do nothing;
