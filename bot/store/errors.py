"""The store's own errors."""

from __future__ import annotations


class StoreError(Exception):
    """Base class for the store's own errors."""


class NotFound(StoreError, LookupError):
    """The row an update targets does not exist."""


class SchemaNotApplied(StoreError):
    """The database lacks tables or migrations the bot needs."""


def first_line(error: BaseException) -> str:
    """The error's class and the first line of its text: SQLAlchemy appends the statement
    (and, unless hidden, its values) on the lines after, which belong in no alert."""
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0] if text else ''}"[:300]


def unavailable(error: BaseException) -> bool:
    """The database cannot be reached now (connection refused or lost, a timeout, a 5xx from
    Supabase's REST API): a state change may be kept and applied later, not a bug."""
    import httpx
    import sqlalchemy.exc

    if isinstance(error, sqlalchemy.exc.DBAPIError):
        return error.connection_invalidated or isinstance(
            error, sqlalchemy.exc.OperationalError | sqlalchemy.exc.InterfaceError
        )
    if isinstance(error, httpx.HTTPStatusError):
        return error.response.status_code >= 500
    return isinstance(error, OSError | TimeoutError | httpx.TransportError)
