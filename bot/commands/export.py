"""The decision log as NDJSON: one JSON object per row, oldest first."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, TextIO

from bot.domain import LogEntry
from bot.store import Store


def row(entry: LogEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "created_at": entry.created_at.isoformat().replace("+00:00", "Z"),
        "actor": entry.actor,
        "action": str(entry.action),
        "scope": entry.scope.value,
        "subject_id": entry.subject_id,
        "conversation_id": entry.conversation_id,
        "payload": entry.payload,
        "outcome": entry.outcome.value,
    }


async def write_ndjson(
    store: Store, out: TextIO, *, since: datetime | None = None, until: datetime | None = None
) -> int:
    entries = await store.entries(since=since, until=until)
    for entry in entries:
        out.write(json.dumps(row(entry), ensure_ascii=False, separators=(",", ":")) + "\n")
    return len(entries)
