"""Child processes of the benchmark: start on loopback, time to healthy, CPU and RSS, stop.

Every child gets PR_SET_PDEATHSIG, so it is sent SIGTERM if the benchmark dies without
running its cleanup; the normal path stops each one explicitly (SIGTERM, then SIGKILL).
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.common import HOST

REPO = Path(__file__).resolve().parent.parent
VENV_BIN = REPO / ".venv" / "bin"
PYTHON = str(VENV_BIN / "python")
OCC_BOT = str(VENV_BIN / "occ-bot")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PR_SET_PDEATHSIG = 1
STOP_SECONDS = 15.0


def _die_with_parent() -> None:
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def child_env(extra: dict[str, str]) -> dict[str, str]:
    """A clean environment: nothing of the caller's Slack/DB/API settings leaks in."""
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR")
    env = {k: os.environ[k] for k in keep if k in os.environ}
    env["PYTHONPATH"] = str(REPO)
    env["PYTHONUNBUFFERED"] = "1"
    return env | extra


@dataclass
class Child:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path
    started: float  # time.perf_counter() just before the exec

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def cpu_seconds(self) -> float:
        """User + system CPU time so far, from /proc/<pid>/stat."""
        stat = Path(f"/proc/{self.pid}/stat").read_text()
        fields = stat[stat.rindex(")") + 2 :].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS

    def rss_mb(self) -> float:
        return _status_kb(self.pid, "VmRSS") / 1024

    def peak_rss_mb(self) -> float:
        return _status_kb(self.pid, "VmHWM") / 1024

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self, *, kill: bool = False) -> None:
        """SIGTERM and wait (SIGKILL after a while); `kill` skips straight to SIGKILL."""
        if not self.alive():
            return
        self.popen.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
        try:
            self.popen.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait(timeout=STOP_SECONDS)


def machine_cpu() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far, all cores, from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    total = sum(fields)
    idle = fields[3] + fields[4]  # idle + iowait
    return (total - idle) / CLOCK_TICKS, total / CLOCK_TICKS


def cpu_of_command(name: str) -> float:
    """CPU seconds so far of the processes named `name` (e.g. postgres), their reaped children
    included: a backend that exits is counted in its parent's cutime/cstime from then on."""
    seconds = 0.0
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if (proc / "comm").read_text().strip() != name:
                continue
            stat = (proc / "stat").read_text()
        except OSError:  # gone meanwhile
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        seconds += sum(int(f) for f in fields[11:15]) / CLOCK_TICKS
    return seconds


def _status_kb(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{key} not in /proc/{pid}/status")


def spawn(
    name: str,
    argv: list[str],
    env: dict[str, str],
    *,
    log_dir: Path,
    cwd: Path,
    pipe_stdio: bool = False,
) -> Child:
    """Start a child; its stderr (and stdout unless piped) goes to `log_dir/name.log`."""
    log = log_dir / f"{name}.log"
    with log.open("ab") as sink:
        started = time.perf_counter()
        popen = subprocess.Popen(
            argv,
            env=env,
            cwd=cwd,
            stdin=subprocess.PIPE if pipe_stdio else subprocess.DEVNULL,
            stdout=subprocess.PIPE if pipe_stdio else sink,
            stderr=sink,
            preexec_fn=_die_with_parent,
        )
    return Child(name, popen, log, started)


async def wait_healthy(
    child: Child, url: str, *, timeout: float = 20.0, interval: float = 0.02
) -> float:
    """Poll `url` every `interval` s until it answers 200; seconds since the child started."""
    deadline = time.perf_counter() + timeout
    async with httpx.AsyncClient(timeout=2.0) as http:
        while time.perf_counter() < deadline:
            if not child.alive():
                raise RuntimeError(f"{child.name} exited early:\n{child.log_tail()}")
            try:
                response = await http.get(url)
                if response.status_code == 200:
                    return time.perf_counter() - child.started
            except httpx.TransportError:
                pass
            await asyncio.sleep(interval)
    raise RuntimeError(f"{child.name} not healthy within {timeout} s:\n{child.log_tail()}")
