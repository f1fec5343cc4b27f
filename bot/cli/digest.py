"""`occ-bot digest [--out DIR]`: the weekly digest now, posted or written to a folder."""

from __future__ import annotations

from pathlib import Path
from typing import TextIO

from bot.config import Settings
from bot.flows.digest import build_digest, post_digest, write_digest
from bot.services import build_services


async def digest_now(settings: Settings, out_dir: Path | None, out: TextIO, err: TextIO) -> int:
    """Post the digest of the last full week to OCC_DIGEST_CHANNEL (unless it is there
    already), or with ``out_dir`` write its Markdown and charts there and post nothing; exit
    1 if Slack refused it."""
    services = await build_services(settings)
    try:
        await services.store.migrate()
        now = services.clock()
        if out_dir is not None:
            for path in write_digest(await build_digest(services, now), out_dir):
                out.write(f"wrote {path}\n")
            return 0
        if await post_digest(services, await build_digest(services, now)) is None:
            err.write("digest: Slack refused it (see the log above)\n")
            return 1
        out.write(f"digest: posted to {settings.digest_channel}\n")
        return 0
    finally:
        await services.aclose()
