"""Action, callback and input ids shared by the Block Kit builders and the Slack handlers.

Buttons carry the draft id (or escalation id) as their ``value``; modals carry the draft id
in ``private_metadata`` (a review card's buttons and the Coach modal: the reviewed reply's).
Each modal input uses the same string as block_id and action_id, so a handler reads
``view.state.values[InputId.X][InputId.X]``.
"""

from __future__ import annotations

from enum import StrEnum

from bot.rules import buttons
from bot.rules.qa import COACH, GOOD
from bot.rules.sales import CREATE_FOLLOWUP, NOTIFY_LEAD, PAGE_MANAGER, START_REORDER
from bot.rules.sales_buttons import ACKNOWLEDGE


class ActionId(StrEnum):
    # A button's id is its spec's (bot.rules.buttons, bot.rules.sales): listed here as every
    # other interaction is, so that each has a row in the authorization matrix.
    APPROVE = buttons.APPROVE.action_id
    EDIT = buttons.EDIT.action_id
    REJECT = buttons.REJECT.action_id
    ESCALATE = buttons.ESCALATE.action_id
    RETRY = buttons.RETRY.action_id
    CORRECT = buttons.CORRECT.action_id
    CLAIM = buttons.CLAIM.action_id
    RESOLVE = buttons.RESOLVE.action_id
    MARK_RESOLVED = buttons.MARK_RESOLVED.action_id
    SALES_ACKNOWLEDGE = ACKNOWLEDGE.action_id
    SALES_FOLLOWUP = CREATE_FOLLOWUP.action_id
    SALES_NOTIFY_LEAD = NOTIFY_LEAD.action_id
    SALES_PAGE_MANAGER = PAGE_MANAGER.action_id
    SALES_REORDER = START_REORDER.action_id
    QA_GOOD = GOOD.action_id
    QA_COACH = COACH.action_id


class CallbackId(StrEnum):
    EDIT = "draft_edit_modal"
    REJECT = "draft_reject_modal"
    ESCALATE = "draft_escalate_modal"
    RESOLVE = "escalation_resolve_modal"
    CORRECTION = "reply_correction_modal"
    SALES_FOLLOWUP = "sales_followup_modal"
    QA_COACH = "qa_coach_modal"


class InputId(StrEnum):
    EDIT_TEXT = "edit_text"
    CORRECTION_TEXT = "correction_text"
    REJECT_REASON = "reject_reason"
    REJECT_NOTES = "reject_notes"
    ESCALATION_TYPE = "escalation_type"
    ESCALATION_URGENCY = "escalation_urgency"
    ESCALATION_NOTES = "escalation_notes"
    RESOLUTION_SUMMARY = "resolution_summary"
    RESOLUTION_OUTCOME = "resolution_outcome"
    RESOLUTION_AMOUNT = "resolution_amount"
    RESOLUTION_REPLY = "resolution_reply"
    RESOLUTION_NOTES = "resolution_notes"
    FOLLOWUP_OWNER = "followup_owner"
    FOLLOWUP_DUE = "followup_due"
    FOLLOWUP_NOTE = "followup_note"
    QA_NOTE = "qa_note"


# The draft card's buttons that decide it: a decided card shows none of them.
DECISION_ACTIONS: frozenset[ActionId] = frozenset(
    ActionId(b.action_id) for b in buttons.CARD_BUTTONS if b.effect in buttons.DECIDING
)
