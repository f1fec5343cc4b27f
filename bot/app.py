"""Wiring: the Bolt app, the HTTP app and their life cycle, built from one `Services`."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from slack_bolt.async_app import AsyncApp
from starlette.applications import Starlette

from bot import handlers
from bot.jobs import start_scheduler
from bot.services import Services
from bot.web.routes import create_web_app

log = logging.getLogger("occ")


def create_bolt_app(services: Services) -> AsyncApp:
    settings = services.settings
    socket_mode = settings.slack_app_token is not None
    app = AsyncApp(
        name="occ-bot",
        client=services.slack,
        signing_secret=(
            settings.slack_signing_secret.get_secret_value()
            if settings.slack_signing_secret
            else None
        ),
        # Listeners only ack and hand off to background work, so answering after they
        # return costs nothing and spares Bolt's 10 ms ack polling.
        process_before_response=True,
        request_verification_enabled=not socket_mode,
    )

    @app.error
    async def on_error(error: Exception, body: dict[str, Any]) -> None:
        log.error("listener failed for %s", body.get("type"), exc_info=error)

    handlers.register(app, services)
    return app


def create_app(services: Services, *, bolt: AsyncApp | None, run_jobs: bool = True) -> Starlette:
    """The HTTP app; it migrates, starts the jobs and drains background work with its lifespan.

    `bolt` serves /slack/events in HTTP mode; pass None in Socket Mode or without Slack.
    """

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        applied = await services.store.migrate()
        if applied:
            log.info("applied migrations: %s", ", ".join(applied))
        scheduler = start_scheduler(services) if run_jobs else None
        try:
            yield
        finally:
            if scheduler is not None:
                scheduler.shutdown(wait=False)
            await services.aclose()

    return create_web_app(services, bolt, lifespan=lifespan)
