"""`occ-bot serve` as a child process, and how the benchmark talks to it like Slack would."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bench.common import HOST, INTAKE_TOKEN, OPERATOR, SIGNING_SECRET
from bench.procs import OCC_BOT, Child, child_env, free_port, spawn, wait_healthy
from bench.standins_client import Standins
from bot.blocks.ids import ActionId
from bot.demo.standins.interactions import block_action, form_body, signature_headers
from bot.demo.standins.slack import DEFAULT_TOKEN
from bot.domain import Draft
from bot.store import Store, open_store


def occ_env(standins: Standins, database_url: str) -> dict[str, str]:
    return child_env(
        {
            "SLACK_BOT_TOKEN": DEFAULT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": f"{standins.slack_url}/api/",
            "DATABASE_URL": database_url,
            "CHATWOOT_URL": standins.chatwoot_url,
            "CHATWOOT_API_TOKEN": standins.chatwoot_token,
            "CHATWOOT_ACCOUNT_ID": str(standins.chatwoot_account),
            "OCC_INTAKE_TOKEN": INTAKE_TOKEN,
            "OCC_OPERATORS": "",
            # The stand-ins limit posts only in the reminders phase, which paces to their rate.
            "OCC_SLACK_POSTS_PER_SECOND": "1000",
            "OCC_SLACK_POST_BURST": "1000",
        }
    )


def draft_payload(template: dict[str, Any], n: int, tag: str) -> dict[str, Any]:
    """A distinct, low-risk draft any operator may approve (conversation id from `n`)."""
    return template | {
        "conversation_id": n,
        "external_id": f"bench-{tag}-{n}",
    }


def click_request(draft: Draft, user: str = OPERATOR) -> tuple[str, dict[str, str]]:
    """A signed Approve click on `draft`'s card: (form body, headers)."""
    assert draft.card is not None
    payload = block_action(
        user=user,
        action_id=ActionId.APPROVE.value,
        value=draft.id,
        channel=draft.card.channel,
        message_ts=draft.card.ts,
    )
    body = form_body(payload)
    return body, signature_headers(SIGNING_SECRET, body)


@dataclass
class OccBot:
    child: Child
    url: str
    store: Store
    http: httpx.AsyncClient

    @property
    def events_url(self) -> str:
        return f"{self.url}/slack/events"

    async def pending_work(self) -> int | None:
        """Background tasks pending, from /healthz; None while it answers 503 (store busy)."""
        response = await self.http.get(f"{self.url}/healthz")
        if response.status_code == 503:
            return None
        response.raise_for_status()
        return int(response.json()["background_tasks"])

    async def wait_drained(self, timeout: float) -> dict[str, Any]:
        """Poll /healthz until no background work is pending (bounded by `timeout`)."""
        started = time.perf_counter()
        first = pending = await self.pending_work()
        unavailable = 0 if pending is not None else 1
        while pending != 0 and time.perf_counter() - started < timeout:
            await asyncio.sleep(0.1)
            pending = await self.pending_work()
            unavailable += pending is None
        if pending != 0:
            raise RuntimeError(f"occ-bot background work not drained after {timeout} s")
        return {
            "backlog_after_run": first,
            "drain_seconds": round(time.perf_counter() - started, 3),
            "healthz_503_while_draining": unavailable,
        }

    async def post_draft(self, payload: dict[str, Any]) -> str:
        for attempt in range(3):
            try:
                response = await self.http.post(
                    f"{self.url}/drafts",
                    json=payload,
                    headers={"Authorization": f"Bearer {INTAKE_TOKEN}"},
                )
                break
            # A pooled connection the server closed as its keep-alive ran out, just as the
            # post went: the payload's external_id makes posting it again safe.
            except (httpx.ReadError, httpx.RemoteProtocolError):
                if attempt == 2:
                    raise
        if response.status_code not in (200, 202):
            raise RuntimeError(f"POST /drafts: {response.status_code} {response.text}")
        return str(response.json()["id"])

    async def wait_cards(self, draft_ids: list[str], timeout: float = 60.0) -> list[Draft]:
        """The drafts once each card is in the Slack stand-in (polls the database)."""
        deadline = time.perf_counter() + timeout
        found: dict[str, Draft] = {}
        while time.perf_counter() < deadline:
            for draft_id in [d for d in draft_ids if d not in found]:
                draft = await self.store.get_draft(draft_id)
                if draft is not None and draft.card is not None:
                    found[draft_id] = draft
            if len(found) == len(draft_ids):
                return [found[d] for d in draft_ids]
            await asyncio.sleep(0.05)
        raise RuntimeError(f"only {len(found)} of {len(draft_ids)} cards posted in {timeout} s")

    async def posted_drafts(
        self, payloads: list[dict[str, Any]], *, concurrency: int = 20
    ) -> list[Draft]:
        limit = asyncio.Semaphore(concurrency)

        async def one(payload: dict[str, Any]) -> str:
            async with limit:
                return await self.post_draft(payload)

        ids = list(await asyncio.gather(*(one(p) for p in payloads)))
        return await self.wait_cards(ids)

    async def stop(self, *, kill: bool = False) -> None:
        """Stop the process (SIGTERM lets it drain its background work; `kill` does not)."""
        await self.http.aclose()
        await self.store.close()
        self.child.stop(kill=kill)


async def start_occ_bot(
    standins: Standins,
    database_url: str,
    *,
    name: str,
    log_dir: Path,
    cwd: Path,
    extra_env: dict[str, str] | None = None,
) -> tuple[OccBot, float]:
    """Start `occ-bot serve` on a free loopback port; (bot, seconds to first /healthz 200)."""
    port = free_port()
    child = spawn(
        name,
        [OCC_BOT, "serve", "--host", HOST, "--port", str(port)],
        occ_env(standins, database_url) | (extra_env or {}),
        log_dir=log_dir,
        cwd=cwd,
    )
    url = f"http://{HOST}:{port}"
    try:
        ready = await wait_healthy(child, f"{url}/healthz")
    except BaseException:
        child.stop()
        raise
    http = httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=100))
    return OccBot(child, url, open_store(database_url, None, None), http), ready
