"""`occ-bot check`: configuration and each configured dependency, with latency."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from typing import TextIO

import httpx
from pydantic import ValidationError

from bot.config import Settings, describe_error

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
    except Exception as error:  # every failure is reported, none is fatal to the report
        detail, ok = f"{type(error).__name__}: {error}"[:300], False
    return Check(name, ok, round((time.perf_counter() - started) * 1000, 1), detail)


async def _slack(settings: Settings) -> str:
    from bot.services import slack_client

    client = slack_client(settings)
    response = await client.auth_test()
    return f"team {response.get('team')}, bot user {response.get('user')}"


async def _database(settings: Settings) -> str:
    from bot.services import store_for

    store = store_for(settings)
    try:
        await store.ping()
    finally:
        await store.close()
    return (
        settings.effective_database_url.split("@")[-1]
        if settings.effective_database_url
        else (f"Supabase REST at {settings.supabase_url}")
    )


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
    finally:
        await client.aclose()
    return f"account {settings.chatwoot_account_id} at {settings.chatwoot_url}"


async def _shopify(settings: Settings) -> str:
    assert settings.shopify_shop and settings.shopify_admin_token
    shop = settings.shopify_shop
    base = shop if shop.startswith(("http://", "https://")) else f"https://{shop}"
    async with httpx.AsyncClient(timeout=TIMEOUT) as http:
        response = await http.post(
            f"{base.rstrip('/')}/admin/api/2025-01/graphql.json",
            json={"query": "{ shop { name } }"},
            headers={"X-Shopify-Access-Token": settings.shopify_admin_token.get_secret_value()},
        )
    response.raise_for_status()
    body = response.json()
    if body.get("errors"):
        raise RuntimeError(str(body["errors"])[:200])
    return f"shop {body['data']['shop']['name']}"


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


def configured_probes(settings: Settings) -> dict[str, Callable[[], Awaitable[str]]]:
    probes: dict[str, Callable[[], Awaitable[str]]] = {}
    if settings.slack_bot_token:
        probes["slack"] = lambda: _slack(settings)
    probes["database"] = lambda: _database(settings)
    if settings.chatwoot_enabled:
        probes["chatwoot"] = lambda: _chatwoot(settings)
    if settings.shopify_shop and settings.shopify_admin_token:
        probes["shopify"] = lambda: _shopify(settings)
    if settings.openai_api_key:
        probes["openai"] = lambda: _openai(settings)
    return probes


async def run_check(settings: Settings | None, *, as_json: bool, out: TextIO) -> int:
    try:
        settings = settings or Settings()
    except ValidationError as error:
        problem = describe_error(error)
        return _report([Check("config", False, 0.0, problem)], as_json, out, settings=None)
    probes = configured_probes(settings)
    checks = await asyncio.gather(*(_timed(name, probe) for name, probe in probes.items()))
    return _report(list(checks), as_json, out, settings=settings)


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
    return 0 if ok else 1
