"""Drafts learn from operators: their edited and approved replies to similar messages reach the
model as examples, their rejection reasons as mistakes to avoid, and `occ-bot export
--examples` writes their sent replies as chat fine-tuning JSONL."""

from __future__ import annotations

import json

from bot.blocks.ids import ActionId
from bot.drafting.openai_drafter import RULES
from tests.commands.test_cli import occ_bot
from tests.harness import OPERATOR, BotUnderTest, bot_with_model

ANSWER = json.dumps({"reply": "Hi! We ship to Canada.", "confidence": 0.9})
EDITED = "Hi Jen! Yes, we ship to Canada: 7-10 business days, duties paid at delivery."
CANADA = "Do you ship to Canada? How long does shipping to Canada take?"


def draft_body(conversation_id: int, message: str, draft: str) -> dict:
    return {
        "conversation_id": conversation_id,
        "customer": {"name": "Jen Walsh", "email": "jen@example.com"},
        "customer_message": message,
        "draft": draft,
        "confidence": 0.8,
    }


async def decide_past_messages(bot: BotUnderTest) -> None:
    """Three past decisions: an edit and a rejection on Canada shipping, an unrelated approve."""
    edited = await bot.posted_draft(
        draft_body(201, CANADA, "Hi Jen! We ship worldwide in 3-5 days.")
    )
    await bot.submit_edit(edited.id, OPERATOR, EDITED)
    bot.clock.advance(minutes=1)
    rejected = await bot.posted_draft(
        draft_body(202, "Can you ship my order to Canada?", "Sorry, we don't ship to Canada.")
    )
    await bot.submit_reject(rejected.id, OPERATOR, "factual_error", "We do ship to Canada")
    bot.clock.advance(minutes=1)
    other = await bot.posted_draft(
        draft_body(203, "What is your return window for shoes?", "Returns within 30 days.")
    )
    await bot.click(ActionId.APPROVE, other, OPERATOR)
    await bot.settle()


async def test_operators_edits_and_rejection_reasons_reach_the_prompt(
    sqlite_url, slack, chatwoot, clock
):
    async with bot_with_model(sqlite_url, slack, chatwoot, clock, ANSWER) as (bot, api):
        await decide_past_messages(bot)
        message = chatwoot.add_incoming(
            204, "Hi! Do you ship to Canada, and how long does it take?", contact_name="Ana"
        )
        await bot.chatwoot_event(chatwoot.message_created_event(message))
        await bot.settle()
        [completion] = api.completions()
    prompt = completion["messages"][1]["content"]

    examples = prompt.index("Replies operators sent to similar messages")
    assert f"Reply the operator wrote: {EDITED}" in prompt[examples:]
    avoid = prompt.index("Drafts operators rejected for similar messages")
    assert "Rejected draft: Sorry, we don't ship to Canada." in prompt[avoid:]
    assert "Why: factual error: We do ship to Canada" in prompt[avoid:]
    assert "return window for shoes" not in prompt  # not similar: not an example


async def test_the_examples_export_round_trips(bot: BotUnderTest, sqlite_url):
    await decide_past_messages(bot)

    result = occ_bot("export", "--examples", env={"DATABASE_URL": sqlite_url})

    assert result.returncode == 0, result.stderr
    assert "exported 2 examples" in result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [[m["role"] for m in r["messages"]] for r in records] == [
        ["system", "user", "assistant"]
    ] * 2
    edit, approve = records
    assert edit["messages"][0]["content"] == RULES  # the rules, without the JSON answer format
    assert CANADA in edit["messages"][1]["content"]
    assert "International Shipping Policy" in edit["messages"][1]["content"]  # its articles
    assert edit["messages"][2]["content"] == EDITED  # the operator's text, not the draft
    assert approve["messages"][2]["content"] == "Returns within 30 days."
    assert all("Sorry, we don't ship" not in line for line in result.stdout.splitlines())


def test_the_examples_export_refuses_a_date_range(sqlite_url):
    result = occ_bot(
        "export", "--examples", "--since", "2026-12-01T00:00:00Z", env={"DATABASE_URL": sqlite_url}
    )
    assert result.returncode == 2 and "not --examples" in result.stderr
    assert result.stdout == ""
