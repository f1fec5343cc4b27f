"""`occ-bot serve`: HTTP mode under uvicorn, or Socket Mode when SLACK_APP_TOKEN is set."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Iterator

import uvicorn

from bot.app import create_app, create_bolt_app
from bot.config import Settings
from bot.connect import SlackRejected, connect, join_channels, keep_connecting
from bot.runtime.spool import UnsafeSpool
from bot.services import build_services

log = logging.getLogger("occ")


class _Server(uvicorn.Server):
    """uvicorn's server, stopping gracefully on SIGTERM/SIGINT and exiting 0 afterwards.

    uvicorn re-raises the signal once it has shut down, which turns a clean stop into
    "killed by SIGTERM" or a KeyboardInterrupt traceback; a service manager wants exit 0.
    """

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        loop = asyncio.get_running_loop()
        stops = (signal.SIGTERM, signal.SIGINT)
        for stop in stops:
            loop.add_signal_handler(stop, self.handle_exit, stop, None)
        try:
            yield
        finally:
            for stop in stops:
                loop.remove_signal_handler(stop)


async def serve(settings: Settings, *, host: str, port: int) -> int:
    half_set = settings.half_set()
    if half_set:
        for problem in half_set:
            log.error("configuration: %s", problem)
        return 2
    for note in settings.startup_notes():
        log.info(note)
    for warning in settings.startup_warnings():
        log.warning(warning)
    services = await build_services(settings)
    try:
        if services.spool is not None:
            services.spool.check()
    except UnsafeSpool as error:
        log.error("OCC_SPOOL_DIR refused: %s", error)
        await services.aclose()
        return 2
    reconnecting = None
    if settings.slack_bot_token is not None:
        try:
            if await connect(services):
                await join_channels(services)
            else:
                reconnecting = asyncio.create_task(keep_connecting(services), name="slack-connect")
        except SlackRejected as error:
            log.error("%s", error)
            await services.aclose()
            return 2
    socket_mode = settings.slack_app_token is not None
    bolt = create_bolt_app(services) if socket_mode or settings.slack_http_ready else None
    if bolt is None:
        log.warning(
            "Slack is not configured (SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET, or "
            "SLACK_APP_TOKEN): serving intake and /healthz only"
        )
    app = create_app(services, bolt=None if socket_mode else bolt)
    server = _Server(uvicorn.Config(app, host=host, port=port, log_level="info", access_log=False))
    socket_handler = None
    if socket_mode and bolt is not None:
        from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

        assert settings.slack_app_token is not None
        await services.store.migrate()  # before the first event can arrive
        socket_handler = AsyncSocketModeHandler(bolt, settings.slack_app_token.get_secret_value())
        await socket_handler.connect_async()
        log.info("connected to Slack in Socket Mode")
    try:
        await server.serve()  # returns on SIGTERM/SIGINT after the lifespan has drained work
    finally:
        if reconnecting is not None:
            reconnecting.cancel()
            await asyncio.gather(reconnecting, return_exceptions=True)
        if socket_handler is not None:
            await socket_handler.close_async()
    return 0
