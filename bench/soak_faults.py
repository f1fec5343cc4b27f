"""The faults the soak injects while traffic flows, on a fixed schedule, and when each was on.

- every `kill_every` seconds a replica (each in turn) is sent SIGKILL, and started again
  `restart_after` seconds later (as a supervisor would); the fault lasts until its
  /healthz answers again;
- once, at `postgres_at` of the run, its PostgreSQL server is stopped (``pg_ctl -m fast``:
  every session ended at once) and started again `postgres_down` seconds later;
- once, at `chatwoot_at`, Chatwoot is cut off from the replicas for `chatwoot_cut` seconds
  (every connection aborted, new ones refused, at the TCP level).

A click is "during a fault" when it was sent while a fault was on or within `TAIL_SECONDS`
after it ended (what was queued meanwhile is still going out).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from bench.pg_server import PostgresServer
from bench.soak_cluster import Replicas
from bench.soak_control import SoakStandins

TAIL_SECONDS = 10.0


@dataclass
class FaultPlan:
    kill_every: float = 120.0
    restart_after: float = 2.0
    postgres_at: float | None = 0.5  # share of the run; None: no restart
    postgres_down: float = 10.0
    chatwoot_at: float | None = 0.7
    chatwoot_cut: float = 30.0


@dataclass
class Fault:
    kind: str  # "kill", "postgres", "chatwoot"
    started: float
    ended: float | None = None
    detail: str = ""

    def as_dict(self, t0: float) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "at_s": round(self.started - t0, 1),
            "lasted_s": round(self.ended - self.started, 1) if self.ended else None,
            "detail": self.detail,
        }


@dataclass
class Faults:
    plan: FaultPlan
    replicas: Replicas
    standins: SoakStandins
    postgres: PostgresServer | None
    chatwoot_cut: asyncio.Event  # set while Chatwoot is cut off (customers cannot write)
    injected: list[Fault] = field(default_factory=list)

    def schedule(self, seconds: float) -> list[tuple[float, str]]:
        """(offset from the start, kind) of each fault in a run of `seconds`."""
        events = []
        at = self.plan.kill_every
        while at < seconds:
            events.append((at, "kill"))
            at += self.plan.kill_every
        if self.postgres is not None and self.plan.postgres_at is not None:
            events.append((seconds * self.plan.postgres_at, "postgres"))
        if self.plan.chatwoot_at is not None and self.plan.chatwoot_cut > 0:
            events.append((seconds * self.plan.chatwoot_at, "chatwoot"))
        return sorted(events)

    async def run(self, t0: float, seconds: float) -> None:
        """Inject each fault at its time; each one runs to its end on its own."""
        under_way = []
        kills = 0
        for offset, kind in self.schedule(seconds):
            await asyncio.sleep(max(0.0, t0 + offset - time.time()))
            if kind == "kill":
                replica = self.replicas.replicas[kills % len(self.replicas.replicas)]
                kills += 1
                under_way.append(asyncio.create_task(self._kill(replica.slot)))
            elif kind == "postgres":
                under_way.append(asyncio.create_task(self._restart_postgres()))
            else:
                under_way.append(asyncio.create_task(self._cut_chatwoot()))
        await asyncio.gather(*under_way)

    async def _kill(self, slot: int) -> None:
        replica = self.replicas.replicas[slot - 1]
        fault = Fault("kill", self.replicas.kill(replica), detail=f"replica {slot}")
        self.injected.append(fault)
        await asyncio.sleep(self.plan.restart_after)
        fault.ended = await self.replicas.start(replica, supervised=True)

    async def _restart_postgres(self) -> None:
        assert self.postgres is not None
        fault = Fault("postgres", time.time(), detail=f"down {self.plan.postgres_down:g} s")
        self.injected.append(fault)
        await asyncio.to_thread(self.postgres.stop, "fast")
        await asyncio.sleep(self.plan.postgres_down)
        fault.ended = await asyncio.to_thread(self.postgres.start)

    async def _cut_chatwoot(self) -> None:
        fault = Fault("chatwoot", time.time(), detail=f"cut {self.plan.chatwoot_cut:g} s")
        self.injected.append(fault)
        self.chatwoot_cut.set()
        await self.standins.cut_chatwoot(True)
        try:
            await asyncio.sleep(self.plan.chatwoot_cut)
        finally:
            await self.standins.cut_chatwoot(False)
            self.chatwoot_cut.clear()
            fault.ended = time.time()

    def kinds_at(self, at: float) -> set[str]:
        """The kinds of fault `at` falls in, or within `TAIL_SECONDS` after."""
        return {
            f.kind
            for f in self.injected
            if f.started <= at <= (f.ended or float("inf")) + TAIL_SECONDS
        }
