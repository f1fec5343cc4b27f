"""The soak's replicas and the load balancer in front of them.

Each replica is a real `occ-bot serve` process on a fixed loopback port (its slot's), so that
one killed and started again is found by the balancer where it was. The balancer is
pluggable: HAProxy from Debian's package (the benchmark), or `TcpBalancer`, a round-robin
TCP proxy in Python (the short soak in tests/, which must not depend on a system package).
"""

from __future__ import annotations

import asyncio
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import httpx

from bench.common import HOST
from bench.procs import OCC_BOT, Child, free_port, spawn, wait_healthy
from bench.tcp_balancer import TcpBalancer

HEALTHY_SECONDS = 60.0
REPLICA_STOP_SECONDS = 60.0  # > the drain on SIGTERM (background work, then job runs)
RESTART_SECONDS = 1.0


@dataclass
class Replica:
    slot: int
    port: int
    child: Child | None = None
    starts: int = 0
    failed_starts: int = 0  # exited before it was healthy (restarted by the supervisor)

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"


@dataclass
class Replicas:
    """`count` replicas, each started with `env` in its own folder under `work`."""

    count: int
    env: dict[str, str]
    work: Path
    logs: Path
    replicas: list[Replica] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.replicas = [Replica(slot, free_port()) for slot in range(1, self.count + 1)]

    @property
    def ports(self) -> list[int]:
        return [r.port for r in self.replicas]

    async def start(self, replica: Replica, *, supervised: bool = False) -> float:
        """Start the slot's process and wait for its /healthz; the time.time() it answered.

        `supervised`: as a service manager would (compose's ``restart: unless-stopped``),
        start it again whenever it exits before it is healthy (`occ-bot serve` exits when
        it cannot reach the database to apply migrations), every `RESTART_SECONDS`.
        """
        folder = self.work / f"replica-{replica.slot}"
        folder.mkdir(exist_ok=True)
        deadline = time.monotonic() + HEALTHY_SECONDS
        while True:
            replica.child = spawn(
                f"replica-{replica.slot}",
                [OCC_BOT, "serve", "--host", HOST, "--port", str(replica.port)],
                self.env,
                log_dir=self.logs,
                cwd=folder,
            )
            replica.starts += 1
            try:
                await wait_healthy(replica.child, f"{replica.url}/healthz", timeout=HEALTHY_SECONDS)
                return time.time()
            except RuntimeError:
                if not supervised or replica.child.alive() or time.monotonic() > deadline:
                    raise
                replica.failed_starts += 1
                await asyncio.sleep(RESTART_SECONDS)

    async def start_all(self) -> None:
        await asyncio.gather(*(self.start(r) for r in self.replicas))

    def kill(self, replica: Replica) -> float:
        """SIGKILL, reaped; the time.time() it was sent."""
        assert replica.child is not None
        at = time.time()
        replica.child.popen.send_signal(signal.SIGKILL)
        replica.child.popen.wait(timeout=10)
        return at

    def stop_all(self) -> dict[int, int | None]:
        """One SIGTERM each (they drain their work, as under a service manager), then wait
        (SIGKILL after `REPLICA_STOP_SECONDS`); each slot's exit code."""
        running = [r.child for r in self.replicas if r.child is not None and r.child.alive()]
        for child in running:
            child.popen.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + REPLICA_STOP_SECONDS
        for child in running:
            try:
                child.popen.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.stop(kill=True)
        return {r.slot: r.child.popen.returncode for r in self.replicas if r.child is not None}


class Balancer(Protocol):
    """What the soak needs of a load balancer: one URL in front of the replicas' ports."""

    name: str

    async def start(self, ports: list[int]) -> str: ...

    async def stop(self) -> None: ...


class PythonBalancer:
    """`TcpBalancer`: round robin, a refused connection tried on the next replica."""

    name = "round-robin TCP proxy (bench/tcp_balancer.py)"

    def __init__(self) -> None:
        self._proxy: TcpBalancer | None = None

    async def start(self, ports: list[int]) -> str:
        self._proxy = TcpBalancer([(HOST, p) for p in ports])
        await self._proxy.start()
        return self._proxy.url

    async def stop(self) -> None:
        if self._proxy is not None:
            await self._proxy.stop()


HAPROXY_CFG = """\
# Written by bench/soak.py for one run; deploy/haproxy.cfg is the same for containers.
global
    maxconn 4000

defaults
    mode http
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    timeout http-keep-alive 10s
    # a connection a replica refuses (killed, or stopping) is tried again on another one
    retries 3
    option redispatch 1

frontend occ
    bind {host}:{port}
    default_backend replicas

backend replicas
    balance roundrobin
    option httpchk
    http-check send meth GET uri /healthz
    http-check expect status 200
    default-server inter 1s fall 2 rise 1
{servers}
    # While every replica fails its check at once (the database down: /healthz answers 503)
    # they still take Slack's clicks, which their spools keep: the same replicas, unchecked.
    option allbackups
{backups}
"""


class HAProxyBalancer:
    """HAProxy (Debian's package, installed when missing) in HTTP mode, checking /healthz."""

    def __init__(self, work: Path, logs: Path) -> None:
        self.work, self.logs = work, logs
        self.binary = ensure_haproxy()
        self.version = _version(self.binary)
        self.name = f"HAProxy {self.version}"
        self._child: Child | None = None

    async def start(self, ports: list[int]) -> str:
        port = free_port()
        servers = "\n".join(f"    server r{n} {HOST}:{p} check" for n, p in enumerate(ports, 1))
        backups = "\n".join(f"    server b{n} {HOST}:{p} backup" for n, p in enumerate(ports, 1))
        config = self.work / "haproxy.cfg"
        config.write_text(
            HAPROXY_CFG.format(host=HOST, port=port, servers=servers, backups=backups)
        )
        self._child = spawn(
            "haproxy", [self.binary, "-db", "-f", str(config)], {}, log_dir=self.logs, cwd=self.work
        )
        url = f"http://{HOST}:{port}"
        await wait_healthy(self._child, f"{url}/healthz", timeout=HEALTHY_SECONDS)
        return url

    async def stop(self) -> None:
        if self._child is not None:
            self._child.stop()


def ensure_haproxy() -> str:
    """The haproxy binary; installs Debian's package if missing (apt-get update only on
    failure), as `bench.wrk.ensure_wrk` does for wrk."""
    found = shutil.which("haproxy") or shutil.which("/usr/sbin/haproxy")
    if found:
        return found
    install = ["apt-get", "install", "-y", "haproxy"]
    if _quiet(install) != 0:
        _quiet(["apt-get", "update"])
        _quiet(install)
    found = shutil.which("haproxy") or shutil.which("/usr/sbin/haproxy")
    if not found:
        raise RuntimeError("haproxy is missing and `apt-get install -y haproxy` failed")
    return found


def _quiet(argv: list[str]) -> int:
    return subprocess.run(argv, capture_output=True, check=False, timeout=600).returncode


def _version(binary: str) -> str:
    out = subprocess.run([binary, "-v"], capture_output=True, text=True, timeout=10).stdout
    words = out.split()
    return words[2] if len(words) > 2 else "?"


async def wait_url(url: str, timeout: float) -> bool:
    """Whether `url` answers 200 within `timeout` s."""
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(timeout=2) as http:
        while time.monotonic() < deadline:
            try:
                if (await http.get(url)).status_code == 200:
                    return True
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    return False
