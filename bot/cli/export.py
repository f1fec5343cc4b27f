"""The decision log as NDJSON, one JSON object per row, oldest first; and operators' sent
replies as chat fine-tuning examples."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from typing import TextIO

from bot.decision_log import export_row
from bot.drafting.context import DraftingContext, OrderLookup
from bot.drafting.examples import sent_example
from bot.drafting.kb import KnowledgeBase
from bot.drafting.openai_drafter import CONTEXT_ARTICLES, RULES, build_messages
from bot.store import Store


async def write_ndjson(
    store: Store, out: TextIO, *, since: datetime | None = None, until: datetime | None = None
) -> int:
    entries = await store.entries(since=since, until=until)
    for entry in entries:
        out.write(json.dumps(export_row(entry), ensure_ascii=False, separators=(",", ":")) + "\n")
    return len(entries)


async def write_examples(store: Store, kb: KnowledgeBase, out: TextIO) -> int:
    """Operators' sent replies as chat fine-tuning data, one ``{"messages": [...]}`` a line,
    oldest decision first: the drafter's rules, then what it would be shown for the customer's
    message (today's articles for it, the order facts stored with the draft), then the reply
    the operator sent (their edit, where they edited)."""
    count = 0
    for draft in await store.sent_drafts():
        example = sent_example(draft)
        if example is None:
            continue
        data = draft.input
        hits = await asyncio.to_thread(kb.search, data.customer_message, CONTEXT_ARTICLES)
        context = DraftingContext(
            order=data.order_facts,
            order_lookup=OrderLookup.FOUND if data.order_facts else OrderLookup.UNAVAILABLE,
        )
        messages = build_messages(
            hits, customer_name=data.customer.name, message=data.customer_message, context=context
        )
        messages[0] = {"role": "system", "content": RULES}
        messages.append({"role": "assistant", "content": example.reply})
        out.write(json.dumps({"messages": messages}, ensure_ascii=False) + "\n")
        count += 1
    return count
