"""Start-up time (exec → first /healthz 200) and idle RSS, for occ-bot and the bare Bolt app,
and what occ-bot's start-up imports cost, per package (`bench.imports`)."""

from __future__ import annotations

import asyncio
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

from bench import imports
from bench.bare_bolt import start_bare_bolt
from bench.occ import start_occ_bot
from bench.standins_client import Standins

IDLE_SECONDS = 2.0
OCC_NEW, OCC_RESTART, BOLT = "occ_bot", "occ_bot_restart", "bare_bolt"
NAMES = {
    OCC_NEW: "occ-bot serve, new SQLite file (migrations run)",
    OCC_RESTART: "occ-bot serve, restart on that file (up to date)",
    BOLT: "bare Bolt (process_before_response=True)",
}


def _row(ready: float, cpu: float, rss_mb: float) -> dict[str, float]:
    return {"healthz_seconds": round(ready, 3), "cpu_seconds": cpu, "idle_rss_mb": rss_mb}


def _summary(runs: list[dict[str, float]]) -> dict[str, Any]:
    return {
        "healthz_seconds": round(statistics.median(r["healthz_seconds"] for r in runs), 3),
        "cpu_seconds": round(statistics.median(r["cpu_seconds"] for r in runs), 2),
        "idle_rss_mb": round(statistics.median(r["idle_rss_mb"] for r in runs), 1),
        "runs": runs,
    }


async def _occ(standins: Standins, url: str, name: str, log_dir: Path, cwd: Path) -> dict:
    bot, ready = await start_occ_bot(standins, url, name=name, log_dir=log_dir, cwd=cwd)
    try:
        cpu = bot.child.cpu_seconds()
        await asyncio.sleep(IDLE_SECONDS)
        return _row(ready, cpu, bot.child.rss_mb())
    finally:
        await bot.stop()


async def _bolt(standins: Standins, name: str, log_dir: Path, cwd: Path) -> dict:
    child, _, ready = await start_bare_bolt(
        f"{standins.slack_url}/api/",
        process_before_response=True,
        name=name,
        log_dir=log_dir,
        cwd=cwd,
    )
    try:
        cpu = child.cpu_seconds()
        await asyncio.sleep(IDLE_SECONDS)
        return _row(ready, cpu, child.rss_mb())
    finally:
        child.stop()


async def measure(standins: Standins, work_dir: Path, log_dir: Path, *, runs: int) -> dict:
    """Median of `runs` cold starts each, interleaved: occ-bot on a new SQLite file (so
    migrations run), occ-bot again on that file (the usual restart), bare Bolt; then the
    imports (`bench.imports`)."""
    found: dict[str, list[dict[str, float]]] = {OCC_NEW: [], OCC_RESTART: [], BOLT: []}
    for n in range(1, runs + 1):
        url = f"sqlite:///{work_dir}/start-{n}.db"
        found[OCC_NEW].append(await _occ(standins, url, f"occ-start-{n}", log_dir, work_dir))
        found[OCC_RESTART].append(await _occ(standins, url, f"occ-restart-{n}", log_dir, work_dir))
        found[BOLT].append(await _bolt(standins, f"bolt-start-{n}", log_dir, work_dir))
        said = "  ".join(f"{key} {rows[-1]}" for key, rows in found.items())
        print(f"  start {n}: {said}", file=sys.stderr, flush=True)
    result: dict[str, Any] = {key: _summary(rows) for key, rows in found.items()}
    try:
        result["imports"] = await asyncio.to_thread(imports.measure, runs)
    except (OSError, subprocess.SubprocessError, ValueError) as error:  # the rows above stand
        result["imports"] = {"error": f"{type(error).__name__}: {str(error)[:300]}"}
    return result


def markdown(found: dict[str, Any], runs: int) -> list[str]:
    out = [
        f"### 4. Start-up and idle memory (median of {runs} cold starts)",
        "",
        "| app | exec → first /healthz 200 | its CPU time until then | idle RSS (2 s after "
        "healthy) |",
        "| --- | --- | --- | --- |",
    ]
    for key, name in NAMES.items():
        if key in found:
            row = found[key]
            out.append(
                f"| {name} | {row['healthz_seconds']:.2f} s | {row['cpu_seconds']:.2f} s "
                f"| {row['idle_rss_mb']:.0f} MB |"
            )
    out += [
        "",
        "CPU time: the process's user + system time (/proc) when /healthz first answered 200; "
        "on a shared machine it varies less than the wall-clock time.",
    ]
    if "error" in found.get("imports", {}):
        out += ["", f"Imports not measured: {found['imports']['error']}"]
    elif "imports" in found:
        out += ["", *imports.markdown(found["imports"])]
    return out
