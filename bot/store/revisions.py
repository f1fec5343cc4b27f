"""The schema revisions the bot ships and the one a database is at, without loading Alembic.

Alembic (with Mako, about 10 MB and 0.1 s to import) is only needed to apply revisions. A
start on an up-to-date database, the usual restart, needs only to compare the database's
``alembic_version`` with the newest revision here, read from the revision files' own
``revision = "…"`` and ``down_revision = "…"`` lines the way Alembic chains them (a test
checks both agree). Anything unexpected (no single chain) is left to Alembic.
"""

from __future__ import annotations

import functools
import re
from importlib.resources import files
from pathlib import Path

from sqlalchemy import Connection, inspect, text

VERSIONS = Path(str(files("bot.store").joinpath("migrations", "versions")))
_ASSIGNED = re.compile(
    r"""^(revision|down_revision)\s*(?::[^=]*)?=\s*(None|"[^"]*"|'[^']*')""", re.MULTILINE
)


@functools.cache
def shipped() -> tuple[str, ...] | None:
    """Every revision, oldest first; None when the files do not form one chain."""
    parent: dict[str | None, str] = {}
    for path in VERSIONS.glob("*.py"):
        found = dict(m.groups() for m in _ASSIGNED.finditer(path.read_text(encoding="utf-8")))
        if "revision" not in found or "down_revision" not in found:
            continue
        down = None if found["down_revision"] == "None" else found["down_revision"][1:-1]
        if down in parent:
            return None  # a branch
        parent[down] = found["revision"][1:-1]
    chain, at = [], None
    while at in parent:
        at = parent[at]
        chain.append(at)
    return tuple(chain) if chain and len(chain) == len(parent) else None


def known() -> list[str]:
    """Every revision, oldest first (Alembic's own list when the files are no one chain)."""
    chain = shipped()
    if chain is None:
        from bot.store import migrate

        return migrate.revisions()
    return list(chain)


def applied(connection: Connection) -> str | None:
    """The revision Alembic recorded in the database; None before its first migration."""
    if not inspect(connection).has_table("alembic_version"):
        return None
    rows = connection.execute(text("select version_num from alembic_version")).all()
    return rows[0][0] if len(rows) == 1 else None


def upgrade(connection: Connection) -> list[str]:
    """Apply pending revisions on an open connection (in its transaction); return them.
    Alembic is imported only when the database is not at the newest revision."""
    chain = shipped()
    if chain is not None and applied(connection) == chain[-1]:
        return []
    from bot.store import migrate

    return migrate.upgrade(connection)
