"""The harness itself: settle() cannot pass over unfinished or failed work, an ERROR nobody
expected fails the test, and the real payloads differ from Slack's captures only in the ids."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from xml.etree import ElementTree

import pytest

from bot.blocks.ids import CallbackId, InputId
from tests.harness import (
    OPERATOR,
    REAL_BUTTON_CLICK,
    REAL_VIEW_SUBMISSION,
    BackgroundFailed,
    BotUnderTest,
    real_block_action,
    real_fixture,
    real_view_submission,
    text_value,
)

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "how",
    [
        pytest.param(
            how,
            marks=pytest.mark.expect_errors(
                rf"occ\.background: background work {how}-boom failed \[RuntimeError: {how} bug\]"
            ),
        )
        for how in ("queued", "urgent")
    ],
)
async def test_settle_fails_when_background_work_raised(bot: BotUnderTest, how):
    async def boom() -> None:
        raise RuntimeError(f"{how} bug")

    background = bot.services.background
    spawn = background.spawn if how == "queued" else background.spawn_now
    spawn(boom(), name=f"{how}-boom")

    with pytest.raises(BackgroundFailed, match=f"{how}-boom failed.*{how} bug"):
        await bot.settle()
    await bot.settle()  # reported once: the next settle has nothing new to say


@pytest.mark.parametrize("how", ["queued", "urgent"])
async def test_settle_fails_when_work_is_still_pending_after_the_timeout(bot: BotUnderTest, how):
    release = asyncio.Event()
    background = bot.services.background
    spawn = background.spawn if how == "queued" else background.spawn_now
    spawn(release.wait(), name="slow")

    with pytest.raises(BackgroundFailed, match=r"1 item\(s\) of background work still pending"):
        await bot.settle(timeout=0.2)

    release.set()
    await bot.settle()
    assert background.pending == 0


def _differences(a, b, path: str = "") -> set[str]:
    if isinstance(a, dict) and isinstance(b, dict) and a.keys() == b.keys():
        return set().union(*(_differences(a[k], b[k], f"{path}.{k}".lstrip(".")) for k in a))
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return set().union(
            *(_differences(x, y, f"{path}.{i}") for i, (x, y) in enumerate(zip(a, b, strict=True)))
        )
    return set() if a == b else {path}


def test_a_real_click_is_slacks_capture_with_only_the_ids_swapped():
    payload = real_block_action(
        user=OPERATOR, action_id="draft_approve", value="d-1", channel="C1", message_ts="1.2"
    )
    assert _differences(real_fixture(REAL_BUTTON_CLICK), payload) == {
        "trigger_id",  # each click its own: Slack's triggers work once
        "user.id",
        "container.channel_id",
        "container.message_ts",
        "channel.id",
        "message.ts",
        "actions.0.action_id",
        "actions.0.value",
    }
    assert payload["user"] == {"id": OPERATOR}  # Slack's capture sends no name: none is needed


def test_a_real_submission_is_slacks_capture_with_only_the_ids_and_values_swapped():
    values = text_value(InputId.EDIT_TEXT, "new text")
    payload = real_view_submission(
        user=OPERATOR, callback_id=CallbackId.EDIT.value, private_metadata="d-1", values=values
    )
    captured = real_fixture(REAL_VIEW_SUBMISSION)
    assert _differences(captured, payload) == {
        "user.id",
        "view.callback_id",
        "view.private_metadata",
        "view.state.values",
    }
    assert payload["view"]["state"]["values"] == {
        "edit_text": {"edit_text": {"type": "plain_text_input", "value": "new text"}}
    }


def test_a_field_the_capture_does_not_have_cannot_be_swapped_in():
    from tests.harness import swap

    payload = real_fixture(REAL_BUTTON_CLICK)
    with pytest.raises(AssertionError, match=r"user\.name: not in the captured payload"):
        swap(payload, "user.name", "olivia")


GUARDED = """
import logging

import pytest

log = logging.getLogger("occ.somewhere")


def test_unexpected_error():
    log.error("disk on fire %d", 1)


def test_error_from_a_library_on_the_root_logger():
    logging.getLogger("somelib").critical("from a library")


@pytest.mark.expect_errors(r"occ\\.somewhere: expected fire")
def test_expected_error():
    log.error("expected fire")


@pytest.mark.expect_errors(r"ValueError: bad value")
def test_expected_exception():
    try:
        raise ValueError("bad value")
    except ValueError:
        log.exception("handling failed")


@pytest.mark.expect_errors("never logged")
def test_a_marker_whose_error_never_came():
    pass


@pytest.mark.expect_errors("expected fire")
def test_one_expected_and_one_not():
    log.error("expected fire")
    log.error("something else")


def test_warnings_are_fine():
    log.warning("just a warning")
"""


def test_an_error_log_nobody_expected_fails_the_test(tmp_path):
    (tmp_path / "conftest.py").write_text(
        "from tests.conftest import error_logs, pytest_configure  # noqa: F401\n"
    )
    (tmp_path / "test_guarded.py").write_text(textwrap.dedent(GUARDED))
    report = tmp_path / "report.xml"
    subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", f"--junitxml={report}"],
        cwd=tmp_path,
        env=os.environ | {"PYTHONPATH": str(ROOT)},
        capture_output=True,
        timeout=120,
        check=False,
    )
    problems = {
        case.get("name"): " ".join(e.get("message", "") for e in case.iter("error"))
        for case in ElementTree.parse(report).iter("testcase")
    }
    expected = {
        "test_unexpected_error": "unexpected ERROR log: occ.somewhere: disk on fire 1",
        "test_error_from_a_library_on_the_root_logger": "unexpected ERROR log: somelib: from a "
        "library",
        "test_expected_error": None,
        "test_expected_exception": None,
        "test_a_marker_whose_error_never_came": "expected an ERROR log matching 'never logged'; "
        "none was logged",
        "test_one_expected_and_one_not": "unexpected ERROR log: occ.somewhere: something else",
        "test_warnings_are_fine": None,
    }
    assert problems.keys() == expected.keys()
    for name, why in expected.items():
        assert (why in problems[name]) if why else problems[name] == "", (name, problems[name])
