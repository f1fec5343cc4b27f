"""The soak's side of its stand-ins process (`bench/soak_standins.py`): start it, and ask it
what the stand-ins received, wait on them, and cut Chatwoot or change the shop."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bench.procs import PYTHON, Child, child_env, spawn

START_SECONDS = 30.0


@dataclass
class SoakStandins:
    child: Child
    urls: dict[str, Any]
    http: httpx.AsyncClient

    @property
    def control(self) -> str:
        return str(self.urls["control"])

    async def _post(self, route: str, body: dict[str, Any], timeout: float = 30.0) -> Any:
        response = await self.http.post(f"{self.control}{route}", json=body, timeout=timeout)
        response.raise_for_status()
        return response.json()

    async def trigger(self) -> str:
        response = await self.http.get(f"{self.control}/trigger")
        response.raise_for_status()
        return str(response.json()["trigger_id"])

    async def posts(self, after: int) -> tuple[list[dict[str, Any]], int]:
        found = await self._post("/posts", {"after": after})
        return list(found["posts"]), int(found["next"])

    async def wait_change(
        self, channel: str, ts: str, *, since: float, user: str | None, timeout: float
    ) -> dict[str, str | None]:
        body = {"channel": channel, "ts": ts, "since": since, "user": user, "timeout": timeout}
        return dict(await self._post("/wait-change", body, timeout=timeout + 10))

    async def view_opened(self, trigger_id: str, timeout: float) -> dict[str, Any]:
        body = {"trigger_id": trigger_id, "timeout": timeout}
        return dict(await self._post("/view-opened", body, timeout=timeout + 10))

    async def customer_message(self, conversation_id: int, content: str, name: str) -> dict:
        body = {"conversation_id": conversation_id, "content": content, "name": name}
        return dict(await self._post("/customer-message", body))

    async def card_times(self, cards: list[tuple[str, str]]) -> dict[str, dict[str, float]]:
        found = await self._post("/card-times", {"cards": [list(c) for c in cards]}, 120)
        return {k: dict(v) for k, v in found.items()}

    async def tally(self) -> dict[str, Any]:
        response = await self.http.get(f"{self.control}/tally", timeout=120)
        response.raise_for_status()
        return dict(response.json())

    async def cut_chatwoot(self, cut: bool) -> None:
        await self._post("/chatwoot", {"cut": cut})

    async def shop_stock(self, sku: str, available: int) -> None:
        await self._post("/shop-stock", {"sku": sku, "available": available})

    async def stop(self) -> None:
        await self.http.aclose()
        if self.child.popen.stdin is not None:
            self.child.popen.stdin.close()
        self.child.stop()


async def start_soak_standins(log_dir: Path, cwd: Path) -> SoakStandins:
    child = spawn(
        "standins",
        [PYTHON, "-m", "bench.soak_standins"],
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
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=50)
    return SoakStandins(child, urls, httpx.AsyncClient(timeout=30, limits=limits))
