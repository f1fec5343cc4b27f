"""A durable local spool: records kept in a file while the database is down.

Each record is one JSON line, flushed and fsynced before `append` returns, so a decision an
operator was told is queued survives a crash. The file is this process's own
(``<dir>/<host>-<pid>-<random>.jsonl``); a lock file beside it (``.lock``) is held for the
process's life, so the data file itself can be rewritten and renamed into place when records
leave it, oldest first, once applied. A spool whose process has died has an unlocked lock
file, and is adopted by the next process that looks (`adopt_orphans`). A line that cannot be
read (torn by a crash mid-write) is skipped with a warning rather than blocking the rest.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import socket
import uuid
from pathlib import Path
from typing import IO, Any

log = logging.getLogger("occ.spool")


class Spool:
    """Nothing is created on disk until the first record (or an adopted orphan) arrives."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.path = folder / f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}.jsonl"
        self._lock: IO[str] | None = None

    def _own(self) -> None:
        if self._lock is not None:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        self._lock = open(self.path.with_suffix(".lock"), "w")  # noqa: SIM115
        fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        self.path.touch()

    def append(self, record: dict[str, Any]) -> None:
        self._own()
        with open(self.path, "a", encoding="utf-8") as out:
            out.write(json.dumps(record, separators=(",", ":")) + "\n")
            out.flush()
            os.fsync(out.fileno())

    def records(self) -> list[dict[str, Any]]:
        return _read(self.path) if self.path.exists() else []

    def __len__(self) -> int:
        return len(self.records())

    def remove(self, record_id: str) -> None:
        """Drop an applied record: rewrite the file without it, then rename it into place."""
        if not self.path.exists():
            return
        kept = [r for r in self.records() if r.get("id") != record_id]
        temporary = self.path.with_suffix(".tmp")
        with open(temporary, "w", encoding="utf-8") as out:
            for record in kept:
                out.write(json.dumps(record, separators=(",", ":")) + "\n")
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, self.path)

    def adopt_orphans(self) -> int:
        """Move the records of spools whose process died into this one; how many."""
        moved = 0
        if not self.folder.is_dir():
            return 0
        for lock_path in sorted(self.folder.glob("*.lock")):
            data = lock_path.with_suffix(".jsonl")
            if data == self.path:
                continue
            with open(lock_path, "a") as lock:
                try:
                    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    continue  # its process is alive and replays it
                for record in _read(data) if data.exists() else []:
                    self.append(record)
                    moved += 1
                data.unlink(missing_ok=True)
                lock_path.unlink(missing_ok=True)
        return moved

    def close(self) -> None:
        """Release the spool; its file is removed if nothing is left in it."""
        if self._lock is None or self._lock.closed:
            return
        if not self.records():
            self.path.unlink(missing_ok=True)
            self.path.with_suffix(".lock").unlink(missing_ok=True)
        self._lock.close()


def _read(path: Path) -> list[dict[str, Any]]:
    found = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                found.append(json.loads(line))
            except ValueError:
                log.warning("%s line %s is unreadable (torn by a crash?); skipped", path, number)
    return found
