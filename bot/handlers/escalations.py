"""The managers' escalation message: Claim, then Resolve."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot.blocks.ids import ActionId
from bot.flows import escalations
from bot.handlers.payload import action_value, channel_id, user_id
from bot.services import Services


def register(app: AsyncApp, services: Services) -> None:
    async def on_claim(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        services.background.spawn(
            escalations.claim(services, action_value(body), user_id(body), channel_id(body)),
            name="claim",
        )

    async def on_resolve(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        services.background.spawn(
            escalations.resolve(services, action_value(body), user_id(body), channel_id(body)),
            name="resolve",
        )

    app.action(ActionId.CLAIM.value)(on_claim)
    app.action(ActionId.RESOLVE.value)(on_resolve)
