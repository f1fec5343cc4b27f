"""First contact with a real workspace, through the real `occ-bot` process: a token Slack
rejects stops the start naming the variable; a Slack that does not answer is degraded, not
fatal; half-set and placeholder configurations are refused; the bot joins the public
channels it works in and names the ones it cannot, with the fix."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest

from bot.demo.standins.slack import DEFAULT_TOKEN, SlackStandin
from tests.harness import SIGNING_SECRET

ROOT = Path(__file__).resolve().parents[2]
CLEAN_ENV_KEYS = ("PATH", "HOME", "LANG", "TMPDIR")
MANAGER = "U0MANAGER1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def environment(tmp_path: Path, **values: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if k in CLEAN_ENV_KEYS}
    return base | {
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": f"sqlite:///{tmp_path}/occ.db",
        "OCC_SPOOL_DIR": str(tmp_path / "spool"),
        "OCC_MANAGERS": MANAGER,
        # Only loopback is ever a target: an unset SLACK_API_URL would mean slack.com.
        "SLACK_API_URL": "http://127.0.0.1:9/api/",
        **values,
    }


def slack_env(slack: SlackStandin, token: str = DEFAULT_TOKEN) -> dict[str, str]:
    return {
        "SLACK_BOT_TOKEN": token,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack.api_url,
    }


async def occ_bot(*args: str, env: dict[str, str], cwd: Path) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.cli",
        *args,
        env=env,
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


@asynccontextmanager
async def serving(env: dict[str, str], cwd: Path) -> AsyncIterator[tuple[str, list[str]]]:
    """`occ-bot serve` running until /healthz answers; yields its URL and its log so far."""
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.cli",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        env=env,
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    log: list[str] = []

    async def read_log() -> None:
        assert process.stdout is not None
        async for line in process.stdout:
            log.append(line.decode())

    reading = asyncio.create_task(read_log())
    try:
        async with httpx.AsyncClient(timeout=1) as http:
            for _ in range(600):
                if process.returncode is not None:
                    break
                try:
                    if (await http.get(f"{url}/healthz")).status_code == 200:
                        break
                except httpx.TransportError:
                    await asyncio.sleep(0.05)
            else:
                raise AssertionError("serve did not answer /healthz within 30 s")
        assert process.returncode is None, "".join(log)[-3000:]
        yield url, log
    finally:
        if process.returncode is None:
            process.terminate()
        await asyncio.wait_for(process.wait(), timeout=30)
        await asyncio.wait_for(reading, timeout=5)


# -- a token Slack rejects ----------------------------------------------------------------------


@pytest.mark.parametrize("answer", ["invalid_auth", "token_revoked"])
async def test_serve_exits_naming_the_token_slack_rejects(tmp_path, slack, answer):
    token = "xoxb-1234-from-another-workspace"
    if answer == "token_revoked":
        slack.revoked.add(token)
    code, _, err = await occ_bot(
        "serve",
        "--port",
        str(free_port()),
        env=environment(tmp_path, **slack_env(slack, token)),
        cwd=tmp_path,
    )
    assert code == 2, err[-2000:]
    assert f"Slack rejected SLACK_BOT_TOKEN ({answer})" in err
    assert "reinstall" in err or "OAuth & Permissions" in err  # and what to do about it
    assert "Traceback" not in err
    assert [c.method for c in slack.calls()] == ["auth.test"]  # nothing else was tried


async def test_check_names_the_rejected_token_and_how_to_fix_it(tmp_path, slack):
    slack.revoked.add("xoxb-1234-old")
    code, out, _ = await occ_bot(
        "check",
        "--json",
        env=environment(tmp_path, **slack_env(slack, "xoxb-1234-old")),
        cwd=tmp_path,
    )
    report = json.loads(out)
    [check] = [c for c in report["checks"] if c["name"] == "slack"]
    assert code == 1 and report["ok"] is False and check["ok"] is False
    assert "SLACK_BOT_TOKEN rejected (token_revoked)" in check["detail"]
    assert "reinstall the app" in check["detail"]


async def test_a_slack_that_does_not_answer_at_start_is_degraded_not_fatal(tmp_path):
    env = environment(
        tmp_path,
        SLACK_BOT_TOKEN="xoxb-1234-real-looking",
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=f"http://127.0.0.1:{free_port()}/api/",  # nothing listens there
    )
    async with serving(env, tmp_path) as (url, log), httpx.AsyncClient() as http:
        health = (await http.get(f"{url}/healthz")).json()
    assert health["status"] == "ok" and "slack" in health["degraded"]
    assert any("Slack did not answer auth.test" in line for line in log)


async def test_when_slack_answers_again_the_bot_connects_and_joins_its_channels(tmp_path, slack):
    from urllib.parse import urlsplit

    from tests.tcp_proxy import TcpProxy

    async with TcpProxy("127.0.0.1", urlsplit(slack.url).port) as proxy:
        proxy.cut()  # Slack unreachable at start
        env = environment(tmp_path, **slack_env(slack)) | {
            "SLACK_API_URL": f"http://127.0.0.1:{proxy.port}/api/"
        }
        async with serving(env, tmp_path) as (url, _), httpx.AsyncClient() as http:
            assert "slack" in (await http.get(f"{url}/healthz")).json()["degraded"]
            proxy.restore()
            for _ in range(300):  # the first retry comes 5 s after the start
                if "slack" not in (await http.get(f"{url}/healthz")).json()["degraded"]:
                    break
                await asyncio.sleep(0.1)
            health = (await http.get(f"{url}/healthz")).json()
    assert health["degraded"] == {} and health["channels"] == {}
    assert slack.is_member("#occ-approvals") and slack.is_member("#occ-reliability")


# -- configurations that cannot work --------------------------------------------------------------

HALF_SET = {
    "bot token only": ({"SLACK_BOT_TOKEN": "xoxb-1"}, "slack", "SLACK_SIGNING_SECRET"),
    "signing secret only": ({"SLACK_SIGNING_SECRET": "abc123"}, "slack", "SLACK_BOT_TOKEN"),
    "app token only": ({"SLACK_APP_TOKEN": "xapp-1"}, "slack", "SLACK_BOT_TOKEN"),
    "Chatwoot URL only": ({"CHATWOOT_URL": "http://127.0.0.1:9"}, "chatwoot", "CHATWOOT_API_TOKEN"),
    "Shopify shop only": ({"SHOPIFY_SHOP": "shop.myshopify.com"}, "shopify", "SHOPIFY_ADMIN_TOKEN"),
    "Shopify token only": ({"SHOPIFY_ADMIN_TOKEN": "shpat_1"}, "shopify", "SHOPIFY_SHOP"),
}


@pytest.mark.parametrize("values, name, missing", HALF_SET.values(), ids=HALF_SET.keys())
async def test_a_half_set_integration_fails_check_and_serve(tmp_path, values, name, missing):
    env = environment(tmp_path, **values)
    code, out, _ = await occ_bot("check", "--json", env=env, cwd=tmp_path)
    report = json.loads(out)
    failed = [c for c in report["checks"] if c["name"] == name and not c["ok"]]
    assert code == 1 and report["ok"] is False
    assert failed and missing in failed[0]["detail"]

    code, _, err = await occ_bot("serve", "--port", str(free_port()), env=env, cwd=tmp_path)
    assert code == 2 and missing in err and "Traceback" not in err
    assert not (tmp_path / "occ.db").exists()


async def test_check_fails_with_nothing_set_and_creates_nothing(tmp_path):
    env = environment(tmp_path)
    del env["OCC_MANAGERS"], env["DATABASE_URL"]
    code, out, _ = await occ_bot("check", "--json", env=env, cwd=tmp_path)
    report = json.loads(out)
    failed = {c["name"]: c["detail"] for c in report["checks"] if not c["ok"]}
    assert code == 1 and report["ok"] is False
    assert "SLACK_BOT_TOKEN" in failed["slack"]
    assert "OCC_MANAGERS is empty" in failed["config"]
    assert list(tmp_path.iterdir()) == []  # no ./occ.db, no spool


@pytest.mark.parametrize(
    "name, value",
    [("SLACK_BOT_TOKEN", "xoxb-..."), ("OCC_INTAKE_TOKEN", "change-me-to-a-long-random-string")],
)
async def test_a_placeholder_from_the_example_is_refused_by_name(tmp_path, slack, name, value):
    env = environment(tmp_path, **slack_env(slack)) | {name: value}
    code, out, _ = await occ_bot("check", "--json", env=env, cwd=tmp_path)
    [config] = [c for c in json.loads(out)["checks"] if c["name"] == "config"]
    assert code == 1 and f"{name}: still the example's placeholder" in config["detail"]
    code, _, err = await occ_bot("serve", "--port", str(free_port()), env=env, cwd=tmp_path)
    assert code == 2 and name in err and "placeholder" in err
    assert slack.calls() == []  # refused before anything was asked of Slack


@pytest.mark.parametrize("value", ["morgan", "U0MANAGER1,@dana"])
async def test_managers_who_are_not_slack_user_ids_are_refused(tmp_path, value):
    code, out, _ = await occ_bot(
        "check", "--json", env=environment(tmp_path, OCC_MANAGERS=value), cwd=tmp_path
    )
    [config] = json.loads(out)["checks"]
    assert (
        code == 1
        and "OCC_MANAGERS" in config["detail"]
        and "not Slack user IDs" in config["detail"]
    )


async def test_check_never_prints_a_password_or_token(tmp_path, slack, chatwoot, postgres_url):
    password, token = "s3cr3t-pw", chatwoot.token
    database = postgres_url.replace("postgres@", f"postgres:{password}@") + f"?password={password}"
    env = environment(
        tmp_path,
        **slack_env(slack),
        DATABASE_URL=database,
        CHATWOOT_URL=chatwoot.url.replace("http://", f"http://agent:{password}@"),
        CHATWOOT_API_TOKEN=token,
        CHATWOOT_ACCOUNT_ID=str(chatwoot.account_id),
    )
    for args in (("check",), ("check", "--json")):
        _, out, err = await occ_bot(*args, env=env, cwd=tmp_path)
        for secret in (password, token, DEFAULT_TOKEN, SIGNING_SECRET):
            assert secret not in out + err, f"{args} printed a secret"
        assert "postgres:***@" in out and "agent:***@" in out, out


# -- channels as real Slack has them ------------------------------------------------------------


def workspace_invited_nowhere(slack: SlackStandin) -> None:
    """Approvals and escalations public (the bot in neither), training private, the
    reliability channel archived, the digest's channel never created."""
    slack.add_channel("occ-training", private=True)
    slack.archive("#occ-reliability")


async def test_serve_joins_public_channels_and_names_the_ones_it_cannot_work_in(tmp_path, slack):
    workspace_invited_nowhere(slack)
    env = environment(tmp_path, **slack_env(slack), OCC_DIGEST_CHANNEL="#occ-weekly")
    async with serving(env, tmp_path) as (url, log), httpx.AsyncClient() as http:
        health = (await http.get(f"{url}/healthz")).json()
    assert slack.is_member("#occ-approvals") and slack.is_member("#occ-escalations")
    assert not slack.is_member("#occ-training") and not slack.is_member("#occ-reliability")
    channels = health["channels"]
    assert set(channels) == {"#occ-training", "#occ-reliability", "#occ-weekly"}
    assert "/invite @occ-bot" in channels["#occ-training"]
    assert "archived" in channels["#occ-reliability"]
    assert "OCC_DIGEST_CHANNEL" in channels["#occ-weekly"]
    assert {"channel #occ-training", "channel #occ-reliability"} <= set(health["degraded"])
    said = "".join(log)
    assert said.count("cannot work in #occ-training") == 1  # named once at start
    assert "Traceback" not in said


async def test_serve_joins_every_channel_when_one_is_set_by_its_id(tmp_path, slack):
    # The channels are looked at together once one "#name" has listed the workspace's
    # channels: a channel given by ID must not leave the names unlisted (and "not found").
    for name in ("occ-approvals", "occ-escalations", "occ-reliability", "occ-training"):
        slack.add_channel(name)
    slack.add_channel("occ-digest")
    env = environment(
        tmp_path,
        **slack_env(slack),
        OCC_APPROVALS_CHANNEL=slack.channel_id("#occ-approvals"),
        OCC_DIGEST_CHANNEL="#occ-digest",
    )
    async with serving(env, tmp_path) as (url, _), httpx.AsyncClient() as http:
        health = (await http.get(f"{url}/healthz")).json()
    assert health["channels"] == {}, health
    for name in ("approvals", "escalations", "reliability", "training", "digest"):
        assert slack.is_member(f"#occ-{name}")
    assert len(slack.calls("conversations.list")) == 1


async def test_check_names_channels_the_bot_cannot_work_in_and_joins_none(tmp_path, slack):
    workspace_invited_nowhere(slack)
    code, out, _ = await occ_bot(
        "check", "--json", env=environment(tmp_path, **slack_env(slack)), cwd=tmp_path
    )
    [check] = [c for c in json.loads(out)["checks"] if c["name"] == "slack"]
    assert code == 1 and check["ok"] is False
    assert "#occ-training" in check["detail"] and "/invite @occ-bot" in check["detail"]
    assert "#occ-reliability is archived" in check["detail"]
    assert slack.calls("conversations.join") == []  # check only looks
    assert not slack.is_member("#occ-approvals")


async def test_check_passes_on_a_workspace_the_bot_can_work_in(tmp_path, slack):
    code, out, _ = await occ_bot(
        "check", "--json", env=environment(tmp_path, **slack_env(slack)), cwd=tmp_path
    )
    report = json.loads(out)
    assert code == 0 and report["ok"] is True, out
    [check] = [c for c in report["checks"] if c["name"] == "slack"]
    assert "#occ-approvals" in check["detail"] and "joins it when it starts" in check["detail"]


# -- scripts/run --------------------------------------------------------------------------------

RUN_CASES = {
    "bot token, no signing secret": (
        {"SLACK_BOT_TOKEN": "xoxb-1"},
        "SLACK_SIGNING_SECRET is unset",
    ),
    "signing secret, no bot token": ({"SLACK_SIGNING_SECRET": "abc"}, "SLACK_BOT_TOKEN is unset"),
    "Socket Mode without a bot token": ({"SLACK_APP_TOKEN": "xapp-1"}, "Socket Mode needs both"),
}


@pytest.mark.parametrize("values, said", RUN_CASES.values(), ids=RUN_CASES.keys())
async def test_scripts_run_names_the_missing_credential_instead_of_running_the_demo(
    tmp_path, values, said
):
    base = {k: v for k, v in os.environ.items() if k in CLEAN_ENV_KEYS}
    process = await asyncio.create_subprocess_exec(
        str(ROOT / "scripts" / "run"),
        env=base | values,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=300)
    assert process.returncode == 2
    assert said in err.decode()
    assert "rehearsal" not in out.decode() and "No Slack credentials" not in out.decode()


# -- quiet logs ---------------------------------------------------------------------------------


async def test_a_chatwoot_that_is_down_is_one_warning_line_not_a_traceback(tmp_path, slack):
    env = environment(
        tmp_path,
        **slack_env(slack),
        CHATWOOT_URL=f"http://127.0.0.1:{free_port()}",  # nothing listens there
        CHATWOOT_API_TOKEN="cw-token-1",
        CHATWOOT_ACCOUNT_ID="1",
    )
    code, _, err = await occ_bot("jobs", "run", "cx-scan", env=env, cwd=tmp_path)
    assert code == 1
    assert "Traceback" not in err
    [line] = [line for line in err.splitlines() if "cx-scan failed" in line]
    assert "WARNING" in line and "cannot reach Chatwoot" in line


async def test_a_fresh_start_logs_one_migration_line_and_no_library_warnings(tmp_path, slack):
    async with serving(environment(tmp_path, **slack_env(slack)), tmp_path) as (_, log):
        pass
    said = "".join(log)
    assert len([line for line in log if "migration" in line.lower()]) == 1, said
    assert "will be unused" not in said and "Running upgrade" not in said
    assert "Traceback" not in said


async def test_check_fails_on_a_chatwoot_token_that_is_not_an_administrators(tmp_path, slack):
    """A non-administrator's token lists only its own inboxes (docs/real-services.md)."""
    from bot.demo.standins.chatwoot import ChatwootAgent, ChatwootStandin

    agent = ChatwootAgent(7, "Olivia Operator", "olivia@example.com", role="agent")
    async with ChatwootStandin(agents=[agent]) as chatwoot:
        env = environment(
            tmp_path,
            **slack_env(slack),
            CHATWOOT_URL=chatwoot.url,
            CHATWOOT_API_TOKEN=chatwoot.token,
            CHATWOOT_ACCOUNT_ID=str(chatwoot.account_id),
        )
        code, out, _ = await occ_bot("check", "--json", env=env, cwd=tmp_path)
    [check] = [c for c in json.loads(out)["checks"] if c["name"] == "chatwoot"]
    assert code == 1 and check["ok"] is False
    assert "Olivia Operator, an agent" in check["detail"]
    assert "administrator's access token" in check["detail"]


async def test_check_says_whether_shopify_shows_orders_older_than_60_days(tmp_path, slack):
    from bot.demo.standins.shopify import DEFAULT_SCOPES, DEFAULT_TOKEN, ShopifyStandin

    for scopes, said in (
        (DEFAULT_SCOPES, "read_all_orders missing"),
        ((*DEFAULT_SCOPES, "read_all_orders"), "read_all_orders granted"),
    ):
        async with ShopifyStandin(scopes=scopes) as shop:
            env = environment(
                tmp_path,
                **slack_env(slack),
                SHOPIFY_SHOP=shop.url,
                SHOPIFY_ADMIN_TOKEN=DEFAULT_TOKEN,
            )
            _, out, _ = await occ_bot("check", "--json", env=env, cwd=tmp_path)
        [check] = [c for c in json.loads(out)["checks"] if c["name"] == "shopify"]
        assert check["ok"] is True and said in check["detail"], check


async def test_check_and_serve_warn_while_the_webhook_shares_the_intake_token(tmp_path, slack):
    env = environment(tmp_path, **slack_env(slack), OCC_INTAKE_TOKEN="a-long-random-intake-1")
    _, out, _ = await occ_bot("check", env=env, cwd=tmp_path)
    assert "warn" in out and "CHATWOOT_WEBHOOK_TOKEN is unset" in out
    async with serving(env, tmp_path) as (_, log):
        pass
    assert any("WARNING" in line and "CHATWOOT_WEBHOOK_TOKEN is unset" in line for line in log)

    env["CHATWOOT_WEBHOOK_TOKEN"] = "a-long-random-webhook-1"
    _, out, _ = await occ_bot("check", env=env, cwd=tmp_path)
    assert "CHATWOOT_WEBHOOK_TOKEN" not in out


async def test_serve_refuses_a_spool_folder_others_can_write_to(tmp_path, slack):
    spool = tmp_path / "spool"
    spool.mkdir()
    spool.chmod(0o777)
    env = environment(tmp_path, **slack_env(slack))
    code, _, err = await occ_bot("serve", "--port", str(free_port()), env=env, cwd=tmp_path)
    assert code == 2 and "OCC_SPOOL_DIR refused" in err and "chmod 700" in err
