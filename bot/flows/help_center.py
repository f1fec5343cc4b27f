"""Chatwoot's Help Center as knowledge-base articles, for teams that keep their policies there.

Each replica copies the portal's published articles (`OCC_KB_HELP_CENTER_PORTAL`) into its
`OCC_KB_DIR` as Markdown files, `chatwoot-help-center-<id>.md` (a prefix the sync owns), with
the article's title and its last update as the version, every `OCC_KB_SYNC_MINUTES`; copies
of articles no longer published go.
The knowledge base notices the changed files and re-indexes (`bot.drafting.kb`). A failed read
changes no file and is a Chatwoot incident in the reliability channel; an article the
knowledge base could not read (no title, no text) is left out with a warning, so it cannot
stop the others from loading (its last good copy, if any, stays).
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.drafting.kb import KnowledgeBaseError, parse_article
from bot.flows.incidents import chatwoot_failed, dependency_ok
from bot.integrations.chatwoot_answers import ChatwootError
from bot.services import Services

log = logging.getLogger("occ.help_center")

PREFIX = "chatwoot-help-center-"
MAX_PAGES = 40  # 1,000 articles


@dataclass(frozen=True)
class Synced:
    written: int
    unchanged: int
    removed: int
    skipped: int

    def describe(self) -> str:
        return (
            f"{self.written} articles written, {self.unchanged} unchanged, "
            f"{self.removed} removed, {self.skipped} unreadable"
        )


async def sync_help_center(services: Services) -> Synced | None:
    """Copy the portal's published articles into the knowledge-base folder once; None when
    Chatwoot could not be read (nothing changed, and reliability on-call is told)."""
    settings = services.settings
    portal, chatwoot = settings.kb_help_center_portal, services.chatwoot
    if portal is None or chatwoot is None or settings.kb_dir is None:
        return None
    try:
        articles = await chatwoot.published_articles(portal, max_pages=MAX_PAGES)
    except ChatwootError as error:
        await chatwoot_failed(services, error, f"reading Help Center portal {portal}")
        return None
    await dependency_ok(services, "chatwoot")
    files: dict[str, str] = {}
    unreadable: set[str] = set()
    for article in articles:
        article_id = article.get("id")
        if isinstance(article_id, bool) or not isinstance(article_id, int) or article_id < 0:
            # the id names a file: only Chatwoot's integer ids, never a path like ../../x
            log.warning("Help Center article with id %r left out: not an integer", article_id)
            continue
        name, text = f"{PREFIX}{article_id}.md", article_markdown(article)
        try:
            parse_article(text, f"Help Center article {article.get('id')}")
        except KnowledgeBaseError as error:
            log.warning("Help Center article left out (its last good copy stays): %s", error)
            unreadable.add(name)
            continue
        files[name] = text
    folder = Path(settings.kb_dir).expanduser()
    synced = await asyncio.to_thread(_write, folder, files, unreadable)
    if synced.written or synced.removed:
        services.fallback_drafter.knowledge_base.recheck()  # the drafters share it
    return Synced(synced.written, synced.unchanged, synced.removed, len(unreadable))


async def keep_synced(services: Services) -> None:
    """Sync now and every `OCC_KB_SYNC_MINUTES` until cancelled (at shutdown)."""
    while True:
        try:
            synced = await sync_help_center(services)
            if synced is not None:
                log.info("Help Center: %s", synced.describe())
        except Exception:  # a bug here must not end the loop: the next sync may work
            log.exception("Help Center sync failed")
        await asyncio.sleep(services.settings.kb_sync_minutes * 60)


def article_markdown(article: Mapping[str, Any]) -> str:
    """The article as a knowledge-base file: its title and last update up front."""
    title = " ".join(str(article.get("title") or "").split())
    updated = article.get("updated_at")
    version = ""
    if isinstance(updated, int):
        version = datetime.fromtimestamp(updated, UTC).strftime("%Y-%m-%d %H:%M UTC")
    content = article.get("content") if isinstance(article.get("content"), str) else ""
    return f"---\ntitle: {title}\nversion: {version}\n---\n{content.strip()}\n"


def _write(folder: Path, files: Mapping[str, str], keep: set[str]) -> Synced:
    """Write the files that changed; remove the sync's other files, except ``keep`` (still
    published, but unreadable just now: their last good copy stays in use)."""
    written = unchanged = removed = 0
    for name, text in files.items():
        path = folder / name
        if path.exists() and path.read_text(encoding="utf-8") == text:
            unchanged += 1
            continue
        draft = folder / f".{name}.partial"  # not .md: the knowledge base never reads it
        draft.write_text(text, encoding="utf-8")
        os.replace(draft, path)
        written += 1
    for stale in folder.glob(f"{PREFIX}*.md"):
        if stale.name not in files and stale.name not in keep:
            stale.unlink()
            removed += 1
    return Synced(written, unchanged, removed, 0)
