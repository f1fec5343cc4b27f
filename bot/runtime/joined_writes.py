"""uvicorn's HTTP protocol with each response sent in one write: its status line and headers
joined to its body.

uvicorn's protocols write a response's head when the app starts the response and its body
when the app sends it: two writes, so two ``send()`` calls and, with TCP_NODELAY, two TCP
segments, each waking the client. Here the writes made in one turn of the event loop are
joined and written at the end of that turn (``loop.call_soon``): an app that sends its head
and then its whole body without waiting in between (every response of occ-bot and of the
stand-ins) costs one write. Nothing waits for a timer, and closing the connection writes
what is held first.
"""

from __future__ import annotations

import asyncio
from typing import Any


class _JoinedWrites:
    """A transport's stand-in that holds writes until the end of the loop's turn."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._held: list[bytes] = []

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not self._held:
            self._loop.call_soon(self._flush)
        self._held.append(bytes(data))

    def writelines(self, lines: Any) -> None:
        for data in lines:
            self.write(data)

    def _flush(self) -> None:
        if not self._held:
            return
        data = b"".join(self._held)
        self._held.clear()
        if not self._transport.is_closing():
            self._transport.write(data)

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + sum(map(len, self._held))

    def close(self) -> None:
        self._flush()
        self._transport.close()

    def write_eof(self) -> None:
        self._flush()
        self._transport.write_eof()

    def abort(self) -> None:
        self._held.clear()
        self._transport.abort()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


def joined_protocol(base: type[asyncio.Protocol]) -> type[asyncio.Protocol]:
    """``base`` (a uvicorn HTTP protocol class) writing each loop turn's output at once."""

    class Joined(base):  # type: ignore[valid-type, misc]
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            # (uvloop's transports are not asyncio.Transport subclasses)
            joined = _JoinedWrites(transport, asyncio.get_running_loop())  # type: ignore[arg-type]
            super().connection_made(joined)

    Joined.__name__ = Joined.__qualname__ = f"Joined{base.__name__}"
    return Joined


def http_protocol() -> type[asyncio.Protocol] | str:
    """The ``http`` setting for `uvicorn.Config`: httptools' protocol (uvicorn's choice when
    httptools is installed) writing each response at once; "auto" without httptools."""
    try:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
    except ImportError:
        return "auto"
    return joined_protocol(HttpToolsProtocol)
