"""Slack listeners, one module per feature, each with `register(app, services)`."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.handlers import commands, drafts, escalations, home, qa_review, sales
from bot.services import Services


def register(app: AsyncApp, services: Services) -> None:
    drafts.register(app, services)
    commands.register(app, services)
    home.register(app, services)
    escalations.register(app, services)
    sales.register(app, services)
    qa_review.register(app, services)
