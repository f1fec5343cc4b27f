"""The Home tab, published whenever someone opens it."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.blocks.home import home_view
from bot.services import Services


def register(app: AsyncApp, services: Services) -> None:
    async def on_home_opened(event: dict[str, Any]) -> None:
        if event.get("tab") == "home":
            services.background.spawn(publish_home(services, event["user"]), name="home")

    app.event("app_home_opened")(on_home_opened)


async def publish_home(services: Services, user: str) -> None:
    now = services.clock()
    summary = await services.store.queue_summary(now)
    view = home_view(summary, now, approvals_channel=services.settings.approvals_channel)
    await services.slack.views_publish(user_id=user, view=view)
