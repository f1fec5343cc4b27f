"""The spool's in-flight file: what a process holds and has not released is what the next
process adopts; released decisions never come back, however long the file has grown."""

from __future__ import annotations

from bot.runtime.spool import COMPACT_BYTES, Spool, spool_key

KEY = spool_key("signing-secret")


def decision(n: int) -> dict:
    return {
        "kind": "approve",
        "draft_id": f"d-{n}",
        "user": "U0OPERATOR1",
        "at": "2026-12-06T10:00:00+00:00",
        "id": f"sp-{n}",
        "text": "x" * 200,
    }


def test_a_dead_process_leaves_what_it_held_and_only_that(tmp_path):
    first = Spool(tmp_path / "spool", KEY)
    for n in range(5):
        first.hold(decision(n))
    for n in (0, 2, 4):
        first.release(f"sp-{n}")
    first._lock.close()  # the process dies: its lock goes with it, nothing else is cleaned

    successor = Spool(tmp_path / "spool", KEY)
    assert successor.adopt_orphans() == 2
    assert sorted(r["draft_id"] for r in successor.records()) == ["d-1", "d-3"]
    left = {p.stem for p in (tmp_path / "spool").iterdir()}
    assert left == {successor.path.stem}  # the dead process's files are gone


def test_a_process_that_released_everything_leaves_nothing(tmp_path):
    spool = Spool(tmp_path / "spool", KEY)
    for n in range(3):
        spool.hold(decision(n))
        spool.release(f"sp-{n}")
    assert spool.inflight_path.stat().st_size == 0
    spool.close()
    assert list((tmp_path / "spool").iterdir()) == []


def test_a_long_lived_file_is_compacted_to_what_is_held(tmp_path):
    spool = Spool(tmp_path / "spool", KEY)
    spool.hold(decision(0))  # held throughout: the file is never emptied
    for n in range(1, 3000):  # about 2 MB of lines written in all
        spool.hold(decision(n))
        spool.release(f"sp-{n}")
    assert spool.inflight_path.stat().st_size < COMPACT_BYTES
    spool._lock.close()

    successor = Spool(tmp_path / "spool", KEY)
    assert successor.adopt_orphans() == 1
    assert [r["draft_id"] for r in successor.records()] == ["d-0"]


def test_one_long_edit_once_held_does_not_keep_the_file_from_being_compacted(tmp_path):
    spool = Spool(tmp_path / "spool", KEY)
    spool.hold(decision(0) | {"text": "x" * 40_000})  # an operator's long edit, applied
    spool.release("sp-0")
    for n in range(1, 301):  # a backlog of short clicks held throughout
        spool.hold(decision(n))
    for n in range(301, 5000):  # about 1.5 MB of lines written meanwhile
        spool.hold(decision(n))
        spool.release(f"sp-{n}")
    assert spool.inflight_path.stat().st_size <= COMPACT_BYTES


def test_a_large_backlog_held_is_not_rewritten_on_every_release(tmp_path):
    spool = Spool(tmp_path / "spool", KEY)
    for n in range(6000):  # more held than the compaction size: a burst of clicks in flight
        spool.hold(decision(n))
    spool.release_many([f"sp-{n}" for n in range(100)])  # one group logged
    before = spool.inflight_path.stat().st_ino
    for n in range(100, 200):
        spool.release(f"sp-{n}")
    assert spool.inflight_path.stat().st_ino == before  # appended to, never rewritten
    for n in range(200, 6000):
        spool.release(f"sp-{n}")
    assert spool.inflight_path.stat().st_size == 0


def test_a_group_released_at_once_is_one_line(tmp_path):
    spool = Spool(tmp_path / "spool", KEY)
    for n in range(101):
        spool.hold(decision(n))
    spool.release_many([f"sp-{n}" for n in range(100)])
    assert len(spool.inflight_path.read_text().splitlines()) == 101 + 1
    spool._lock.close()

    successor = Spool(tmp_path / "spool", KEY)
    assert successor.adopt_orphans() == 1
    assert [r["draft_id"] for r in successor.records()] == ["d-100"]
