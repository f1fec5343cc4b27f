"""Work that runs after Slack has been acknowledged.

A fixed number of workers take the work in arrival order. Acknowledgements share the event
loop with this work, so letting every click start its own task at once would make each ack
wait behind a step of every task in flight; a burst of clicks would push acks towards Slack's
3-second limit and starve the database pool. Queued work is cheap: an unstarted coroutine.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

log = logging.getLogger("occ.background")

WORKERS = 16


class Background:
    def __init__(self, workers: int = WORKERS) -> None:
        self._size = workers
        self._queue: asyncio.Queue[tuple[str, Coroutine[Any, Any, Any]]] = asyncio.Queue()
        self._workers: list[asyncio.Task[None]] = []
        self._pending = 0
        self._urgent: set[asyncio.Task[Any]] = set()
        self._later: dict[str, asyncio.Task[None]] = {}
        self._coalescing: dict[str, asyncio.Task[None]] = {}
        self._coalesced_work: dict[str, tuple[Callable[[], Coroutine[Any, Any, Any]], str]] = {}

    def spawn(self, work: Coroutine[Any, Any, Any], *, name: str) -> None:
        if not self._workers:
            self._workers = [
                asyncio.get_running_loop().create_task(self._work(), name=f"background-{n}")
                for n in range(self._size)
            ]
        self._queue.put_nowait((name, work))
        self._pending += 1

    def spawn_now(self, work: Coroutine[Any, Any, Any], *, name: str) -> None:
        """Start at once, ahead of the queue: for work with a deadline, such as opening a
        modal before Slack's trigger_id expires (3 s)."""
        task = asyncio.get_running_loop().create_task(work, name=name)
        self._urgent.add(task)
        task.add_done_callback(self._urgent_done)

    def spawn_after_quiet(
        self,
        key: str,
        seconds: float,
        make_work: Callable[[], Coroutine[Any, Any, Any]],
        *,
        name: str,
    ) -> None:
        """Queue the work once ``key`` has been quiet for ``seconds``: scheduling the same key
        again before then starts the wait afresh, and only the last one runs (a debounce).
        Shutdown drops work still waiting: keep what it is about in the database."""
        earlier = self._later.pop(key, None)
        if earlier is not None:
            earlier.cancel()

        async def after_quiet() -> None:
            await asyncio.sleep(seconds)
            if self._later.get(key) is task:
                del self._later[key]
                self.spawn(make_work(), name=name)

        task = asyncio.get_running_loop().create_task(after_quiet(), name=f"quiet-{name}")
        self._later[key] = task

    def spawn_coalesced(
        self,
        key: str,
        seconds: float,
        make_work: Callable[[], Coroutine[Any, Any, Any]],
        *,
        name: str,
    ) -> None:
        """Queue the work ``seconds`` from the first time ``key`` is scheduled; scheduling it
        again meanwhile replaces the work, so only the last one runs, once per window (a
        throttle: unlike `spawn_after_quiet`, a steady stream never postpones it). Shutdown
        runs the waiting work at once rather than dropping it."""
        self._coalesced_work[key] = (make_work, name)
        if key in self._coalescing:
            return

        async def at_window_end() -> None:
            await asyncio.sleep(seconds)
            self._release_coalesced(key)

        self._coalescing[key] = asyncio.get_running_loop().create_task(
            at_window_end(), name=f"coalesce-{name}"
        )

    def _release_coalesced(self, key: str) -> None:
        self._coalescing.pop(key, None)
        make_work, name = self._coalesced_work.pop(key)
        self.spawn(make_work(), name=name)

    def _urgent_done(self, task: asyncio.Task[Any]) -> None:
        self._urgent.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("background work %s failed", task.get_name(), exc_info=task.exception())

    async def _work(self) -> None:
        while True:
            name, work = await self._queue.get()
            try:
                await work
            except asyncio.CancelledError:
                raise
            except Exception:  # one failed item must not stop the worker; say what failed
                log.exception("background work %s failed", name)
            finally:
                self._pending -= 1
                self._queue.task_done()

    @property
    def pending(self) -> int:
        """Items queued, running or waiting for quiet."""
        return self._pending + len(self._urgent) + len(self._later) + len(self._coalescing)

    async def drain(self, timeout: float = 30.0) -> None:
        """Wait (bounded) until all work, including work it queues, is done."""
        try:
            async with asyncio.timeout(timeout):
                while self._urgent or self._later or self._coalescing or self._pending:
                    waiting = [*self._urgent, *self._later.values(), *self._coalescing.values()]
                    if waiting:
                        await asyncio.wait(waiting)
                    if self._workers:
                        await self._queue.join()
        except TimeoutError:
            log.warning("background work still pending after %.0f s", timeout)

    async def aclose(self, timeout: float = 30.0) -> None:
        """Finish what is queued (bounded), then stop the workers; unfinished work, and work
        still waiting for quiet, is dropped with a warning (anything that matters is in the
        database and retried by a job)."""
        for key, task in self._later.items():
            task.cancel()
            log.warning("dropped background work %s at shutdown; a job will pick it up", key)
        self._later = {}
        for key, task in list(self._coalescing.items()):
            task.cancel()
            self._release_coalesced(key)
        await self.drain(timeout)
        for task in [*self._workers, *self._urgent]:
            task.cancel()
        await asyncio.gather(*self._workers, *self._urgent, return_exceptions=True)
        self._workers = []
        while not self._queue.empty():
            name, work = self._queue.get_nowait()
            work.close()
            log.warning("dropped background work %s at shutdown", name)
