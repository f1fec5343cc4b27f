"""Runtime plumbing under `Services`: the event loop, background work, batches, reliability
state, the spool and the workspace's channels (`occ-bot serve` itself is `bot.serve`)."""
