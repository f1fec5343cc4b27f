"""A durable local spool: records kept in a file while the database is down.

Each record is one JSON line, flushed and fsynced before `append` returns, so a decision an
operator was told is queued survives a crash. The file is this process's own
(``<dir>/<host>-<pid>-<random>.jsonl``, held with an exclusive lock, removed when
it is closed empty); records leave it, oldest first,
once applied (the file is rewritten and renamed into place). A file whose process has died
is unlocked and is taken over by the next process that looks (`orphans`).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any


class Spool:
    def __init__(self, folder: Path, name: str | None = None) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        own = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}.jsonl"
        self.path = folder / (name or own)
        self._file: IO[str] = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115
        fcntl.flock(self._file, fcntl.LOCK_EX | fcntl.LOCK_NB)

    def append(self, record: dict[str, Any]) -> None:
        self._file.write(json.dumps(record, separators=(",", ":")) + "\n")
        self._file.flush()
        os.fsync(self._file.fileno())

    def records(self) -> list[dict[str, Any]]:
        self._file.seek(0)
        return [json.loads(line) for line in self._file if line.strip()]

    def __len__(self) -> int:
        return len(self.records())

    def remove(self, record_id: str) -> None:
        """Drop an applied record: rewrite the file without it, then rename it into place."""
        kept = [r for r in self.records() if r.get("id") != record_id]
        temporary = self.path.with_suffix(".tmp")
        with open(temporary, "w", encoding="utf-8") as out:
            for record in kept:
                out.write(json.dumps(record, separators=(",", ":")) + "\n")
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, self.path)
        old, self._file = self._file, open(self.path, "a+", encoding="utf-8")  # noqa: SIM115
        fcntl.flock(self._file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        old.close()

    def adopt_orphans(self) -> int:
        """Move the records of spool files whose process died into this one; how many."""
        moved = 0
        for other in sorted(self.folder.glob("*.jsonl")):
            if other == self.path:
                continue
            with _locked(other) as handle:
                if handle is None:
                    continue  # its process is alive and will replay it
                for line in handle:
                    if line.strip():
                        self.append(json.loads(line))
                        moved += 1
                other.unlink()
        return moved

    def close(self) -> None:
        """Close the file, and remove it if nothing is left in it."""
        if self._file.closed:
            return
        empty = not self.records()
        self._file.close()
        if empty:
            self.path.unlink(missing_ok=True)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[IO[str] | None]:
    with open(path, encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield None
            return
        yield handle
