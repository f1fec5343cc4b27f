"""QA review's pure parts: which replies a manager reviews first, the figures the documents
give (and where), the review card within Block Kit's limits, and each review button heard by
the real Bolt app."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from bot.app import create_bolt_app
from bot.blocks.ids import ActionId
from bot.blocks.qa_review import coach_modal, coaching_note, review_card
from bot.blocks.text import BUTTON_TEXT_MAX
from bot.domain import (
    Band,
    Decision,
    DecisionKind,
    Delivery,
    DeliveryStatus,
    Draft,
    DraftInput,
    QaReview,
    TrainingCard,
    Verdict,
)
from bot.rules.qa import PILOT, QUALITY_BAR, REVIEW_BUTTONS, reviewable, sample
from tests.approvals.test_button_specs import press
from tests.blocks_limits import assert_valid_message, assert_valid_modal
from tests.harness import BotUnderTest
from tests.security.test_authorization_matrix import MATRIX

AT = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


def reply(
    n: int,
    confidence: float,
    *,
    operator: str = "U0OLIVIA",
    edited: bool = False,
    status: DeliveryStatus = DeliveryStatus.SENT,
) -> Draft:
    text = f"Draft {n}"
    return Draft(
        id=f"d-{n}",
        input=DraftInput(
            conversation_id=n, customer_message="Where is it?", draft=text, confidence=confidence
        ),
        received_at=AT,
        decision=Decision(
            DecisionKind.EDIT if edited else DecisionKind.APPROVE,
            operator,
            AT + timedelta(minutes=n),
            final_text=f"{text} (edited)" if edited else text,
        ),
        reply=Delivery(status=status),
    )


def test_edited_then_low_confidence_replies_come_first_up_to_the_sample_size():
    replies = [
        reply(1, 0.95),
        reply(2, 0.65),
        reply(3, 0.91, edited=True),
        reply(4, 0.50),
        reply(5, 0.80),
        reply(6, 0.99, edited=True),
        reply(7, 0.72, operator="U0OSCAR"),
    ]

    picked = sample(replies, 4)

    assert {op: [d.id for d in drafts] for op, drafts in picked.items()} == {
        "U0OLIVIA": ["d-3", "d-6", "d-4", "d-2"],  # edited, then Low (the lowest first)
        "U0OSCAR": ["d-7"],
    }


def test_only_sent_customer_replies_are_reviewed():
    failed = reply(1, 0.9, status=DeliveryStatus.FAILED)
    recorded = reply(2, 0.9, status=DeliveryStatus.RECORDED)  # Chatwoot not configured
    practice = replace(reply(3, 0.9), training=TrainingCard("U0T", "r-1", "demo-1"))
    rejected = replace(reply(4, 0.9), decision=Decision(DecisionKind.REJECT, "U0OLIVIA", AT))

    assert [reviewable(d) for d in (failed, recorded, practice, rejected)] == [
        False,
        True,
        False,
        False,
    ]


# seeds/000, as written there: Success Metrics, 4-Week Follow-Up, Performance; and the Q&A's
# "How accurate is the AI really?".
QA_BAR = "**80%+** approval decisions deemed correct by QA"
PILOT_LINES = {
    Band.HIGH: "**High confidence (90-100%):** ~95% approved as-is or with minor edits",
    Band.MEDIUM: "**Medium confidence (70-89%):** ~75% approved after editing",
    Band.LOW: "**Low confidence (<70%):** ~40% approved, often need major work or rejection",
}


def test_the_bar_and_the_pilot_figures_are_the_documents():
    assert f"**{round(QUALITY_BAR * 100)}%+**" in QA_BAR
    for band, line in PILOT_LINES.items():
        assert f"~{round(PILOT[band].rate * 100)}% {PILOT[band].counted}" in line


def test_the_review_surfaces_keep_within_block_kit_limits():
    long = "<!channel> " + "x" * 160_000
    draft = reply(1, 0.5, edited=True)
    draft = replace(
        draft,
        input=replace(draft.input, customer_message=long, draft=long),
        decision=replace(draft.decision, final_text=long),
    )
    review = QaReview("d-1", "U0OLIVIA", "U0MORGAN", Verdict.COACH, long, AT, AT)

    shown = (review_card(draft, None), review_card(draft, review), coaching_note(draft, review)[0])
    for blocks in shown:
        assert_valid_message(blocks)
        assert "<!channel>" not in str(blocks)
    assert_valid_modal(coach_modal(draft))


def test_each_review_button_is_an_action_id_with_a_matrix_row_and_a_short_label():
    rows = {interaction for interaction, _ in MATRIX}
    for button in REVIEW_BUTTONS:
        assert ActionId(button.action_id) and button.action_id in rows
        assert 0 < len(button.label) <= BUTTON_TEXT_MAX
    assert [b.label.split()[-1] for b in REVIEW_BUTTONS] == ["Good", "Coach"]


async def test_each_review_button_has_a_listener_on_the_app(bot: BotUnderTest):
    assert bot.services is not None
    app = create_bolt_app(bot.services)
    statuses = {b.action_id: await press(app, b.action_id, "D0MANAGER1") for b in REVIEW_BUTTONS}
    await bot.settle()
    assert statuses == {b.action_id: 200 for b in REVIEW_BUTTONS}
