"""The `/occ` slash command."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.flows.occ_command import answer_command
from bot.services import Services

COMMAND = "/occ"


def register(app: AsyncApp, services: Services) -> None:
    async def on_occ(ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        text, user = command.get("text"), command.get("user_id")
        services.background.spawn(
            answer_command(
                services,
                user if isinstance(user, str) else "",
                text if isinstance(text, str) else "",
                respond,
            ),
            name="occ-command",
        )

    app.command(COMMAND)(on_occ)
