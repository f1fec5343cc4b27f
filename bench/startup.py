"""Start-up time (exec → first /healthz 200) and idle RSS, for occ-bot and the bare Bolt app."""

from __future__ import annotations

import asyncio
import statistics
import sys
from pathlib import Path
from typing import Any

from bench.bare_bolt import start_bare_bolt
from bench.occ import start_occ_bot
from bench.standins_client import Standins

IDLE_SECONDS = 2.0


def _summary(runs: list[dict[str, float]]) -> dict[str, Any]:
    return {
        "healthz_seconds": round(statistics.median(r["healthz_seconds"] for r in runs), 3),
        "idle_rss_mb": round(statistics.median(r["idle_rss_mb"] for r in runs), 1),
        "runs": runs,
    }


async def measure(standins: Standins, work_dir: Path, log_dir: Path, *, runs: int) -> dict:
    """Median of `runs` cold starts each; occ-bot starts on a new SQLite file (migrations run)."""
    occ: list[dict[str, float]] = []
    bolt: list[dict[str, float]] = []
    for n in range(1, runs + 1):
        url = f"sqlite:///{work_dir}/start-{n}.db"
        bot, ready = await start_occ_bot(
            standins, url, name=f"occ-start-{n}", log_dir=log_dir, cwd=work_dir
        )
        try:
            await asyncio.sleep(IDLE_SECONDS)
            occ.append({"healthz_seconds": round(ready, 3), "idle_rss_mb": bot.child.rss_mb()})
        finally:
            await bot.stop()
        child, _, ready = await start_bare_bolt(
            f"{standins.slack_url}/api/",
            process_before_response=True,
            name=f"bolt-start-{n}",
            log_dir=log_dir,
            cwd=work_dir,
        )
        try:
            await asyncio.sleep(IDLE_SECONDS)
            bolt.append({"healthz_seconds": round(ready, 3), "idle_rss_mb": child.rss_mb()})
        finally:
            child.stop()
        print(f"  start {n}: occ-bot {occ[-1]}  bare bolt {bolt[-1]}", file=sys.stderr, flush=True)
    return {"occ_bot": _summary(occ), "bare_bolt": _summary(bolt)}
