"""The store's own errors."""

from __future__ import annotations


class StoreError(Exception):
    """Base class for the store's own errors."""


class NotFound(StoreError, LookupError):
    """The row an update targets does not exist."""


class SchemaNotApplied(StoreError):
    """The database lacks tables or migrations the bot needs."""


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
