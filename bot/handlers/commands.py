"""The `/occ` slash command."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.flows.overview import answer_command
from bot.services import Services

COMMAND = "/occ"


def register(app: AsyncApp, services: Services) -> None:
    async def on_occ(ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        text = command.get("text")
        services.background.spawn(
            answer_command(services, text if isinstance(text, str) else "", respond),
            name="occ-command",
        )

    app.command(COMMAND)(on_occ)
