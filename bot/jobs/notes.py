"""The `notes` job: escalations' private notes in Chatwoot, queued or due for a retry."""

from __future__ import annotations

from bot.flows.notes import deliver_due_notes
from bot.services import Services


async def run(services: Services) -> str:
    return (await deliver_due_notes(services)).describe("notes")
