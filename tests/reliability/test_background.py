"""Background work: bounded workers, urgent work first, nothing lost silently."""

from __future__ import annotations

import asyncio
import logging

import pytest

from bot.runtime.background import Background
from tests.harness import eventually


async def test_urgent_work_runs_while_every_worker_is_busy():
    background = Background(workers=2)
    release = asyncio.Event()
    opened = asyncio.Event()
    started: list[int] = []

    async def slow(n: int) -> None:
        started.append(n)
        await release.wait()

    async def open_modal() -> None:
        opened.set()

    for n in range(5):
        background.spawn(slow(n), name=f"slow-{n}")
    background.spawn(open_modal(), name="queued-modal")
    await eventually(lambda: len(started) >= 2)  # both workers have taken work: each is busy
    assert started == [0, 1] and not opened.is_set()  # the rest queued behind them

    urgent = asyncio.Event()

    async def open_now() -> None:
        urgent.set()

    background.spawn_now(open_now(), name="urgent-modal")
    await asyncio.wait_for(urgent.wait(), 1)
    assert started == [0, 1] and not opened.is_set()  # it did not wait for a worker
    release.set()
    await background.drain(timeout=5)
    assert opened.is_set() and background.pending == 0
    await background.aclose()


@pytest.mark.expect_errors(r"occ\.background: background work boom failed \[RuntimeError: bug\]")
async def test_a_failing_item_is_logged_and_the_workers_go_on(caplog):
    background = Background(workers=1)
    done = []

    async def boom() -> None:
        raise RuntimeError("bug")

    async def fine() -> None:
        done.append(True)

    with caplog.at_level(logging.ERROR, logger="occ.background"):
        background.spawn(boom(), name="boom")
        background.spawn(fine(), name="fine")
        await background.drain(timeout=5)
    assert done == [True]
    assert "background work boom failed" in caplog.text
    await background.aclose()


async def test_shutdown_finishes_queued_work_first():
    background = Background(workers=1)
    done = []

    async def step(n: int) -> None:
        await asyncio.sleep(0.01)
        done.append(n)

    for n in range(5):
        background.spawn(step(n), name=f"step-{n}")
    await background.aclose(timeout=5)
    assert done == [0, 1, 2, 3, 4]
