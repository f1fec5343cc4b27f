"""Chatwoot's Help Center as the knowledge base: published articles are copied into OCC_KB_DIR,
drafts cite them at once, edits and unpublished articles follow, and an outage changes
nothing but is said in the reliability channel."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from bot.config import Settings
from bot.flows.help_center import sync_help_center
from tests.harness import BotUnderTest, settings_for

PORTAL = "handbook"
GIFT_WRAP = (
    "## Gift wrapping\nEvery order can be gift wrapped at checkout for $4.99. The wrapping is "
    "recycled kraft paper with a handwritten card."
)


def kb_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.glob("*.md"))


async def helped_bot(tmp_path, sqlite_url, slack, chatwoot, clock) -> BotUnderTest:
    folder = tmp_path / "kb"
    folder.mkdir()
    settings = settings_for(
        sqlite_url, slack, chatwoot, OCC_KB_DIR=str(folder), OCC_KB_HELP_CENTER_PORTAL=PORTAL
    )
    return await BotUnderTest(settings, clock).start()


async def test_published_articles_become_the_knowledge_base_drafts_cite(
    tmp_path, sqlite_url, slack, chatwoot, clock
):
    wrap = chatwoot.add_article(PORTAL, "Gift Wrapping", GIFT_WRAP)
    for n in range(29):  # more than a page of 25
        chatwoot.add_article(PORTAL, f"Store hours {n}", f"Store {n} opens at {n % 12 + 1} AM.")
    chatwoot.add_article(PORTAL, "Unreleased policy", "Not yet.", status="draft")
    chatwoot.add_article(PORTAL, "   ", "An article with no title.")
    bot = await helped_bot(tmp_path, sqlite_url, slack, chatwoot, clock)  # an empty folder
    try:
        synced = await sync_help_center(bot.services)
        message = chatwoot.add_incoming(71, "Can you gift wrap my order?", contact_name="Ana")
        await bot.chatwoot_event(chatwoot.message_created_event(message))
        await bot.settle()
        [draft] = await bot.store.drafts_awaiting_decision(71)
    finally:
        await bot.stop()

    assert synced is not None and (synced.written, synced.skipped) == (30, 1)
    folder = tmp_path / "kb"
    assert len(kb_files(folder)) == 30 and f"chatwoot-help-center-{wrap['id']}.md" in kb_files(
        folder
    )
    assert draft.input.kb_sources[0].title == "Gift Wrapping"
    assert "$4.99" in draft.input.draft


async def test_edits_and_unpublished_articles_follow_and_the_users_own_files_stay(
    tmp_path, sqlite_url, slack, chatwoot, clock
):
    wrap = chatwoot.add_article(PORTAL, "Gift Wrapping", GIFT_WRAP)
    hours = chatwoot.add_article(PORTAL, "Store Hours", "## Hours\nWe open at 9 AM every day.")
    bot = await helped_bot(tmp_path, sqlite_url, slack, chatwoot, clock)
    folder = tmp_path / "kb"
    (folder / "returns.md").write_text("# Returns\n\nReturns within 30 days.", encoding="utf-8")
    try:
        await sync_help_center(bot.services)
        chatwoot.edit_article(PORTAL, wrap["id"], content=GIFT_WRAP.replace("4.99", "5.99"))
        chatwoot.edit_article(PORTAL, hours["id"], status="archived")
        again = await sync_help_center(bot.services)
        unchanged = await sync_help_center(bot.services)
        chatwoot.edit_article(PORTAL, wrap["id"], title=" ")  # an editor blanks the title
        blanked = await sync_help_center(bot.services)
    finally:
        await bot.stop()

    assert again is not None and (again.written, again.removed) == (1, 1)
    assert unchanged is not None and (unchanged.written, unchanged.unchanged) == (0, 1)
    assert blanked is not None and (blanked.skipped, blanked.removed) == (1, 0)  # kept
    assert kb_files(folder) == [f"chatwoot-help-center-{wrap['id']}.md", "returns.md"]
    text = (folder / f"chatwoot-help-center-{wrap['id']}.md").read_text(encoding="utf-8")
    assert "$5.99" in text and text.startswith("---\ntitle: Gift Wrapping\nversion: ")


async def test_a_chatwoot_outage_changes_no_article_and_is_said(
    tmp_path, sqlite_url, slack, chatwoot, clock
):
    wrap = chatwoot.add_article(PORTAL, "Gift Wrapping", GIFT_WRAP)
    bot = await helped_bot(tmp_path, sqlite_url, slack, chatwoot, clock)
    try:
        await sync_help_center(bot.services)
        chatwoot.down(503)
        failed = await sync_help_center(bot.services)
        chatwoot.up()
    finally:
        await bot.stop()
    assert failed is None
    assert kb_files(tmp_path / "kb") == [f"chatwoot-help-center-{wrap['id']}.md"]
    alerts = json.dumps(slack.messages_in("#occ-reliability"))
    assert "chatwoot" in alerts and "Help Center portal handbook" in alerts


def test_a_help_center_portal_without_a_knowledge_base_folder_is_refused():
    with pytest.raises(ValidationError, match="OCC_KB_HELP_CENTER_PORTAL needs OCC_KB_DIR"):
        Settings(_env_file=None, OCC_KB_HELP_CENTER_PORTAL=PORTAL)


async def test_an_article_whose_id_is_not_an_integer_is_left_out_and_the_rest_sync(
    tmp_path, sqlite_url, slack, chatwoot, clock
):
    """An article id names a file: `../../x` used to stop the sync half-way (issue 18, 8)."""
    hostile = chatwoot.add_article(PORTAL, "Escape", "## Escape\nOut of the folder.")
    hostile["id"] = "../../escape"
    wrap = chatwoot.add_article(PORTAL, "Gift Wrapping", GIFT_WRAP)
    bot = await helped_bot(tmp_path, sqlite_url, slack, chatwoot, clock)
    try:
        synced = await sync_help_center(bot.services)
    finally:
        await bot.stop()

    assert synced is not None and synced.written == 1
    assert kb_files(tmp_path / "kb") == [f"chatwoot-help-center-{wrap['id']}.md"]
    assert not list(tmp_path.rglob("*escape*"))
