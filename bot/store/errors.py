"""The store's own errors."""

from __future__ import annotations


class StoreError(Exception):
    """Base class for the store's own errors."""


class NotFound(StoreError, LookupError):
    """The row an update targets does not exist."""


class SchemaNotApplied(StoreError):
    """The database lacks tables or migrations the bot needs."""
