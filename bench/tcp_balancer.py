"""A loopback TCP proxy in front of one or more servers: round robin, a dead server skipped
(tried once each, as a load balancer's redispatch on a refused connection), and a cut.

    async with TcpBalancer([("127.0.0.1", 8001), ("127.0.0.1", 8002)]) as balancer:
        balancer.port     # clients connect here
        balancer.cut()    # open connections are aborted, new ones closed at once
        balancer.restore()

The soak uses it as its load balancer when HAProxy is not wanted (the short soak in
tests/), and with one target to cut Chatwoot off from the replicas. It never reads the
bytes: a connection is pinned to the server it was given, as HAProxy's TCP mode does.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from typing import Self

HOST = "127.0.0.1"
CONNECT_SECONDS = 2.0
CHUNK = 65536


class TcpBalancer:
    def __init__(self, targets: list[tuple[str, int]], *, port: int = 0) -> None:
        if not targets:
            raise ValueError("a balancer needs at least one target")
        self.targets = list(targets)
        self._wanted_port = port
        self._turn = itertools.count()
        self._server: asyncio.Server | None = None
        self._open: set[asyncio.StreamWriter] = set()
        self._pipes: set[asyncio.Task[None]] = set()
        self.is_cut = False
        self.refused = 0  # connections closed because every target refused or it was cut

    @property
    def port(self) -> int:
        assert self._server is not None, "the balancer is not running"
        return int(self._server.sockets[0].getsockname()[1])

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def cut(self) -> None:
        self.is_cut = True
        for writer in list(self._open):
            writer.transport.abort()
        self._open.clear()

    def restore(self) -> None:
        self.is_cut = False

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, HOST, self._wanted_port)

    async def stop(self) -> None:
        self.cut()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for task in list(self._pipes):
            task.cancel()
        await asyncio.gather(*self._pipes, return_exceptions=True)

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
        """The next target in turn that takes the connection; None if none does."""
        first = next(self._turn)
        for offset in range(len(self.targets)):
            host, port = self.targets[(first + offset) % len(self.targets)]
            with contextlib.suppress(OSError, TimeoutError):
                return await asyncio.wait_for(
                    asyncio.open_connection(host, port), timeout=CONNECT_SECONDS
                )
        return None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._pipes.add(task)
        # Stopping cancels the connections still open: end quietly (asyncio logs a cancelled
        # connection handler as an error).
        try:
            with contextlib.suppress(asyncio.CancelledError):
                await self._relay(reader, writer)
        finally:
            self._pipes.discard(task)

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream = None if self.is_cut else await self._connect()
        if upstream is None or self.is_cut:
            self.refused += 1
            writer.transport.abort()
            if upstream is not None:
                upstream[1].transport.abort()
            return
        up_reader, up_writer = upstream
        self._open |= {writer, up_writer}
        try:
            await asyncio.gather(
                _pipe(reader, up_writer), _pipe(up_reader, writer), return_exceptions=True
            )
        finally:
            for end in (writer, up_writer):
                self._open.discard(end)
                end.transport.abort()


async def _pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError, OSError):
        while data := await source.read(CHUNK):
            sink.write(data)
            await sink.drain()
    if sink.can_write_eof():
        with contextlib.suppress(OSError):
            sink.write_eof()
