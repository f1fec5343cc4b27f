"""A throw-away PostgreSQL database on the local server (as tests/conftest.py makes one)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"


@contextmanager
def fresh_database(server_url: str = DEFAULT_URL) -> Iterator[str]:
    """Create an empty database, yield its URL, drop it (WITH FORCE) afterwards."""
    base = server_url.rsplit("/", 1)[0]
    admin = f"{base}/postgres"
    name = f"occ_bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
