"""The parent's side of the stand-ins helper process (bench/standins_proc.py)."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import httpx

from bench.procs import PYTHON, Child, child_env, spawn

START_SECONDS = 20.0


@dataclass
class Standins:
    child: Child
    slack_url: str
    chatwoot_url: str
    chatwoot_token: str
    chatwoot_account: int
    control_url: str
    http: httpx.AsyncClient

    async def status(
        self, conversations: list[int], cards: list[tuple[str, str]]
    ) -> dict[str, int]:
        response = await self.http.post(
            f"{self.control_url}/status",
            json={"conversations": conversations, "cards": [list(c) for c in cards]},
        )
        response.raise_for_status()
        return dict(response.json())

    async def card_times(self, cards: list[tuple[str, str]]) -> dict[str, dict[str, float]]:
        """`card_sent_at` and `first_update_at`: `channel/ts` → epoch seconds (stand-in's clock)
        of the first chat.update showing the sent state, and of the first chat.update at all."""
        response = await self.http.post(
            f"{self.control_url}/card-times", json={"cards": [list(c) for c in cards]}
        )
        response.raise_for_status()
        return {k: dict(v) for k, v in response.json().items()}

    async def card_sent_times(self, cards: list[tuple[str, str]]) -> dict[str, float]:
        """`channel/ts` → epoch seconds of the first chat.update showing the sent state."""
        return (await self.card_times(cards))["card_sent_at"]

    async def wait_cards_sent(
        self,
        cards: list[tuple[str, str]],
        timeout: float,
        session: aiohttp.ClientSession | None = None,
    ) -> list[tuple[str, str]]:
        """Wait (at most `timeout` s) until these cards show the sent state; those that don't.
        With `session`, asked through it: aiohttp costs the client less CPU than httpx, which
        counts when the waits come once per click."""
        url = f"{self.control_url}/wait-cards-sent"
        body = {"cards": [list(c) for c in cards], "timeout": timeout}
        if session is None:
            response = await self.http.post(url, json=body, timeout=timeout + 10)
            response.raise_for_status()
            missing = response.json()["missing"]
        else:
            limit = aiohttp.ClientTimeout(total=timeout + 10)
            async with session.post(url, json=body, timeout=limit) as answer:
                answer.raise_for_status()
                missing = (await answer.json())["missing"]
        return [(str(c), str(t)) for c, t in missing]

    async def limit_slack_posts(self, per_second: float, burst: int) -> None:
        response = await self.http.post(
            f"{self.control_url}/slack-post-limit", json={"per_second": per_second, "burst": burst}
        )
        response.raise_for_status()

    async def marked_posts(self, event_type: str) -> dict[str, Any]:
        response = await self.http.post(
            f"{self.control_url}/marked-posts", json={"event_type": event_type}
        )
        response.raise_for_status()
        return dict(response.json())

    async def customer_message(self, conversation_id: int, content: str, name: str) -> dict:
        """Store a customer's message in the Chatwoot stand-in; its ``message_created`` event."""
        response = await self.http.post(
            f"{self.control_url}/customer-message",
            json={"conversation_id": conversation_id, "content": content, "name": name},
        )
        response.raise_for_status()
        return dict(response.json())

    async def counts(self) -> dict[str, Any]:
        response = await self.http.get(f"{self.control_url}/counts")
        response.raise_for_status()
        return dict(response.json())

    async def stop(self) -> None:
        await self.http.aclose()
        if self.child.popen.stdin is not None:
            self.child.popen.stdin.close()
        self.child.stop()


async def start_standins(log_dir: Path, cwd: Path) -> Standins:
    child = spawn(
        "standins",
        [PYTHON, "-m", "bench.standins_proc"],
        child_env({}),
        log_dir=log_dir,
        cwd=cwd,
        pipe_stdio=True,
    )
    try:
        assert child.popen.stdout is not None
        line = await asyncio.wait_for(
            asyncio.to_thread(child.popen.stdout.readline), timeout=START_SECONDS
        )
        if not line:
            raise RuntimeError(f"stand-ins exited early:\n{child.log_tail()}")
        urls = json.loads(line)
    except BaseException:
        child.stop()
        raise
    return Standins(
        child=child,
        slack_url=urls["slack"],
        chatwoot_url=urls["chatwoot"],
        chatwoot_token=urls["chatwoot_token"],
        chatwoot_account=int(urls["chatwoot_account"]),
        control_url=urls["control"],
        http=httpx.AsyncClient(timeout=30),
    )
