"""`occ-bot check`: a pre-flight of the configuration and each configured dependency, with
latency. It fails on a half-set integration, a placeholder, managers who are not Slack user
IDs (or none), and a channel the bot cannot work in; each FAIL says how to fix it. It
prints no secret and creates nothing (no database file, no channel membership)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from typing import TextIO

from pydantic import ValidationError
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.cli.redact import redact_url, scrub, sqlite_file
from bot.config import Settings, describe_error
from bot.domain import JobRun, SourceStatus
from bot.runtime.workspace import Workspace

TIMEOUT = 10.0


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    latency_ms: float
    detail: str


async def _timed(name: str, probe: Callable[[], Awaitable[str]]) -> Check:
    started = time.perf_counter()
    try:
        detail = await asyncio.wait_for(probe(), timeout=TIMEOUT)
        ok = True
    except CheckFailed as error:
        detail, ok = str(error), False
    except Exception as error:  # every failure is reported, none is fatal to the report
        detail, ok = f"{type(error).__name__}: {error}"[:300] + f"; {FIXES[name]}", False
    return Check(name, ok, round((time.perf_counter() - started) * 1000, 1), detail)


@dataclass
class _SlackSide:
    slack: AsyncWebClient
    workspace: Workspace


async def _slack(settings: Settings) -> str:
    """The token (auth.test), then each configured channel as the bot would find it."""
    from bot.connect import REJECTED_TOKEN, examine
    from bot.services import slack_client

    side = _SlackSide(slack_client(settings), Workspace())
    try:
        response = await side.slack.auth_test()
    except SlackApiError as error:
        code = str(error.response.get("error"))
        if code in REJECTED_TOKEN:
            message = f"SLACK_BOT_TOKEN rejected ({code}): it {REJECTED_TOKEN[code]}"
            raise CheckFailed(message) from None
        raise
    found, problems = [], []
    now = datetime.now(UTC)
    for channel, setting in settings.channels().items():
        problem, detail = await examine(side, channel, setting, join=False, now=now)
        if problem is None:
            found.append(detail)
        else:
            problems.append(problem.fix)
    said = f"team {response.get('team')}, bot user {response.get('user')}"
    if problems:
        raise CheckFailed(f"{said}; cannot work in: " + "; ".join(problems))
    return f"{said}; " + "; ".join(found)


async def _database(settings: Settings) -> str:
    from bot.services import store_for

    url = settings.effective_database_url
    where = redact_url(url) if url else f"Supabase REST at {redact_url(settings.supabase_url)}"
    file = sqlite_file(url)
    if file is not None and not file.exists():
        return f"{where}: no database yet; `occ-bot serve` creates it"  # check creates nothing
    store = store_for(settings)
    try:
        await store.ping()
    finally:
        await store.close()
    return where


async def _chatwoot(settings: Settings) -> str:
    from bot.integrations.chatwoot import ChatwootClient

    assert settings.chatwoot_url and settings.chatwoot_api_token
    client = ChatwootClient(
        settings.chatwoot_url,
        settings.chatwoot_api_token.get_secret_value(),
        settings.chatwoot_account_id or "",
    )
    try:
        await client.ping()
        owner, role = await client.role()
    finally:
        await client.aclose()
    where = f"account {settings.chatwoot_account_id} at {redact_url(settings.chatwoot_url)}"
    if role != "administrator":
        raise CheckFailed(
            f"{where}: CHATWOOT_API_TOKEN belongs to {owner}, an {role}, who sees only their "
            "own inboxes, so the CX scan would miss breaches elsewhere; use an "
            "administrator's access token (Profile settings -> Access Token)"
        )
    return f"{where}, token of {owner} (administrator)"


async def _shopify(settings: Settings) -> str:
    """Auth, the API version Shopify serves against the pinned one, and throttle headroom."""
    from bot.integrations.shopify import API_VERSION, ShopifyClient

    assert settings.shopify_shop and settings.shopify_admin_token
    client = ShopifyClient(
        settings.shopify_shop, settings.shopify_admin_token.get_secret_value(), timeout=TIMEOUT
    )
    try:
        shop = (await client.query("{ shop { name myshopifyDomain } }"))["shop"]
        sees_all_orders = await client.sees_all_orders()
    finally:
        await client.aclose()
    if client.served_version and client.served_version != API_VERSION:
        raise RuntimeError(
            f"Shopify serves API {client.served_version}, not the pinned {API_VERSION}: "
            "the pinned version is no longer supported; upgrade occ-bot"
        )
    bucket = client.bucket
    headroom = (
        f"throttle headroom {bucket.available:g}/{bucket.maximum:g} points "
        f"(+{bucket.restore_rate:g}/s)"
        if bucket
        else "no throttle report"
    )
    all_orders = (
        "read_all_orders granted"
        if sees_all_orders
        else "read_all_orders missing: Shopify shows only the last 60 days of orders (an "
        "older order a customer names is not called missing in a draft); add the scope to "
        "the app"
    )
    said = f"shop {shop['name']} ({shop['myshopifyDomain']}), API {API_VERSION}, {headroom}"
    return f"{said}; {all_orders}"


async def _openai(settings: Settings) -> str:
    from openai import AsyncOpenAI

    assert settings.openai_api_key
    client = AsyncOpenAI(
        api_key=settings.openai_api_key.get_secret_value(),
        base_url=settings.openai_base_url,
        timeout=TIMEOUT,
        max_retries=0,
    )
    try:
        await client.models.retrieve(settings.openai_model)
    finally:
        await client.close()
    return f"model {settings.openai_model} available"


class CheckFailed(Exception):
    """A probe's failure whose text already says what to do."""


# What to look at when a dependency's probe fails.
FIXES = {
    "slack": "check SLACK_BOT_TOKEN (the Bot User OAuth Token, xoxb-…) and SLACK_API_URL",
    "database": "check DATABASE_URL (is the server up and the password right?), or "
    "SUPABASE_URL and SUPABASE_SERVICE_ROLE_KEY",
    "chatwoot": "check CHATWOOT_URL, CHATWOOT_ACCOUNT_ID and CHATWOOT_API_TOKEN (an "
    "administrator's access token: Profile settings -> Access Token)",
    "shopify": "check SHOPIFY_SHOP and SHOPIFY_ADMIN_TOKEN (an Admin API access token)",
    "openai": "check OPENAI_API_KEY, OPENAI_BASE_URL and OCC_OPENAI_MODEL",
}


def configured_probes(settings: Settings) -> dict[str, Callable[[], Awaitable[str]]]:
    """A probe for each integration whose settings are all there (see `config_checks` for
    the others)."""
    probes: dict[str, Callable[[], Awaitable[str]]] = {}
    if settings.slack_bot_token and (settings.slack_signing_secret or settings.slack_app_token):
        probes["slack"] = lambda: _slack(settings)
    probes["database"] = lambda: _database(settings)
    if settings.chatwoot_enabled:
        probes["chatwoot"] = lambda: _chatwoot(settings)
    if settings.shopify_enabled:
        probes["shopify"] = lambda: _shopify(settings)
    if settings.openai_api_key:
        probes["openai"] = lambda: _openai(settings)
    return probes


def config_checks(settings: Settings) -> list[Check]:
    """What is wrong before anything is asked of a service: a half-set integration (as a
    failed check of its own name), no Slack at all, no managers."""
    checks = []
    for problem in settings.half_set():
        integration, _, detail = problem.partition(": ")
        checks.append(Check(integration.lower(), False, 0.0, f"half configured: {detail}"))
    if not (settings.slack_bot_token or settings.slack_signing_secret or settings.slack_app_token):
        checks.append(
            Check(
                "slack",
                False,
                0.0,
                "not configured: set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET (HTTP mode), or "
                "SLACK_BOT_TOKEN and SLACK_APP_TOKEN (Socket Mode); README, Connect Slack",
            )
        )
    if not settings.managers:
        checks.append(
            Check(
                "config",
                False,
                0.0,
                "OCC_MANAGERS is empty: nobody is mentioned on Urgent escalations, and nobody "
                "can claim or resolve them; set it to the managers' Slack user IDs (U…), "
                "comma-separated",
            )
        )
    return checks


async def run_check(settings: Settings | None, *, as_json: bool, out: TextIO) -> int:
    try:
        settings = settings or Settings()
    except ValidationError as error:
        problem = describe_error(error)
        return _report([Check("config", False, 0.0, problem)], as_json, out, settings=None)
    probes = configured_probes(settings)
    probed = await asyncio.gather(*(_timed(name, probe) for name, probe in probes.items()))
    checks = config_checks(settings) + list(probed)
    database = next((c for c in checks if c.name == "database"), None)
    if database is not None and database.ok and _database_exists(settings):
        checks = await _with_history(settings, checks)
    checks = [replace(c, detail=scrub(c.detail, settings)) for c in checks]
    return _report(checks, as_json, out, settings=settings)


def _database_exists(settings: Settings) -> bool:
    file = sqlite_file(settings.effective_database_url)
    return file is None or file.exists()


async def _with_history(settings: Settings, checks: list[Check]) -> list[Check]:
    """Add what the bot itself recorded: each data source's freshness (on its check) and
    each job's last run (on the database's)."""
    from bot.jobs import JOBS
    from bot.services import store_for

    store = store_for(settings)
    try:
        sources = {s.name: s for s in await store.data_sources()}
        runs = {name: await store.last_run(name) for name in JOBS}
    except Exception:  # e.g. the schema is not migrated yet: the probes still stand
        return checks
    finally:
        await store.close()
    now = datetime.now(UTC)
    found = []
    for check in checks:
        source = sources.get(check.name)
        if source is not None:
            check = replace(check, detail=f"{check.detail}; {_freshness(source, now, settings)}")
        if check.name == "database":
            check = replace(check, detail=f"{check.detail}; jobs: {_jobs(runs, now)}")
        found.append(check)
    return found


def _freshness(source: SourceStatus, now: datetime, settings: Settings) -> str:
    if source.last_ok_at is None:
        said = "never read successfully"
    else:
        minutes = (now - source.last_ok_at).total_seconds() / 60
        stale = "STALE: " if minutes > settings.data_stale_minutes else ""
        said = f"{stale}last good read {minutes:.0f} min ago"
    if (
        source.last_error
        and source.last_error_at
        and (source.last_ok_at is None or source.last_error_at > source.last_ok_at)
    ):
        said += f" (since then: {source.last_error[:120]})"
    return said


def _jobs(runs: dict[str, JobRun | None], now: datetime) -> str:
    said = []
    for name, run in runs.items():
        if run is None:
            said.append(f"{name} never")
        else:
            minutes = (now - run.started_at).total_seconds() / 60
            said.append(f"{name} {minutes:.0f} min ago ({run.outcome.value})")
    return ", ".join(said)


def _report(checks: list[Check], as_json: bool, out: TextIO, *, settings: Settings | None) -> int:
    ok = all(check.ok for check in checks)
    if as_json:
        out.write(json.dumps({"ok": ok, "checks": [asdict(c) for c in checks]}) + "\n")
        return 0 if ok else 1
    out.write(f"{'check':<10} {'result':<6} {'ms':>8}  detail\n")
    for check in checks:
        result = "ok" if check.ok else "FAIL"
        out.write(f"{check.name:<10} {result:<6} {check.latency_ms:>8.1f}  {check.detail}\n")
    for note in settings.startup_notes() if settings else []:
        out.write(f"{'-':<10} {'off':<6} {'':>8}  {note}\n")
    for warning in settings.startup_warnings() if settings else []:
        if not warning.startswith("OCC_MANAGERS"):  # a FAIL above
            out.write(f"{'-':<10} {'warn':<6} {'':>8}  {warning}\n")
    return 0 if ok else 1
