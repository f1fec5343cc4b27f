"""Serve an ASGI app on 127.0.0.1 inside the running event loop, for local stand-in services.

The end-to-end tests and ``occ-bot demo`` run the bot against stand-ins for Slack and Chatwoot
that live in the same process. uvicorn serves each one on a free loopback port, as a task of
the current loop, and leaves the host's logging and signal handlers alone.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import logging
import socket
from collections.abc import Callable, Generator
from typing import Self, TypeVar

import uvicorn
from starlette.types import ASGIApp

T = TypeVar("T")

HOST = "127.0.0.1"
START_TIMEOUT = 10.0
STOP_TIMEOUT = 10.0
POLL_SECONDS = 0.01


class _EmbeddedConfig(uvicorn.Config):
    """uvicorn's config without its process-wide logging setup."""

    def configure_logging(self) -> None:
        # uvicorn would replace the host's logging config and clear the access logger's
        # handlers for the whole process; an embedded server must not.
        if self.log_level is not None:
            logging.getLogger("uvicorn.error").setLevel(
                self.log_level if isinstance(self.log_level, int) else self.log_level.upper()
            )


class _EmbeddedServer(uvicorn.Server):
    """A uvicorn server that does not take over SIGINT/SIGTERM from its host."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


class StandinServer:
    """Runs ``app`` on a free port of 127.0.0.1 until stopped; use as ``async with``.

    Args:
        app: the ASGI application.
        limit_concurrency: answer 503 beyond this many concurrent connections or tasks.
        log_level: level of the ``uvicorn.error`` logger (process-wide); None leaves it.
        graceful_seconds: how long stopping waits for requests still being answered.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        limit_concurrency: int | None = None,
        log_level: str | int | None = None,
        graceful_seconds: int = 2,
    ) -> None:
        self._config = _EmbeddedConfig(
            app,
            lifespan="off",
            access_log=False,
            log_level=log_level,
            limit_concurrency=limit_concurrency,
            timeout_graceful_shutdown=graceful_seconds,
            server_header=False,
        )
        self._server = _EmbeddedServer(self._config)
        self._task: asyncio.Task[None] | None = None
        self._port: int | None = None

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``, without a trailing slash."""
        if self._port is None:
            raise RuntimeError("the stand-in server is not running")
        return f"http://{HOST}:{self._port}"

    async def start(self) -> None:
        if self._task is not None:
            raise RuntimeError("the stand-in server was already started")
        # Binding here, not in uvicorn, makes a bind failure an OSError for the caller rather
        # than uvicorn's sys.exit inside a task. IPPROTO_TCP explicitly: asyncio sets
        # TCP_NODELAY on accepted connections only then (else each answer waits ~40 ms).
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, 0))
        except OSError:
            sock.close()
            raise
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]), name="standin")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + START_TIMEOUT
        while not self._server.started:
            if self._task.done():
                sock.close()
                self._task.result()  # raises what stopped it
                raise RuntimeError("the stand-in server stopped while starting")
            if loop.time() > deadline:
                await self.stop()
                raise RuntimeError("the stand-in server did not start in time")
            await asyncio.sleep(POLL_SECONDS)
        self._port = self._server.servers[0].sockets[0].getsockname()[1]

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is None:
            return
        self._server.should_exit = True
        try:
            await asyncio.wait_for(task, timeout=STOP_TIMEOUT)
        except TimeoutError:
            self._server.force_exit = True
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        finally:
            self._port = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()


class Standin(abc.ABC):
    """Base of a stand-in service: owns its server and offers polling for tests.

    Args:
        limit_concurrency: passed to :class:`StandinServer`.
        log_level: passed to :class:`StandinServer`.
    """

    def __init__(
        self, *, limit_concurrency: int | None = None, log_level: str | int | None = None
    ) -> None:
        self._limit_concurrency = limit_concurrency
        self._log_level = log_level
        self._server: StandinServer | None = None

    @abc.abstractmethod
    def build_app(self) -> ASGIApp:
        """The ASGI app answering requests; subclasses provide it."""

    @property
    def url(self) -> str:
        """The stand-in's root URL, ``http://127.0.0.1:<port>``."""
        if self._server is None:
            raise RuntimeError(f"{type(self).__name__} is not running")
        return self._server.url

    async def start(self) -> None:
        if self._server is not None:
            raise RuntimeError(f"{type(self).__name__} is already running")
        server = StandinServer(
            self.build_app(), limit_concurrency=self._limit_concurrency, log_level=self._log_level
        )
        await server.start()
        self._server = server

    async def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            await server.stop()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def wait_for(self, predicate: Callable[[], T], timeout: float = 5.0) -> T:
        """Poll ``predicate`` until it returns something truthy, and return that.

        Raises:
            TimeoutError: it stayed falsy for ``timeout`` seconds.
        """
        return await wait_for(predicate, timeout)


async def wait_for(predicate: Callable[[], T], timeout: float = 5.0) -> T:
    """Poll ``predicate`` until it returns something truthy within ``timeout`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if loop.time() >= deadline:
            raise TimeoutError(f"condition not met within {timeout} s")
        await asyncio.sleep(POLL_SECONDS)
