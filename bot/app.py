"""Wiring: the Bolt app, the HTTP app and their life cycle, built from one `Services`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.logger.messages import (
    warning_client_prioritized_and_token_skipped,
    warning_token_skipped,
)
from slack_sdk.web.async_client import AsyncWebClient
from starlette.applications import Starlette

from bot import handlers
from bot.flows.help_center import keep_synced
from bot.jobs.runner import Scheduler
from bot.services import Services, debug_only_when_written
from bot.slack import bot_identity
from bot.web.routes import create_web_app

log = logging.getLogger("occ")


class _TokenFromEnvironment(logging.Filter):
    """Bolt reads SLACK_BOT_TOKEN from the environment by itself, then warns on every start
    that it goes unused beside our `authorize` hook, which holds the same token."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() not in (
            warning_token_skipped(),
            warning_client_prioritized_and_token_skipped(),
        )


def create_bolt_app(services: Services) -> AsyncApp:
    settings = services.settings
    bolt_log = debug_only_when_written("occ.bolt")
    if not bolt_log.filters:
        bolt_log.addFilter(_TokenFromEnvironment())
    app = AsyncApp(
        name="occ-bot",
        logger=bolt_log,
        # Flows talk to Slack through services.slack; Bolt's own client (for its per-request
        # context) shares its connections, and `authorize` asks auth.test once per start.
        client=AsyncWebClient(
            base_url=settings.slack_api_url,
            session=services.slack.session,
            logger=debug_only_when_written("slack_sdk.web.async_client"),
        ),
        authorize=bot_identity(services.slack),
        signing_secret=(
            settings.slack_signing_secret.get_secret_value()
            if settings.slack_signing_secret
            else None
        ),
        # Listeners only ack and hand off to background work, so answering after they
        # return costs nothing and spares Bolt's 10 ms ack polling.
        process_before_response=True,
        # bot.web.slack_guard checks every HTTP request's signature before Bolt sees it (Bolt
        # and slack_sdk crash on some unsigned requests), against the bot's own clock.
        request_verification_enabled=False,
    )

    @app.error
    async def on_error(error: Exception, body: dict[str, Any], response: Any) -> None:
        if isinstance(error, handlers.payload.InvalidPayload) and response is not None:
            # a field a listener reads is missing or mistyped (bot/web/slack_guard.py checks
            # these first): the payload is at fault, so 400 and one line, no traceback
            log.warning("refused a Slack %s payload: %s", body.get("type"), error)
            response.status, response.body = 400, f"invalid payload: {error}"
            return
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
        scheduler = Scheduler(services) if run_jobs else None
        if scheduler is not None:
            scheduler.start()
        syncing = None
        if run_jobs and services.settings.kb_help_center_portal:
            syncing = asyncio.create_task(keep_synced(services), name="help-center-sync")
        try:
            yield
        finally:
            if syncing is not None:
                syncing.cancel()
                await asyncio.gather(syncing, return_exceptions=True)
            if scheduler is not None:
                await scheduler.stop()  # before the clients its runs use are closed
            await services.aclose()

    return create_web_app(services, bolt, lifespan=lifespan)
