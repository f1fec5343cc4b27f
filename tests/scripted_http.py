"""A loopback HTTP/1.1 server that answers from a script and records what it was sent.

For HTTP client tests: each request takes the next answer of the script (the last one
repeats). An answer is a :class:`Reply`, or one of three failures a real server can show:
``HANG`` (the request is read and never answered), ``DROP`` (the request is read and the
connection closed without an answer) and ``RESET`` (the same, with a TCP reset).
:class:`Resolver` sends a made-up host name to a dead port first and to the server
afterwards, to show a client's retry after a refused connection.
"""

from __future__ import annotations

import asyncio
import json
import socket
import struct
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from aiohttp.abc import AbstractResolver, ResolveResult

HANG_LIMIT = 30.0  # seconds a HANG answer waits at most, should nobody close the server


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, status: int, value: Any, headers: dict[str, str] | None = None) -> Reply:
        return cls(
            status,
            json.dumps(value).encode(),
            {"Content-Type": "application/json; charset=utf-8", **(headers or {})},
        )

    @classmethod
    def text(cls, status: int, text: str, headers: dict[str, str] | None = None) -> Reply:
        return cls(status, text.encode(), {"Content-Type": "text/plain", **(headers or {})})


HANG = "hang"
DROP = "drop"
RESET = "reset"
Answer = Reply | str


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # names lower-cased
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class ScriptedServer:
    """``async with ScriptedServer(answer, ...) as server``: serves on ``server.url``."""

    def __init__(self, *answers: Answer) -> None:
        if not answers:
            raise ValueError("a script needs at least one answer")
        self._answers = list(answers)
        self.requests: list[Request] = []
        self._closing = asyncio.Event()
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.StreamWriter] = set()
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def __aenter__(self) -> ScriptedServer:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self._closing.set()
        assert self._server is not None
        self._server.close()
        for writer in list(self._connections):
            writer.close()
        await self._server.wait_closed()

    def _next_answer(self) -> Answer:
        return self._answers.pop(0) if len(self._answers) > 1 else self._answers[0]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._connections.add(writer)
        try:
            while (request := await _read_request(reader)) is not None:
                self.requests.append(request)
                answer = self._next_answer()
                if answer == HANG:
                    await asyncio.wait_for(self._closing.wait(), HANG_LIMIT)
                    return
                if answer == DROP:
                    return
                if answer == RESET:
                    # linger 0: close() sends RST instead of FIN
                    sock = writer.get_extra_info("socket")
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    return
                assert isinstance(answer, Reply)
                writer.write(_response_bytes(answer))
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, TimeoutError):
            return
        finally:
            self._connections.discard(writer)
            writer.close()


async def _read_request(reader: asyncio.StreamReader) -> Request | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None  # the client closed its connection
    request_line, *header_lines = head.decode("latin-1").split("\r\n")
    method, target, _version = request_line.split(" ", 2)
    headers = {}
    for line in header_lines:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    url = urlsplit(target)
    return Request(method, url.path, dict(parse_qsl(url.query)), headers, body)


def _response_bytes(reply: Reply) -> bytes:
    reason = HTTPStatus(reply.status).phrase
    lines = [f"HTTP/1.1 {reply.status} {reason}"]
    lines += [f"{name}: {value}" for name, value in reply.headers.items()]
    lines.append(f"Content-Length: {len(reply.body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + reply.body


def dead_port() -> int:
    """A loopback port nothing listens on: connecting to it is refused."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Resolver(AbstractResolver):
    """Resolves every name to 127.0.0.1: ``refused`` times to a dead port, then to ``port``.

    ``lookups`` counts the connection attempts (give the connector ``use_dns_cache=False``).
    """

    def __init__(self, port: int, *, refused: int = 0) -> None:
        self._port = port
        self._refused = refused
        self._dead = dead_port()
        self.lookups = 0

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        self.lookups += 1
        target = self._dead if self.lookups <= self._refused else self._port
        return [
            ResolveResult(
                hostname=host,
                host="127.0.0.1",
                port=target,
                family=socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST,
            )
        ]

    async def close(self) -> None:
        return None
