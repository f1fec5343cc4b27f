"""What a card shows of Chatwoot's side, and the Correction modal, as Slack would take them:
the assignee on a waiting card, corrections under the sent text (escaped, within Slack's
12,000-character budget, the latest five), and a modal that starts with what was sent."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from bot.blocks.card import draft_card
from bot.blocks.ids import CallbackId, InputId
from bot.blocks.modals import correction_modal, read_correction_metadata
from bot.domain import (
    Assignee,
    Delivery,
    DeliveryStatus,
    MessageKind,
    OutboxMessage,
)
from tests.approvals.test_blocks import (
    HOSTILE,
    HOSTILE_RAW,
    NOW,
    OPERATOR,
    approved,
    make_draft,
    visible_text,
)
from tests.blocks_limits import all_text, assert_valid_message, assert_valid_modal


def correction(n: int, text: str, status: DeliveryStatus = DeliveryStatus.SENT, **delivery):
    return OutboxMessage(
        id=f"correction_d_susan_{n}",
        subject_id="d_susan",
        conversation_id=101,
        kind=MessageKind.REPLY,
        content=text,
        action="correction.sent",
        actor=OPERATOR,
        created_at=NOW + timedelta(minutes=10 + n),
        delivery=Delivery(status=status, **delivery),
    )


def card(draft, **beside) -> list[dict]:
    return draft_card(
        draft, conversation_url=None, chatwoot_enabled=True, managers_only=False, **beside
    )


def test_a_waiting_card_says_who_is_on_it_in_chatwoot_escaped() -> None:
    blocks = card(make_draft(), assignee=Assignee(3, f"Dana {HOSTILE}", NOW))
    assert_valid_message(blocks)
    text = visible_text(blocks)
    assert "Dana" in text and "is on it in Chatwoot" in text
    assert not any(raw in all_text(blocks) for raw in HOSTILE_RAW)


def test_a_decided_card_says_nothing_of_the_assignee() -> None:
    sent = approved(make_draft(), DeliveryStatus.SENT)
    assert "is on it" not in visible_text(card(sent, assignee=Assignee(3, "Dana", NOW)))


def test_corrections_show_under_the_sent_text_with_how_each_went() -> None:
    sent = approved(make_draft(), DeliveryStatus.SENT)
    blocks = card(
        sent,
        corrections=(
            correction(1, "It ships tomorrow.", sent_at=NOW + timedelta(minutes=12)),
            correction(2, "Tracking: 123.", DeliveryStatus.FAILED, last_error="HTTP 502"),
            correction(3, "Sorry!", DeliveryStatus.GAVE_UP, last_error="reply window closed"),
            correction(4, "One more thing.", DeliveryStatus.SENDING),
        ),
    )
    assert_valid_message(blocks)
    text = visible_text(blocks)
    order = [text.index(s) for s in ("*Text sent*", "Correction 1", "It ships tomorrow.")]
    assert order == sorted(order)
    assert f"*✍️ Correction 1* by <@{OPERATOR}>, sent <!date^" in text
    assert "Correction 2* by" in text and "Chatwoot failed: HTTP 502; retrying soon" in text
    assert "not sent: reply window closed. Send it again with Send Correction." in text
    assert "Correction 4* by" in text and "sending…" in text


def test_only_the_latest_five_corrections_show_and_the_rest_are_counted() -> None:
    sent = approved(make_draft(), DeliveryStatus.SENT)
    many = tuple(correction(n, f"Correction text number {n}.") for n in range(1, 8))
    text = visible_text(card(sent, corrections=many))
    assert "2 earlier corrections in Chatwoot" in text
    assert "Correction 2*" not in text and "Correction 3*" in text and "Correction 7*" in text


def test_long_and_hostile_corrections_stay_within_slacks_budget_and_escaped() -> None:
    sent = approved(make_draft(), DeliveryStatus.SENT)
    long = tuple(correction(n, f"{HOSTILE} " + "x" * 9000) for n in range(1, 4))
    blocks = card(sent, corrections=long)
    assert_valid_message(blocks)
    assert not any(raw in all_text(blocks) for raw in HOSTILE_RAW)
    assert "the customer gets all of it" in visible_text(blocks)


def test_the_correction_modal_starts_with_what_was_sent_and_carries_its_number() -> None:
    sent = approved(make_draft(), DeliveryStatus.SENT)
    view = correction_modal(sent, sent.input.draft, 2)
    assert_valid_modal(view)
    assert view["callback_id"] == CallbackId.CORRECTION
    [box] = [b for b in view["blocks"] if b.get("block_id") == InputId.CORRECTION_TEXT]
    assert box["element"]["initial_value"] == sent.input.draft
    assert read_correction_metadata(view["private_metadata"]) == ("d_susan", 2, "")


def test_a_long_sent_text_is_split_over_boxes_and_joined_again() -> None:
    sent = approved(make_draft(), DeliveryStatus.SENT)
    text = "\n".join(f"Line {n}: " + "y" * 70 for n in range(100))  # ~7,800 characters
    view = correction_modal(replace(sent), text, 1)
    assert_valid_modal(view)
    _, _, joins = read_correction_metadata(view["private_metadata"])
    assert len(joins) >= 2


@pytest.mark.parametrize(
    "metadata", ["d_susan", "d_susan|0|", "d_susan|x|", "d_susan|1|q", "|1|", "d|1||", "d|¹|"]
)
def test_metadata_that_is_not_a_correction_modals_is_refused(metadata: str) -> None:
    with pytest.raises(ValueError):
        read_correction_metadata(metadata)
