"""Pooled PostgreSQL connections checked before use, without a round trip when they are busy.

SQLAlchemy's ``pool_pre_ping`` sends ``SELECT 1`` before every statement: on a busy pool that
doubles the round trips (an approval is three statements). Instead, at checkout (SQLAlchemy's
"custom pessimistic" disconnect handling: a `DisconnectionError` raised in the ``checkout``
event makes the pool drop that connection and take a fresh one):

- a connection whose socket has something to read while idle is dropped: PostgreSQL wrote
  to it unasked, which for an idle session means it is ending it (a restart or shutdown
  sends FATAL 57P01 and closes; an idle-session timeout, a pooler closing it, the same);
- a connection idle for more than `PING_AFTER_IDLE_SECONDS` is pinged as before, since a
  network path can drop a long-idle connection without a word (a NAT or a load balancer
  forgetting it, e.g. on the way to a hosted database);
- a connection in use in the last few seconds is taken as it is.

A server that dies between the check and the statement fails that statement, as it could
between a ping and the statement.
"""

from __future__ import annotations

import select
import time
from typing import Any

from sqlalchemy import event
from sqlalchemy.exc import DisconnectionError

from bot.store.async_engine import AsyncEngine

PING_AFTER_IDLE_SECONDS = 30.0
_RETURNED_AT = "occ_returned_at"


def check_on_checkout(engine: AsyncEngine) -> None:
    """Install the checks on ``engine``'s pool (create the engine without pool_pre_ping)."""
    dialect = engine.dialect

    @event.listens_for(engine.sync_engine, "connect")
    def _connected(_dbapi_connection: Any, record: Any) -> None:
        record.info[_RETURNED_AT] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkin")
    def _returned(_dbapi_connection: Any, record: Any) -> None:
        if record is not None:
            record.info[_RETURNED_AT] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkout")
    def _taken(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        if _ended_by_server(record.driver_connection):
            raise DisconnectionError("the server closed this pooled connection")
        idle = time.monotonic() - record.info.get(_RETURNED_AT, 0.0)
        if idle > PING_AFTER_IDLE_SECONDS:
            try:
                dialect.do_ping(dbapi_connection)
            except Exception as error:
                raise DisconnectionError(f"ping failed: {error}") from error


def _ended_by_server(connection: Any) -> bool:
    """The psycopg connection is closed, or its idle socket has data or end-of-file."""
    from psycopg import Error  # loaded already: only a PostgreSQL engine checks its pool

    if connection is None or connection.closed or connection.broken:
        return True
    try:
        socket = connection.pgconn.socket
    except Error:  # a socket already gone
        return True
    # poll, not select: select refuses a descriptor numbered 1024 or more, which a busy
    # process reaches (ValueError), and every checkout would then look like a dead server
    waiting = select.poll()
    waiting.register(socket, select.POLLIN)
    return bool(waiting.poll(0))
