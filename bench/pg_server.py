"""A throw-away PostgreSQL server of the soak's own, so that it can be stopped and started.

The machine's cluster is shared (other tests use it meanwhile): it is never restarted. This
one is made with the machine's own binaries (``/usr/lib/postgresql/<version>/bin``): `initdb`
into a temp folder, then `pg_ctl` on a free loopback port, its socket in its own folder.
PostgreSQL refuses to run as root, so when the benchmark is root both run as the
``postgres`` system user (``runuser``). Trust authentication on 127.0.0.1 only; the folder
is deleted afterwards.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from bench.common import HOST
from bench.procs import free_port

BINARIES = Path("/usr/lib/postgresql")
SYSTEM_USER = "postgres"
DATABASE = "occ"
CTL_SECONDS = 60


def _bin_dir() -> Path:
    versions = sorted(
        (p for p in BINARIES.glob("*/bin") if (p / "initdb").exists()),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
    )
    if not versions:
        raise RuntimeError(f"no PostgreSQL binaries under {BINARIES}/*/bin (initdb, pg_ctl)")
    return versions[-1]


class PostgresServer:
    """``start()``, ``stop()``, ``restart()``; ``url`` is the soak database's."""

    def __init__(self) -> None:
        self.bin = _bin_dir()
        self.port = free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="occ-soak-pg-"))
        self.data = self.folder / "data"
        self.log = self.folder / "postgres.log"
        self._as: list[str] = []
        if os.geteuid() == 0:
            user = pwd.getpwnam(SYSTEM_USER)
            self._as = ["runuser", "-u", SYSTEM_USER, "--"]
            self.folder.chmod(0o755)  # the system user reaches its own folders inside
            for path in (self.data, self.log):
                if path == self.data:
                    path.mkdir(mode=0o700)
                else:
                    path.touch(mode=0o600)
                os.chown(path, user.pw_uid, user.pw_gid)
        self.user = SYSTEM_USER if self._as else pwd.getpwuid(os.geteuid()).pw_name
        self.version = self.bin.parent.name

    @property
    def admin_url(self) -> str:
        return f"postgresql://{self.user}@{HOST}:{self.port}/postgres"

    @property
    def url(self) -> str:
        return f"postgresql://{self.user}@{HOST}:{self.port}/{DATABASE}"

    def _run(self, *argv: str) -> None:
        result = subprocess.run(
            [*self._as, *argv],
            capture_output=True,
            text=True,
            timeout=CTL_SECONDS,
            cwd=self.folder,
        )
        if result.returncode != 0:
            raise RuntimeError(f"{Path(argv[0]).name} failed: {result.stderr or result.stdout}")

    def create(self) -> None:
        """initdb, start, and create the soak's database."""
        self._run(
            str(self.bin / "initdb"),
            "-D",
            str(self.data),
            "-A",
            "trust",
            "-U",
            self.user,
            "--no-sync",
            "-E",
            "UTF8",
        )
        self.start()
        import psycopg

        with psycopg.connect(self.admin_url, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'CREATE DATABASE "{DATABASE}"')

    def start(self) -> float:
        """Start and wait until it takes connections; the time.time() it did."""
        options = (
            f"-p {self.port} -c listen_addresses={HOST} -c unix_socket_directories={self.data} "
            "-c shared_buffers=64MB -c max_connections=200"
        )
        self._run(
            str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-o", options,
            "-w", "-t", str(CTL_SECONDS), "start",
        )  # fmt: skip
        return time.time()

    def stop(self, mode: str = "fast") -> float:
        """Stop (``fast``: open sessions are ended at once); the time.time() it was down."""
        self._run(
            str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w",
            "-t", str(CTL_SECONDS), "stop",
        )  # fmt: skip
        return time.time()

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def destroy(self) -> None:
        """Stop it (immediately) if it runs, and delete its folder."""
        try:
            if self.running():
                self.stop("immediate")
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)
