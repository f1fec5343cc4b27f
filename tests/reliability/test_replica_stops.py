"""A replica stopping with work under way. Killed (SIGKILL) with a decision acknowledged but
not yet applied, the next replica on that host applies it; stopped (SIGTERM), the replica
finishes what it acknowledged and the job run it started, then exits 0. Real `occ-bot serve`
processes, the database or a vendor slowed so that the work is under way at the signal."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from bot.blocks.ids import ActionId
from bot.demo.standins.interactions import form_body, signature_headers
from bot.demo.standins.shopify import DEFAULT_TOKEN as SHOPIFY_TOKEN
from bot.demo.standins.shopify import ShopifyStandin
from bot.domain import DraftState, RunOutcome
from bot.store import open_store
from tests.harness import (
    INTAKE_TOKEN,
    MANAGER,
    OPERATOR,
    SECOND_OPERATOR,
    SIGNING_SECRET,
    real_block_action,
)
from tests.tcp_proxy import TcpProxy

ROOT = Path(__file__).resolve().parents[2]
DEADLINE_SECONDS = 60.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Replica:
    """`occ-bot serve` in a process of its own, on the stand-ins, its spool in `spool`."""

    def __init__(
        self,
        database_url: str,
        slack,
        chatwoot,
        folder: Path,
        spool: Path,
        extra: dict[str, str] | None = None,
    ) -> None:
        self.port = _free_port()
        env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR")}
        env |= {
            "PYTHONPATH": str(ROOT),
            "DATABASE_URL": database_url,
            "SLACK_BOT_TOKEN": "xoxb-occ-standin",
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": slack.api_url,
            "CHATWOOT_URL": chatwoot.url,
            "CHATWOOT_API_TOKEN": chatwoot.token,
            "CHATWOOT_ACCOUNT_ID": str(chatwoot.account_id),
            "OCC_INTAKE_TOKEN": INTAKE_TOKEN,
            "OCC_MANAGERS": MANAGER,
            "OCC_JOB_TICK_SECONDS": "0.5",
            "OCC_SPOOL_DIR": str(spool),
            "OCC_SLACK_POSTS_PER_SECOND": "1000",  # the stand-in enforces no posting limit
            "OCC_SLACK_POST_BURST": "1000",
            **(extra or {}),
        }
        folder.mkdir(exist_ok=True)
        self.log = folder / f"replica-{self.port}.log"
        argv = [sys.executable, "-m", "bot.cli", "serve", "--host", "127.0.0.1"]
        with self.log.open("w") as sink:
            self.process = subprocess.Popen(
                [*argv, "--port", str(self.port)],
                env=env,
                cwd=folder,
                stdout=sink,
                stderr=subprocess.STDOUT,
            )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def healthy(self) -> None:
        deadline = time.monotonic() + DEADLINE_SECONDS
        async with httpx.AsyncClient(timeout=2) as http:
            while time.monotonic() < deadline:
                assert self.process.poll() is None, self.log.read_text()[-2000:]
                try:
                    if (await http.get(f"{self.url}/healthz")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.05)
        raise AssertionError(f"not healthy: {self.log.read_text()[-2000:]}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=30)


@pytest.fixture
async def database(postgres_url) -> AsyncIterator[tuple[str, TcpProxy]]:
    """The test's database through a proxy that can slow it down."""
    async with TcpProxy("127.0.0.1", 5432) as proxy:
        host, name = postgres_url.rsplit("/", 1)
        yield f"{host.rsplit(':', 1)[0]}:{proxy.port}/{name}", proxy


async def _card(replica: Replica, slack, payload: dict) -> tuple[str, str, str]:
    """POST a draft; (draft id, channel, ts) once its card is in Slack."""
    async with httpx.AsyncClient(timeout=10) as http:
        response = await http.post(
            f"{replica.url}/drafts",
            json=payload,
            headers={"Authorization": f"Bearer {INTAKE_TOKEN}"},
        )
    assert response.status_code == 202, response.text
    draft_id = response.json()["id"]
    deadline = time.monotonic() + DEADLINE_SECONDS
    while time.monotonic() < deadline:
        for card in slack.messages_in("#occ-approvals"):
            if card.get("metadata", {}).get("event_payload", {}).get("id") == draft_id:
                return draft_id, slack.channel_id("#occ-approvals"), card["ts"]
        await asyncio.sleep(0.05)
    raise AssertionError("the card was not posted")


async def _approve(
    replica: Replica, draft_id: str, channel: str, ts: str, user: str = OPERATOR
) -> int:
    payload = real_block_action(
        user=user,
        action_id=ActionId.APPROVE.value,
        value=draft_id,
        channel=channel,
        message_ts=ts,
    )
    body = form_body(payload)
    async with httpx.AsyncClient(timeout=10) as http:
        response = await http.post(
            f"{replica.url}/slack/events",
            content=body,
            headers=signature_headers(SIGNING_SECRET, body),
        )
    return response.status_code


async def _approved_once(database_url: str, draft_id: str, chatwoot, conversation: int) -> None:
    store = open_store(database_url, None, None)
    try:
        deadline = time.monotonic() + DEADLINE_SECONDS
        while not chatwoot.sent_replies(conversation):
            assert time.monotonic() < deadline, "the acknowledged Approve was never applied"
            await asyncio.sleep(0.1)
        draft = await store.get_draft(draft_id)
        assert draft.state is DraftState.APPROVED and draft.decision.actor == OPERATOR
        decided = [e.action for e in await store.entries(subject_id=draft_id)]
        assert decided.count("draft.approved") == 1 and decided.count("reply.sent") == 1
        assert "draft.refused" not in decided  # nobody was told anything odd
    finally:
        await store.close()
    assert len(chatwoot.sent_replies(conversation)) == 1


async def test_a_killed_replicas_acknowledged_decision_is_applied_by_the_next_one(
    database, slack, chatwoot, scenarios, tmp_path
):
    url, proxy = database
    spool = tmp_path / "spool"
    payload = scenarios["demo-1-order-status"].payload
    killed = Replica(url, slack, chatwoot, tmp_path / "a", spool)
    successor = None
    try:
        await killed.healthy()
        draft_id, channel, ts = await _card(killed, slack, payload)
        proxy.delay = 5  # every answer of the database 5 s late: the decision is in flight
        assert await _approve(killed, draft_id, channel, ts) == 200
        killed.process.send_signal(signal.SIGKILL)
        await asyncio.to_thread(killed.process.wait, 10)
        proxy.delay = 0
        assert chatwoot.sent_replies(payload["conversation_id"]) == []

        successor = Replica(url, slack, chatwoot, tmp_path / "b", spool)
        await successor.healthy()
        await _approved_once(url, draft_id, chatwoot, payload["conversation_id"])
    finally:
        killed.stop()
        if successor is not None:
            successor.stop()


async def _refused_clicks(database_url: str, draft_id: str, user: str, expected: int) -> int:
    """The clicks counted in ``user``'s refusal rows, once they reach ``expected`` (or time
    runs out)."""
    store = open_store(database_url, None, None)
    try:
        deadline = time.monotonic() + DEADLINE_SECONDS
        while True:
            rows = await store.entries(subject_id=draft_id)
            counted = sum(
                e.payload.get("clicks", 1)
                for e in rows
                if e.actor == user and e.outcome == "refused"
            )
            if counted >= expected or time.monotonic() > deadline:
                return counted
            await asyncio.sleep(0.1)
    finally:
        await store.close()


async def test_a_killed_replicas_refused_clicks_are_still_logged_by_the_next_one(
    database, slack, chatwoot, scenarios, tmp_path
):
    url, _ = database
    payload = scenarios["demo-1-order-status"].payload
    conversation = payload["conversation_id"]
    started: list[Replica] = []

    async def replica(name: str) -> Replica:
        started.append(Replica(url, slack, chatwoot, tmp_path / name, tmp_path / "spool"))
        await started[-1].healthy()
        return started[-1]

    try:
        killed = await replica("a")
        card = await _card(killed, slack, payload)
        assert await _approve(killed, *card) == 200
        deadline = time.monotonic() + DEADLINE_SECONDS
        while not chatwoot.sent_replies(conversation):
            assert time.monotonic() < deadline, "the Approve was never applied"
            await asyncio.sleep(0.05)
        # Clicked again and again: acknowledged, waiting to be logged as one row when killed.
        again = [_approve(killed, *card, SECOND_OPERATOR) for _ in range(10)]
        assert await asyncio.gather(*again) == [200] * 10
        killed.process.send_signal(signal.SIGKILL)
        await asyncio.to_thread(killed.process.wait, 10)

        await replica("b")
        assert await _refused_clicks(url, card[0], SECOND_OPERATOR, 10) == 10
        assert len(chatwoot.sent_replies(conversation)) == 1
    finally:
        for each in started:
            each.stop()


async def test_a_replica_stopped_with_sigterm_finishes_what_it_acknowledged_then_exits_0(
    database, slack, chatwoot, scenarios, tmp_path
):
    url, _ = database
    payload = scenarios["demo-1-order-status"].payload
    replica = Replica(url, slack, chatwoot, tmp_path / "a", tmp_path / "spool")
    try:
        await replica.healthy()
        draft_id, channel, ts = await _card(replica, slack, payload)
        chatwoot.hang(1.5)  # a slow Chatwoot: the reply is still on its way at the SIGTERM
        assert await _approve(replica, draft_id, channel, ts) == 200
        replica.process.send_signal(signal.SIGTERM)
        # the stand-ins and the database's proxy live on this loop: wait off it
        code = await asyncio.to_thread(replica.process.wait, DEADLINE_SECONDS)
        assert code == 0, replica.log.read_text()
        # it sent the reply before exiting: nobody else was there to send it
        assert len(chatwoot.sent_replies(payload["conversation_id"])) == 1
        chatwoot.up()
        await _approved_once(url, draft_id, chatwoot, payload["conversation_id"])
        assert list((tmp_path / "spool").glob("*")) == []  # nothing left in flight
    finally:
        replica.stop()


async def test_a_replica_stopped_with_sigterm_finishes_its_job_run_first(
    database, slack, chatwoot, tmp_path
):
    url, _ = database
    async with ShopifyStandin() as shop:
        shop.add_order(datetime.now(UTC) - timedelta(hours=1), 50.0, line_items=[("SKU-1", 1)])
        shop.add_variant("SKU-1", 100)
        shop.hang(30)  # the shop holds every request until it is let go
        extra = {
            "SHOPIFY_SHOP": shop.url,
            "SHOPIFY_ADMIN_TOKEN": SHOPIFY_TOKEN,
            "OCC_SALES_PULSE_MINUTES": "0.02",  # the first run starts 1.2 s after start
        }
        replica = Replica(url, slack, chatwoot, tmp_path / "a", tmp_path / "spool", extra)
        try:
            await replica.healthy()
            store = open_store(url, None, None)
            try:  # a sales-pulse run has started: it is waiting on the shop
                deadline = time.monotonic() + DEADLINE_SECONDS
                while await store.last_run("sales-pulse") is None:
                    assert time.monotonic() < deadline, "no sales-pulse run started"
                    await asyncio.sleep(0.05)
            finally:
                await store.close()
            await asyncio.sleep(0.5)
            replica.process.send_signal(signal.SIGTERM)
            await asyncio.sleep(1.0)
            shop.up()  # the shop answers again while the replica is stopping
            code = await asyncio.to_thread(replica.process.wait, DEADLINE_SECONDS)
            assert code == 0, replica.log.read_text()
        finally:
            replica.stop()
    store = open_store(url, None, None)
    try:
        run = await store.last_run("sales-pulse")
    finally:
        await store.close()
    assert run is not None and run.outcome is RunOutcome.SUCCESS, run
    assert run.finished_at is not None
