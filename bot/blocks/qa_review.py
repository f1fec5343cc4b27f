"""QA review's messages: a reply's review card (in a manager's DM), the Coach modal, the
coaching note the operator gets by DM, and `/occ review`'s answer.

A card shows what the operator had and did: the customer's message, the AI's draft, what was
sent, by whom and when; then **Good** and **Coach** until a manager gives the verdict, and the
verdict (with the note, and whether it reached the operator) after.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.blocks import kit
from bot.blocks import text as t
from bot.blocks.ids import CallbackId, InputId
from bot.blocks.labels import BAND_BADGE
from bot.domain import Draft, QaReview, Verdict
from bot.rules.qa import REVIEW_BUTTONS, edited
from bot.rules.risk import confidence_band

NAME_MAX = 100
MESSAGE_MAX = 1500
TEXT_MAX = 2500  # the draft, and what was sent: both fit Slack's 12,000-character budget
NOTE_MAX = 1000
SUMMARY_MAX = 600
COACHING_SPIRIT = (
    "Approvals are reviewed weekly for coaching, not punishment: a note says what to do next time."
)


def review_card(
    draft: Draft, review: QaReview | None, *, conversation_url: str | None = None
) -> list[dict[str, Any]]:
    """A sent reply as a manager reviews it: the buttons until it has a verdict, then the
    verdict.

    Args:
        draft: the reply's draft, decided (approved or edited) and delivered.
        review: its verdict, once a manager gave one.
        conversation_url: the conversation in Chatwoot, when Chatwoot is configured.
    """
    decision = draft.decision
    assert decision is not None and decision.final_text is not None
    data = draft.input
    band = BAND_BADGE[confidence_band(data.confidence)]
    how = "edited before sending" if edited(draft) else "sent as drafted"
    customer = t.inline(data.customer.name, NAME_MAX) if data.customer.name else "the customer"
    conversation = t.link(conversation_url, f"conversation #{data.conversation_id}")
    blocks = [
        kit.section(
            f"*QA review:* a reply by {t.mention(decision.actor)} to {customer}, "
            f"{t.slack_date(decision.at)}"
        ),
        kit.context(f"Confidence {t.percent(data.confidence)} ({band}) · {how} · {conversation}"),
        kit.section(f"*The customer wrote:*\n{t.quote(data.customer_message, MESSAGE_MAX)}"),
    ]
    if edited(draft):
        blocks.append(kit.section(f"*The AI's draft:*\n{t.quote(data.draft, TEXT_MAX)}"))
    blocks.append(kit.section(f"*Sent:*\n{t.quote(decision.final_text, TEXT_MAX)}"))
    if review is None:
        blocks.append(
            kit.actions(
                *(
                    kit.button(b.label, b.action_id, draft.id, style=b.style)
                    for b in REVIEW_BUTTONS
                ),
                block_id="qa_review",
            )
        )
    else:
        blocks.append(kit.section(verdict_text(review)))
    return blocks


def review_card_text(draft: Draft, review: QaReview | None) -> str:
    """The card's notification text."""
    assert draft.decision is not None
    who = t.mention(draft.decision.actor)
    if review is None:
        return f"QA review: a reply by {who}: Good or Coach?"
    return f"QA review: a reply by {who}, {_verdict_word(review)}"


def verdict_text(review: QaReview) -> str:
    """What a reviewed card says: the verdict, who gave it and when; a Coach verdict's note
    and whether it reached the operator."""
    by = f"by {t.mention(review.reviewer)} {t.slack_date(review.reviewed_at)}"
    if review.verdict is Verdict.GOOD:
        return f"👍 *Good*, {by}."
    lines = [f"🗣️ *Coached* {by}:", t.quote(review.note or "", NOTE_MAX)]
    if review.note_pending:
        lines.append(
            f"⏳ The note is on its way to {t.mention(review.operator)} by direct message "
            "(tried again until Slack takes it)."
        )
    else:
        lines.append(f"📨 The note reached {t.mention(review.operator)} by direct message.")
    return "\n".join(lines)


def _verdict_word(review: QaReview) -> str:
    return "Good" if review.verdict is Verdict.GOOD else "Coached"


def coach_modal(draft: Draft) -> dict[str, Any]:
    """The note a Coach verdict sends the operator: the reply it is about, and the note."""
    decision = draft.decision
    assert decision is not None and decision.final_text is not None
    if len(draft.id) > t.PRIVATE_METADATA_MAX:
        raise ValueError("draft id does not fit in private_metadata")
    summary = (
        f"*A reply by {t.mention(decision.actor)}*, {t.slack_date(decision.at)}\n"
        f"{t.quote(draft.input.customer_message, SUMMARY_MAX)}\n*Sent:*\n"
        f"{t.quote(decision.final_text, SUMMARY_MAX)}"
    )
    note = {
        "type": "input",
        "block_id": InputId.QA_NOTE,
        "label": kit.plain("Note for the operator", t.LABEL_MAX),
        "element": {
            "type": "plain_text_input",
            "action_id": InputId.QA_NOTE,
            "multiline": True,
            "min_length": 1,
            "max_length": t.INPUT_MAX,
            "placeholder": kit.plain("e.g. Check the order date before quoting the window", 150),
        },
        "hint": kit.plain(f"Sent to them by direct message. {COACHING_SPIRIT}", t.LABEL_MAX),
    }
    return {
        "type": "modal",
        "callback_id": CallbackId.QA_COACH.value,
        "title": kit.plain("Coach", t.MODAL_TITLE_MAX),
        "submit": kit.plain("Send note", t.MODAL_TITLE_MAX),
        "close": kit.plain("Cancel", t.MODAL_TITLE_MAX),
        "private_metadata": draft.id,
        "blocks": [kit.section(summary), kit.divider(), note],
    }


def coaching_note(draft: Draft, review: QaReview) -> tuple[list[dict[str, Any]], str]:
    """The direct message a Coach verdict sends the operator: blocks and notification text."""
    decision = draft.decision
    assert decision is not None and decision.final_text is not None
    data = draft.input
    customer = t.inline(data.customer.name, NAME_MAX) if data.customer.name else "a customer"
    head = (
        f"🗣️ *A coaching note from {t.mention(review.reviewer)}* on your reply to {customer} "
        f"{t.slack_date(decision.at)} (conversation #{data.conversation_id}):"
    )
    blocks = [
        kit.section(f"{head}\n{t.quote(review.note or '', NOTE_MAX)}"),
        kit.section(f"*The customer wrote:*\n{t.quote(data.customer_message, MESSAGE_MAX)}"),
        kit.section(f"*You sent:*\n{t.quote(decision.final_text, TEXT_MAX)}"),
        kit.context(COACHING_SPIRIT),
    ]
    return blocks, f"A coaching note from {t.mention(review.reviewer)} on one of your replies"


@dataclass(frozen=True)
class OperatorSample:
    """One operator's part of the week's sample, as `/occ review` tells it."""

    operator: str
    sent: int  # replies they sent last week
    sampled: int
    good: int  # sampled replies reviewed Good
    coached: int
    to_review: int  # sampled replies still without a verdict

    @property
    def reviewed(self) -> int:
        return self.good + self.coached


def review_answer(
    week: tuple[datetime, datetime],
    samples: Sequence[OperatorSample],
    *,
    size: int,
    new_cards: int,
    waiting_cards: int,
    own_left_out: int,
    named: bool = False,
) -> str:
    """`/occ review`'s answer: the week, each operator's sample and where it stands, and
    where the cards are.

    Args:
        week: the week's start and end (local midnights; the end is not included).
        samples: each operator's part, in the order their cards are posted.
        size: the sample size per operator (`OCC_QA_SAMPLE_SIZE`).
        new_cards: cards being posted to the manager's DM now.
        waiting_cards: cards the manager has there already, still to be marked.
        own_left_out: the manager's own replies, left to another manager.
        named: the manager named the operators to review.
    """
    start, end = week
    head = (
        f"*QA review of last week* ({start:%a %b} {start.day} to {_day_before(end)}): up to "
        f"{size} replies per operator, edited and low-confidence ones first."
    )
    lines = [head]
    if not samples:
        if named:
            lines.append("Nothing to review: the people named sent no reply last week.")
        elif own_left_out:
            lines.append("Nothing to review: no one else sent a reply last week.")
        else:
            lines.append("Nothing to review: no reply was sent last week.")
    for part in samples:
        line = (
            f"• {t.mention(part.operator)}: {part.sampled} of {part.sent} "
            f"repl{'y' if part.sent == 1 else 'ies'} sampled, *{part.to_review} to review*"
        )
        if part.reviewed:
            line += f" ({part.good} Good, {part.coached} coached so far)"
        lines.append(line)
    if own_left_out == 1:
        lines.append("Your own reply last week is left to another manager.")
    elif own_left_out:
        lines.append(f"Your own {own_left_out} replies last week are left to another manager.")
    if new_cards:
        lines.append(
            f"Sending you {new_cards} card{'' if new_cards == 1 else 's'} by direct message: "
            "mark each *Good* or *Coach* (Coach sends the operator your note)."
        )
    if waiting_cards:
        plural = "" if waiting_cards == 1 else "s"
        lines.append(f"{waiting_cards} card{plural} sent earlier still wait in our direct message.")
    if samples and not new_cards and not waiting_cards:
        lines.append("Everything in last week's sample has its verdict. :tada:")
    return "\n".join(lines)


def _day_before(end: datetime) -> str:
    day = (end - timedelta(days=1)).date()
    return f"{day:%a %b} {day.day}"
