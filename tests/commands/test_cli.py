"""The commands a user runs: demo, migrate, export, jobs, check."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from bot.blocks.ids import ActionId
from tests.harness import OPERATOR, BotUnderTest

ROOT = Path(__file__).resolve().parents[2]
CLEAN_ENV_KEYS = ("PATH", "HOME", "LANG", "TMPDIR")


def occ_bot(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None):
    """Run the real command in a fresh process with only the given environment."""
    base = {k: v for k, v in os.environ.items() if k in CLEAN_ENV_KEYS}
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        env=base | {"PYTHONPATH": str(ROOT)} | (env or {}),
        cwd=cwd or ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_migrate_then_migrate_again_is_a_no_op(tmp_path):
    env = {"DATABASE_URL": f"sqlite:///{tmp_path}/occ.db"}
    first = occ_bot("migrate", env=env)
    second = occ_bot("migrate", env=env)
    assert first.returncode == 0 and "applied" in first.stdout, first.stderr
    assert second.returncode == 0 and "up to date" in second.stdout


def test_migrate_applies_the_schema_to_postgres(postgres_url):
    result = occ_bot("migrate", env={"DATABASE_URL": postgres_url})
    assert result.returncode == 0, result.stderr
    import psycopg

    with psycopg.connect(postgres_url) as conn:
        columns = {
            row[0]
            for row in conn.execute(
                "select column_name from information_schema.columns "
                "where table_name = 'decision_log'"
            )
        }
    assert {
        "id",
        "created_at",
        "actor",
        "action",
        "scope",
        "subject_id",
        "conversation_id",
        "payload",
        "outcome",
    } <= columns


async def check_export(bot: BotUnderTest, database_url: str, clock, scenarios) -> None:
    """Approve a draft two minutes after its card, then export the log from `database_url`."""
    draft = await bot.posted_draft(scenarios["demo-1-order-status"].payload)
    clock.advance(minutes=2)
    await bot.click(ActionId.APPROVE, draft, OPERATOR)
    await bot.settle()

    result = occ_bot("export", env={"DATABASE_URL": database_url})
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["action"] for r in rows] == [
        "draft.received",
        "draft.posted",
        "draft.approved",
        "reply.sent",
    ]
    assert rows == sorted(rows, key=lambda r: r["created_at"])
    assert {r["subject_id"] for r in rows} == {draft.id}
    approved = rows[2]
    assert approved["actor"] == OPERATOR and approved["scope"] == "cx"
    assert approved["conversation_id"] == 101 and approved["outcome"] == "success"
    assert approved["payload"]["waited_seconds"] == 120
    assert approved["payload"]["text_after"] == scenarios["demo-1-order-status"].payload["draft"]

    since = occ_bot("export", "--since", rows[2]["created_at"], env={"DATABASE_URL": database_url})
    assert [json.loads(line)["action"] for line in since.stdout.splitlines()] == [
        "draft.approved",
        "reply.sent",
    ]
    until = occ_bot("export", "--until", rows[2]["created_at"], env={"DATABASE_URL": database_url})
    assert [json.loads(line)["action"] for line in until.stdout.splitlines()] == [
        "draft.received",
        "draft.posted",
    ]


async def test_export_writes_the_log_as_ndjson_oldest_first(
    bot: BotUnderTest, sqlite_url, clock, scenarios
):
    await check_export(bot, sqlite_url, clock, scenarios)


async def test_export_writes_the_log_as_ndjson_oldest_first_on_postgres(
    pg_bot: BotUnderTest, postgres_url, clock, scenarios
):
    await check_export(pg_bot, postgres_url, clock, scenarios)


def test_export_rejects_a_date_that_is_not_iso8601(tmp_path):
    result = occ_bot(
        "export", "--since", "yesterday", env={"DATABASE_URL": f"sqlite:///{tmp_path}/x.db"}
    )
    assert result.returncode == 2 and "ISO 8601" in result.stderr


def test_jobs_list_and_run(tmp_path):
    env = {"DATABASE_URL": f"sqlite:///{tmp_path}/occ.db"}
    listed = occ_bot("jobs", "list", env=env)
    assert "outbox" in listed.stdout
    ran = occ_bot("jobs", "run", "outbox", env=env)
    assert ran.returncode == 0 and "0 outbox messages tried" in ran.stdout, ran.stderr
    unknown = occ_bot("jobs", "run", "nope", env=env)
    assert unknown.returncode == 2 and "unknown job" in unknown.stderr


async def test_check_json_reports_each_configured_dependency(slack, chatwoot, tmp_path):
    from bot.cli.check import run_check
    from tests.harness import settings_for

    settings = settings_for(f"sqlite:///{tmp_path}/occ.db", slack, chatwoot)
    out = io.StringIO()
    code = await run_check(settings, as_json=True, out=out)
    report = json.loads(out.getvalue())
    assert code == 0 and report["ok"] is True
    assert [c["name"] for c in report["checks"]] == ["slack", "database", "chatwoot"]
    assert all(c["latency_ms"] >= 0 and c["detail"] for c in report["checks"])

    chatwoot.down(503)
    out = io.StringIO()
    code = await run_check(settings, as_json=True, out=out)
    report = json.loads(out.getvalue())
    assert code == 1 and report["ok"] is False
    [failed] = [c for c in report["checks"] if not c["ok"]]
    assert failed["name"] == "chatwoot" and "503" in failed["detail"]


@pytest.mark.parametrize("bad", ["OCC_HIGH_VALUE_USD=-1", "OCC_SLA_MINUTES_URGENT=0"])
def test_check_names_a_bad_setting(tmp_path, bad):
    key, value = bad.split("=")
    result = occ_bot("check", "--json", env={key: value}, cwd=tmp_path)
    report = json.loads(result.stdout)
    assert result.returncode == 1 and report["ok"] is False
    assert key.lower() in report["checks"][0]["detail"].lower()


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_serve_migrates_answers_healthz_and_stops_cleanly(tmp_path, stop):
    import sqlite3
    import time

    import httpx

    port = _free_port()
    base = {k: v for k, v in os.environ.items() if k in CLEAN_ENV_KEYS}
    env = base | {
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": f"sqlite:///{tmp_path}/occ.db",
        "SLACK_BOT_TOKEN": "xoxb-1234-the-workspace-never-answers",
        "SLACK_SIGNING_SECRET": "secret",
        "SLACK_API_URL": f"http://127.0.0.1:{_free_port()}/api/",  # loopback only, closed
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        status = None
        while time.monotonic() < deadline and status != 200:
            try:
                status = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code
            except httpx.TransportError:
                time.sleep(0.05)
        assert status == 200
        tables = {
            row[0]
            for row in sqlite3.connect(tmp_path / "occ.db").execute(
                "select name from sqlite_master where type = 'table'"
            )
        }
        assert {"drafts", "escalations", "decision_log"} <= tables
        process.send_signal(stop)
        output, _ = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, output[-2000:]
    assert "Chatwoot not configured" in output  # optional integrations say so once at start
