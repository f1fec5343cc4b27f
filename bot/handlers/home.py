"""The Home tab, published whenever someone opens it."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.flows.overview import publish_home
from bot.services import Services


def register(app: AsyncApp, services: Services) -> None:
    async def on_home_opened(event: dict[str, Any]) -> None:
        if event.get("tab") == "home":
            services.background.spawn(publish_home(services, event["user"]), name="home")

    app.event("app_home_opened")(on_home_opened)
