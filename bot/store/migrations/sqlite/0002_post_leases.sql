-- occ-bot schema 0002 (SQLite). Same columns as migrations/postgres/0002_post_leases.sql.
-- SQLite's ALTER TABLE has no IF NOT EXISTS; `occ-bot migrate` records applied files in
-- schema_migrations, so this file runs once.

alter table drafts add column card_lease_until text;
alter table escalations add column message_lease_until text;

create index if not exists drafts_unposted_idx on drafts (received_at)
    where card_channel is null and state = 'pending';
create index if not exists escalations_unposted_idx on escalations (created_at)
    where message_channel is null and state in ('open', 'claimed');

insert into schema_migrations (name) values ('0002_post_leases') on conflict (name) do nothing;
