"""A durable local spool: records kept in a file while the database is down.

Each record is one JSON line, flushed and fsynced before `append` returns, so a decision an
operator was told is queued survives a crash. The file is this process's own
(``<dir>/<host>-<pid>-<random>.jsonl``); a lock file beside it (``.lock``) is held for the
process's life, so the data file itself can be rewritten and renamed into place when records
leave it, oldest first, once applied. A spool whose process has died has an unlocked lock
file, and is adopted by the next process that looks (`adopt_orphans`). A line that cannot be
read (torn by a crash mid-write) is skipped with a warning rather than blocking the rest.

The spool also keeps, in a second file (``.inflight``), each decision an operator has been
told is taken but that is not applied yet (`hold`, `release`): written before Slack's answer
leaves, not fsynced, since it must outlive this process being killed (SIGKILL, an OOM kill),
not the machine. Only an orphan's in-flight decisions are ever replayed: the live process
applies its own.

Records hold operators' texts and act as the operator they name when replayed, so the folder
is the bot's alone (0700, files 0600; a folder others can write to is refused) and each line
carries an HMAC-SHA256 under a key derived from a secret the bot already has: a line that
fails it, or a file another user owns, is never replayed.
"""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import json
import logging
import os
import socket
import stat
import uuid
from pathlib import Path
from typing import IO, Any

log = logging.getLogger("occ.spool")


MAC = "mac"
DONE = "done"  # an in-flight line naming the record(s) applied: an id, or a list of ids
INFLIGHT = ".inflight"
COMPACT_BYTES = 1 << 20  # the in-flight file is rewritten with what is held past this size


class UnsafeSpool(Exception):
    """The spool folder is not the bot's alone."""


def spool_key(secret: str) -> bytes:
    """The records' HMAC key, derived from a secret of the bot's (not the secret itself)."""
    return hmac.new(secret.encode(), b"occ-bot spool records v1", hashlib.sha256).digest()


class Spool:
    """Nothing is created on disk until the first record (or an adopted orphan) arrives.

    Args:
        folder: the spool folder (``OCC_SPOOL_DIR``).
        key: the records' HMAC key (`spool_key`).
    """

    def __init__(self, folder: Path, key: bytes) -> None:
        self.folder = folder
        self.path = folder / f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}.jsonl"
        self._key = key
        self._lock: IO[str] | None = None
        self._inflight: IO[str] | None = None
        self._held: dict[str, dict[str, Any]] = {}
        self._held_line_bytes = 0  # the longest held line: bounds what compaction keeps

    @property
    def inflight_path(self) -> Path:
        return self.path.with_suffix(INFLIGHT)

    def check(self) -> None:
        """Refuse a folder that others can write to or that is not ours (`UnsafeSpool`)."""
        if not self.folder.exists():
            return
        found = self.folder.stat()
        if found.st_uid != os.getuid():
            raise UnsafeSpool(f"{self.folder} belongs to another user (uid {found.st_uid})")
        if found.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
            raise UnsafeSpool(
                f"{self.folder} can be written by others (mode {stat.filemode(found.st_mode)}); "
                f"run chmod 700 {self.folder}"
            )

    def _own(self) -> None:
        if self._lock is not None:
            return
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.check()
        self._lock = _private(self.path.with_suffix(".lock"), "w")
        fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        _private(self.path, "a").close()

    def append(self, record: dict[str, Any]) -> None:
        self._own()
        with _private(self.path, "a") as out:
            out.write(self._line(record))
            out.flush()
            os.fsync(out.fileno())

    def hold(self, record: dict[str, Any]) -> None:
        """Note a decision taken but not applied yet (its ``id`` set); `release` it once it
        is applied, refused or kept in the spool. A process that dies first leaves it in its
        in-flight file, which `adopt_orphans` moves into another process's spool."""
        self._own()
        self._held[record["id"]] = record
        line = self._line(record)
        self._held_line_bytes = max(self._held_line_bytes, len(line))
        self._write_inflight(line)

    def release(self, record_id: str) -> None:
        self.release_many([record_id])

    def release_many(self, record_ids: list[str]) -> None:
        """`release` each, in one write."""
        done = [i for i in record_ids if self._held.pop(i, None) is not None]
        if not done:
            return
        if not self._held:  # nothing in flight: the file starts again empty
            self._open_inflight("w")
            self._held_line_bytes = 0
            return
        self._write_inflight(self._line({DONE: done}))  # one line (one MAC) for them all
        # Rewritten once mostly spent, not each time while what is held alone passes the size
        # (a backlog of thousands held would rewrite them all on every release).
        size = self.inflight_path.stat().st_size
        if size > COMPACT_BYTES and size > 2 * len(self._held) * self._held_line_bytes:
            temporary = self.path.with_suffix(".inflight-tmp")
            lines = [self._line(r) for r in self._held.values()]
            self._held_line_bytes = max(map(len, lines))
            with _private(temporary, "w") as out:
                out.writelines(lines)
            os.replace(temporary, self.inflight_path)
            self._open_inflight("a")

    @property
    def held(self) -> int:
        return len(self._held)

    def _open_inflight(self, mode: str) -> IO[str]:
        if self._inflight is not None:
            self._inflight.close()
        self._inflight = _private(self.inflight_path, mode)
        return self._inflight

    def _write_inflight(self, line: str) -> None:
        out = self._inflight if self._inflight is not None else self._open_inflight("a")
        out.write(line)
        out.flush()  # in the kernel's hands: it outlives this process

    def _read_inflight(self, path: Path) -> list[dict[str, Any]]:
        """An in-flight file's records not marked applied."""
        lines = self._read(path) if path.exists() else []
        done: set[str] = set()
        for line in lines:
            marked = line.get(DONE)
            done.update([marked] if isinstance(marked, str) else marked or [])
        return [r for r in lines if DONE not in r and r.get("id") not in done]

    def records(self) -> list[dict[str, Any]]:
        return self._read(self.path) if self.path.exists() else []

    def _line(self, record: dict[str, Any]) -> str:
        body = {k: v for k, v in record.items() if k != MAC}
        return json.dumps({**body, MAC: self._mac(body)}, separators=(",", ":")) + "\n"

    def _mac(self, body: dict[str, Any]) -> str:
        text = json.dumps(body, separators=(",", ":"), sort_keys=True).encode()
        return hmac.new(self._key, text, hashlib.sha256).hexdigest()

    def _read(self, path: Path) -> list[dict[str, Any]]:
        """The file's records whose MAC holds; none from a file another user owns."""
        if path.stat().st_uid != os.getuid():
            log.warning("%s belongs to another user: not replayed", path)
            return []
        found = []
        for record in _read(path):
            body = {k: v for k, v in record.items() if k != MAC}
            given = record.get(MAC)
            if isinstance(given, str) and hmac.compare_digest(given, self._mac(body)):
                found.append(body)
            else:
                log.warning("%s holds a record occ-bot did not write: not replayed", path)
        return found

    def __len__(self) -> int:
        return len(self.records())

    def remove(self, record_id: str) -> None:
        """Drop an applied record: rewrite the file without it, then rename it into place."""
        if not self.path.exists():
            return
        kept = [r for r in self.records() if r.get("id") != record_id]
        temporary = self.path.with_suffix(".tmp")
        with _private(temporary, "w") as out:
            for record in kept:
                out.write(self._line(record))
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, self.path)

    def adopt_orphans(self) -> int:
        """Move the records of spools whose process died into this one, with the decisions
        it still had in flight; how many."""
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
                inflight = lock_path.with_suffix(INFLIGHT)
                kept = self._read(data) if data.exists() else []
                for record in kept + self._read_inflight(inflight):
                    self.append(record)
                    moved += 1
                data.unlink(missing_ok=True)
                inflight.unlink(missing_ok=True)
                lock_path.unlink(missing_ok=True)
        return moved

    def close(self) -> None:
        """Release the spool; its files are removed if nothing is left in them (what is still
        held in flight, work dropped at shutdown, is left for the next process)."""
        if self._lock is None or self._lock.closed:
            return
        if self._inflight is not None:
            self._inflight.close()
        if not self.records() and not self._held:
            self.path.unlink(missing_ok=True)
            self.inflight_path.unlink(missing_ok=True)
            self.path.with_suffix(".lock").unlink(missing_ok=True)
        self._lock.close()


def _private(path: Path, mode: str) -> IO[str]:
    """Open (creating it 0600, readable by the bot alone) a spool file."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if mode == "a" else os.O_TRUNC)
    return os.fdopen(os.open(path, flags, 0o600), mode, encoding="utf-8")


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
