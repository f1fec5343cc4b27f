"""The `/occ` slash command."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.blocks.queue import HELP, queue_text
from bot.services import Services

COMMAND = "/occ"


def register(app: AsyncApp, services: Services) -> None:
    async def on_occ(ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        services.background.spawn(answer(services, command, respond), name="occ-command")

    app.command(COMMAND)(on_occ)


async def answer(services: Services, command: dict[str, Any], respond: AsyncRespond) -> None:
    """Answer only the person who asked, through the command's response_url."""
    word = (command.get("text") or "").strip().lower() or "queue"
    if word == "queue":
        now = services.clock()
        summary = await services.store.queue_summary(now)
        text = queue_text(summary, now, approvals_channel=services.settings.approvals_channel)
    else:
        text = HELP if word == "help" else f"I don't know `{word[:40]}`.\n\n{HELP}"
    await respond(text=text, response_type="ephemeral")
