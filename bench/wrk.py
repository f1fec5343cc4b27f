"""Running wrk against a Slack Request URL with one pre-signed interaction."""

from __future__ import annotations

import asyncio
import json
import resource
import shutil
import subprocess
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench.common import SIGNING_SECRET
from bot.demo.standins.interactions import form_body, signature_headers

LUA = Path(__file__).with_name("click.lua")
MARK = "BENCH_JSON "


@dataclass
class WrkResult:
    connections: int
    threads: int
    seconds: float
    requests: int
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    errors: dict[str, int]
    wrk_cpu_seconds: float
    server_cpu_seconds: float = 0.0
    helper_cpu_seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def failed(self) -> int:
        return sum(self.errors.values())

    def as_dict(self) -> dict[str, Any]:
        return asdict(self) | {"failed": self.failed}


def ensure_wrk() -> str:
    """The wrk binary; installs Debian's package if missing (apt-get update only on failure)."""
    found = shutil.which("wrk")
    if found:
        return found
    install = ["apt-get", "install", "-y", "wrk"]
    if _quiet(install) != 0:  # maybe stale package lists: update once, then try again
        _quiet(["apt-get", "update"])
        _quiet(install)
    found = shutil.which("wrk")
    if not found:
        raise RuntimeError("wrk is missing and `apt-get install -y wrk` failed")
    return found


def _quiet(argv: list[str]) -> int:
    done = subprocess.run(
        argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=300, check=False
    )
    return done.returncode


def write_request(path: Path, payload: dict[str, Any]) -> None:
    """The signed request for click.lua; Slack accepts the signature for 5 minutes."""
    body = form_body(payload)
    headers = signature_headers(SIGNING_SECRET, body)
    head = "\n".join(f"{name}: {value}" for name, value in headers.items())
    path.write_text(f"{head}\n\n{body}", encoding="utf-8")


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


async def run_wrk(
    wrk: str, url: str, request_file: Path, *, connections: int, threads: int, seconds: int
) -> tuple[WrkResult, str]:
    """One bounded wrk run; returns the parsed result and wrk's own report."""
    argv = [
        wrk,
        f"-t{threads}",
        f"-c{connections}",
        f"-d{seconds}s",
        "--timeout",
        "5s",
        "--latency",
        "-s",
        str(LUA),
        url,
    ]
    # Only wrk terminates among our children during the run, so this delta is wrk's CPU time.
    cpu_before = _children_cpu()
    started = time.perf_counter()
    process = await asyncio.create_subprocess_exec(
        *argv,
        env={"BENCH_REQUEST": str(request_file), "PATH": "/usr/bin:/bin"},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        out, _ = await asyncio.wait_for(process.communicate(), timeout=seconds + 20)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    elapsed = time.perf_counter() - started
    text = out.decode(errors="replace")
    line = next((x for x in text.splitlines() if x.startswith(MARK)), None)
    if process.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed (exit {process.returncode}):\n{text}")
    data = json.loads(line[len(MARK) :])
    duration = data["duration_us"] / 1e6 or elapsed
    lat = data["latency_us"]
    result = WrkResult(
        connections=connections,
        threads=threads,
        seconds=round(duration, 3),
        requests=data["requests"],
        rps=round(data["requests"] / duration, 1),
        p50_ms=round(lat["p50"] / 1000, 3),
        p90_ms=round(lat["p90"] / 1000, 3),
        p99_ms=round(lat["p99"] / 1000, 3),
        max_ms=round(lat["max"] / 1000, 3),
        errors=data["errors"],
        wrk_cpu_seconds=round(_children_cpu() - cpu_before, 3),
    )
    return result, text
