"""A lean process: `occ-bot serve` starts without its heavy libraries; each loads where used.

Each check runs in a new interpreter (this one has imported everything), with a clean
environment. `python -m bench.imports` shows what each import costs, and who pulls it in.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest_plugins = ["tests.store_fixtures"]

REPO = Path(__file__).parents[2]
# Loaded on first use only (bench/README.md lists what each costs): migrations, drafting,
# charts, the Supabase backend, the Shopify client, the demo's Shopify stand-in.
HEAVY = (
    "alembic",
    "mako",
    "llama_index",
    "bm25s",
    "numpy",
    "openai",
    "matplotlib",
    "PIL",
    "supabase",
    "postgrest",
    "httpx",
    "graphql",
)
SERVE_ENTRY = "import bot.cli.main, bot.runtime.eventloop, bot.serve"
LOADED = f"""
import json, sys
def loaded():
    return sorted({{name.split(".")[0] for name in sys.modules}} & set({HEAVY!r}))
def say(*found):
    print(json.dumps(found))
"""


def run(script: str, tmp_path: Path, **settings: str) -> list:
    """Run ``script`` (after `LOADED`) in a new interpreter; what its last ``say`` printed."""
    keep = ("PATH", "HOME", "LANG", "TMPDIR")
    env = {k: os.environ[k] for k in keep if k in os.environ} | {"PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-c", LOADED + script],
        env=env | settings,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return list(json.loads(done.stdout.strip().splitlines()[-1]))


def test_the_server_imports_no_heavy_library(tmp_path: Path) -> None:
    (found,) = run(f"{SERVE_ENTRY}\nsay(loaded())", tmp_path)
    assert found == [], (
        f"`occ-bot serve` imports {found} at start: import them where they are used "
        "(`python -X importtime -c '" + SERVE_ENTRY + "'` shows who pulls them in)"
    )


SERVE_AND_DRAFT = """
import asyncio
from bot.app import create_app
from bot.config import Settings
from bot.flows.intake import propose
from bot.services import build_services

async def main():
    services = await build_services(Settings())
    app = create_app(services, bolt=None)
    async with app.router.lifespan_context(app):  # migrated, jobs scheduled: serving
        await asyncio.sleep(1)  # idle a moment (work started at start-up would be loading)
        started = loaded()
        proposal = await propose(services, "Lisa", "Can I return the sweater I bought?")
        say(started, loaded(), proposal.agent, proposal.text)

asyncio.run(main())
"""


def test_a_restart_loads_neither_alembic_nor_the_drafters_until_a_draft(tmp_path: Path) -> None:
    settings = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'occ.db'}",
        "CHATWOOT_URL": "http://127.0.0.1:9",  # configured, so customers' messages get drafted
        "CHATWOOT_API_TOKEN": "token",
        "CHATWOOT_ACCOUNT_ID": "1",
    }
    first, _, _, _ = run(SERVE_AND_DRAFT, tmp_path, **settings)
    assert "alembic" in first  # a new database: the migrations ran

    started, drafted, agent, text = run(SERVE_AND_DRAFT, tmp_path, **settings)

    assert started == []
    assert {"llama_index", "bm25s"} <= set(drafted)
    assert agent == "Offline KB Drafter" and "return" in text.lower()


WARM = """
import asyncio
from bot.config import Settings
from bot.services import build_services

async def main():
    services = await build_services(Settings())
    built = loaded()
    await services.warm_drafters()
    say(built, loaded())
    await services.aclose()

asyncio.run(main())
"""


def test_the_openai_drafter_loads_openai_when_warmed_not_when_built(tmp_path: Path) -> None:
    built, warmed = run(
        WARM,
        tmp_path,
        DATABASE_URL=f"sqlite:///{tmp_path / 'occ.db'}",
        OPENAI_API_KEY="sk-test",
        OPENAI_BASE_URL="http://127.0.0.1:9/v1",
    )

    assert built == []
    assert {"openai", "llama_index"} <= set(warmed)


STORE_THEN_SESSION = """
import asyncio, sys
from bot.store import open_store

async def main():
    store = open_store(f"sqlite:///occ.db", None, None)
    await store.migrate()
    await store.get_draft("none-such")
    orm_with_the_store = "sqlalchemy.orm" in sys.modules
    await store.close()

    # Anyone else in the process may still use SQLAlchemy's asyncio ORM in full.
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine
    from bot.store.async_engine import AsyncEngine as StoreEngine

    engine = create_async_engine("sqlite+aiosqlite:///occ.db")
    async with AsyncSession(engine) as session:
        answer = (await session.execute(text("select 1"))).scalar_one()
    await engine.dispose()
    say(orm_with_the_store, answer, AsyncEngine is StoreEngine)

asyncio.run(main())
"""


def test_the_sql_store_works_without_the_orm_which_stays_importable(tmp_path: Path) -> None:
    orm_with_the_store, answer, one_engine_class = run(STORE_THEN_SESSION, tmp_path)

    assert orm_with_the_store is False  # its 6 MB and 0.1 s are not part of a start
    assert answer == 1 and one_engine_class


SERVE_IDLE = """
import asyncio, sys
from bot.app import create_app
from bot.config import Settings
from bot.services import build_services

async def main():
    services = await build_services(Settings())
    app = create_app(services, bolt=None)
    async with app.router.lifespan_context(app):  # migrated, jobs scheduled: serving
        await asyncio.sleep(1)
        say(sorted(name for name in sys.modules if name.startswith("sqlalchemy.dialects.")))

asyncio.run(main())
"""


@pytest.mark.parametrize(("flavour", "other"), [("sqlite", "postgresql"), ("postgres", "sqlite")])
def test_a_restart_loads_only_its_own_databases_sqlalchemy_dialect(
    flavour: str, other: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    if flavour == "sqlite":
        database = {"DATABASE_URL": f"sqlite:///{tmp_path / 'occ.db'}"}
    else:
        database = {"DATABASE_URL": request.getfixturevalue("pg_schema_url")}
    run(SERVE_IDLE, tmp_path, **database)  # a new database: migrated (Alembic loads both)

    (dialects,) = run(SERVE_IDLE, tmp_path, **database)  # the usual restart

    own = "postgresql" if flavour == "postgres" else "sqlite"
    assert f"sqlalchemy.dialects.{own}" in dialects
    # PostgreSQL's is 2 MB, SQLite's 0.7 MB: loaded by a JSONB column type, a dialect's
    # option on an index (`postgresql_where=`) or the other database's insert
    assert not [name for name in dialects if name.startswith(f"sqlalchemy.dialects.{other}")]
