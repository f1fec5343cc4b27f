"""The Edit, Reject, Escalate and Correction modals opened from a draft card, and the Resolve
modal opened from an escalation.

Each modal carries the draft id in ``private_metadata`` and starts with a short read-only
summary of the conversation, so the operator knows which customer they are acting for.
Inputs use :class:`InputId` as both block_id and action_id.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from bot.blocks import kit
from bot.blocks import text as t
from bot.blocks.ids import CallbackId, InputId
from bot.blocks.labels import (
    ESCALATION_TYPE_LABEL,
    REJECT_REASON_LABEL,
    RESOLUTION_OUTCOME_LABEL,
    URGENCY_EMOJI,
    URGENCY_LABEL,
)
from bot.domain import (
    RESOLVED_REASONS,
    Draft,
    Escalation,
    EscalationType,
    RejectReason,
    ResolutionOutcome,
    Urgency,
)
from bot.rules.sla import DEFAULT_SLA_MINUTES

SUMMARY_EXCERPT = 500
NAME_MAX = 100
MAX_CORRECTIONS = 1000  # of one reply: a correction modal's number is checked against it


def edit_modal(draft: Draft, *, chatwoot_enabled: bool = True) -> dict[str, Any]:
    """Modal to edit the draft before it is approved; the text input starts with the draft.

    Args:
        draft: the pending draft.
        chatwoot_enabled: False when an approved reply is recorded, not sent (submit says so).
    """
    fields, joins = _text_inputs(draft.input.draft, InputId.EDIT_TEXT, "Reply to the customer")
    submit = "Approve & Send" if chatwoot_enabled else "Approve & Record"
    title = "Write reply" if draft.input.abstained else "Edit reply"
    view = _modal(CallbackId.EDIT, title, submit, draft, fields)
    view["private_metadata"] = edit_metadata(draft.id, joins)
    return view


def correction_modal(draft: Draft, sent: str, number: int) -> dict[str, Any]:
    """Modal to send a correction of a reply the customer already has: a new message in the
    same conversation, after it; its text input starts with what was sent last.

    Args:
        draft: the draft whose reply was sent.
        sent: what the customer got last from this card (the reply, or its last correction).
        number: which correction of this reply it would be (from 1): its id in the outbox.
    """
    note = kit.context(
        "The customer already has the reply below. What you send here is a new message in "
        "the same conversation, after it; say what changed."
    )
    fields, joins = _text_inputs(sent, InputId.CORRECTION_TEXT, "Correction to send")
    view = _modal(CallbackId.CORRECTION, "Send correction", "Send", draft, [note, *fields])
    view["private_metadata"] = f"{draft.id}|{number}|{joins}"
    return view


def read_correction_metadata(metadata: str) -> tuple[str, int, str]:
    """The draft id, the correction's number and the joins of a Correction modal's
    private_metadata, checked."""
    parts = metadata.split("|")
    draft_id, number, joins = parts if len(parts) == 3 else ("", "", "")
    counted = number.isascii() and number.isdigit() and 0 < int(number) <= MAX_CORRECTIONS
    if not draft_id or not counted or any(join not in _JOINS for join in joins):
        raise ValueError("private_metadata: not a Correction modal's")
    return draft_id, int(number), joins


def _text_inputs(text: str, input_id: InputId, label: str) -> tuple[list[dict[str, Any]], str]:
    """Text boxes starting with ``text``, as many as it needs (the first required), and how
    their parts join again; a note says so when there are several."""
    parts, joins = split_for_inputs(text)
    fields: list[dict[str, Any]] = []
    if len(parts) > 1:
        fields.append(
            kit.context(
                f"This text is {len(text):,} characters, more than one Slack text box holds, "
                f"so it is split into {len(parts)} parts. The customer receives them joined, "
                "in order, as one message."
            )
        )
    for number, part in enumerate(parts, start=1):
        element: dict[str, Any] = {
            "type": "plain_text_input",
            "action_id": text_input_id(input_id, number),
            "multiline": True,
            "max_length": t.INPUT_MAX,
        }
        if number == 1:
            element["min_length"] = 1
        if part:
            element["initial_value"] = part
        shown = label if len(parts) == 1 else f"{label} (part {number} of {len(parts)})"
        hint = "The customer receives exactly this text." if number == len(parts) else None
        block_id = text_input_id(input_id, number)
        fields.append(_input(block_id, shown, element, hint=hint, optional=number > 1))
    return fields, joins


# A draft longer than one text box is split over several; how the parts join again (a line
# break the split consumed, or nothing: a cut mid-line) travels in the modal's metadata.
_JOINS = {"n": "\n", "c": ""}


def split_for_inputs(text: str, limit: int = t.INPUT_MAX) -> tuple[list[str], str]:
    """``text`` in parts of at most ``limit`` characters, cut at line breaks where it can;
    with how they join again (one letter per boundary, see `join_parts`)."""
    parts: list[str] = []
    joins = ""
    rest = text
    while len(rest) > limit:
        cut = rest.rfind("\n", 0, limit + 1)
        if cut >= limit * 2 // 3:  # a break late enough: the parts stay few (a modal holds 100)
            parts.append(rest[:cut])
            rest = rest[cut + 1 :]
            joins += "n"
        else:
            parts.append(rest[:limit])
            rest = rest[limit:]
            joins += "c"
    parts.append(rest)
    return parts, joins


def join_parts(parts: list[str], joins: str) -> str:
    joined = parts[0]
    for join, part in zip(joins, parts[1:], strict=True):
        joined += _JOINS[join] + part
    return joined


def text_input_id(input_id: InputId, number: int) -> str:
    """The input holding part ``number`` (from 1) of a long text (the edited reply, a
    correction)."""
    return input_id if number == 1 else f"{input_id}_{number}"


def edit_input_id(number: int) -> str:
    """The input holding part ``number`` (from 1) of the edited reply."""
    return text_input_id(InputId.EDIT_TEXT, number)


def edit_metadata(draft_id: str, joins: str) -> str:
    return f"{draft_id}|{joins}" if joins else draft_id


def read_edit_metadata(metadata: str) -> tuple[str, str]:
    """The draft id and the joins of an Edit modal's private_metadata; joins are checked."""
    draft_id, _, joins = metadata.partition("|")
    if any(join not in _JOINS for join in joins):
        raise ValueError("private_metadata: not an Edit modal's")
    return draft_id, joins


def reject_modal(draft: Draft) -> dict[str, Any]:
    """Modal asking why the draft is rejected (a reason, and optional notes); on a CX breach
    card, why it is marked resolved without a reply (customer confirmed, documented
    elsewhere)."""
    resolving = draft.input.breach is not None
    reasons = [r for r in RejectReason if (r in RESOLVED_REASONS) == resolving]
    reason = _input(
        InputId.REJECT_REASON,
        "Why is it resolved?" if resolving else "Reason",
        {
            "type": "static_select",
            "action_id": InputId.REJECT_REASON,
            "placeholder": kit.plain("Choose a reason", t.PLACEHOLDER_MAX),
            "options": [kit.option(REJECT_REASON_LABEL[r], r.value) for r in reasons],
        },
    )
    hint = "Where is the follow-up?" if resolving else "What was wrong? Notes help the agent."
    notes = _input(
        InputId.REJECT_NOTES,
        "Notes",
        _notes_element(InputId.REJECT_NOTES, "", hint),
        optional=True,
    )
    if resolving:
        return _modal(CallbackId.REJECT, "Mark resolved", "Mark resolved", draft, [reason, notes])
    return _modal(CallbackId.REJECT, "Reject draft", "Reject", draft, [reason, notes])


def escalate_modal(
    draft: Draft,
    *,
    suggested_type: EscalationType,
    suggested_urgency: Urgency,
    notes: str,
    sla_minutes: Mapping[Urgency, float] = DEFAULT_SLA_MINUTES,
) -> dict[str, Any]:
    """Modal to escalate to a manager, pre-filled with policy's suggestions.

    Args:
        draft: the pending draft.
        suggested_type: escalation type selected at first.
        suggested_urgency: urgency selected at first.
        notes: the notes the text input starts with (cut to 3000 characters if longer).
        sla_minutes: claim SLA per urgency, printed in each urgency's option.
    """
    types = [kit.option(ESCALATION_TYPE_LABEL[k], k.value) for k in EscalationType]
    urgencies = [_urgency_option(u, sla_minutes) for u in Urgency]
    type_field = _input(
        InputId.ESCALATION_TYPE,
        "Escalation type",
        {
            "type": "static_select",
            "action_id": InputId.ESCALATION_TYPE,
            "placeholder": kit.plain("Choose a type", t.PLACEHOLDER_MAX),
            "options": types,
            "initial_option": types[list(EscalationType).index(suggested_type)],
        },
    )
    urgency_field = _input(
        InputId.ESCALATION_URGENCY,
        "Urgency (time for a manager to claim it)",
        {
            "type": "radio_buttons",
            "action_id": InputId.ESCALATION_URGENCY,
            "options": urgencies,
            "initial_option": urgencies[list(Urgency).index(suggested_urgency)],
        },
    )
    notes_field = _input(
        InputId.ESCALATION_NOTES,
        "Escalation notes",
        _notes_element(InputId.ESCALATION_NOTES, notes, "Issue, why it needs a manager, context"),
        hint="Managers see these notes in the escalation channel.",
    )
    return _modal(
        CallbackId.ESCALATE,
        "Escalate to a manager",
        "Escalate",
        draft,
        [type_field, urgency_field, notes_field],
    )


# --- parts -----------------------------------------------------------------------------------


def resolve_modal(
    escalation: Escalation, draft: Draft, *, chatwoot_enabled: bool
) -> dict[str, Any]:
    """Modal a manager fills to resolve an escalation: what was done, the outcome (with the
    amount for a refund or credit), an optional reply to the customer, notes for the operator."""
    if len(escalation.id) > t.PRIVATE_METADATA_MAX:
        raise ValueError("escalation id does not fit in private_metadata")
    summary = _input(
        InputId.RESOLUTION_SUMMARY,
        "What was done",
        _notes_element(InputId.RESOLUTION_SUMMARY, "", "e.g. Refunded the two duplicate charges"),
    )
    outcome = _input(
        InputId.RESOLUTION_OUTCOME,
        "Outcome",
        {
            "type": "static_select",
            "action_id": InputId.RESOLUTION_OUTCOME,
            "placeholder": kit.plain("Choose the outcome", t.PLACEHOLDER_MAX),
            "options": [
                kit.option(RESOLUTION_OUTCOME_LABEL[o], o.value) for o in ResolutionOutcome
            ],
        },
    )
    amount = _input(
        InputId.RESOLUTION_AMOUNT,
        "Amount (USD)",
        {
            "type": "number_input",
            "action_id": InputId.RESOLUTION_AMOUNT,
            "is_decimal_allowed": True,
            "min_value": "0.01",
            "placeholder": kit.plain("e.g. 59.98", t.PLACEHOLDER_MAX),
        },
        hint="Required for a refund or store credit.",
        optional=True,
    )
    where = "sent to the customer through Chatwoot" if chatwoot_enabled else "recorded only"
    reply = _input(
        InputId.RESOLUTION_REPLY,
        "Reply to the customer",
        _notes_element(InputId.RESOLUTION_REPLY, "", "Leave empty to send nothing"),
        hint=f"Optional; {where}, as from you.",
        optional=True,
    )
    notes = _input(
        InputId.RESOLUTION_NOTES,
        "Notes for the operator",
        _notes_element(InputId.RESOLUTION_NOTES, "", "What should they do next time?"),
        # a hint is plain text, where Slack shows a <@U…> mention as typed
        hint="Sent by direct message to the operator who escalated, with the outcome, "
        "for learning.",
        optional=True,
    )
    return {
        "type": "modal",
        "callback_id": CallbackId.RESOLVE.value,
        "title": kit.plain("Resolve escalation", t.MODAL_TITLE_MAX),
        "submit": kit.plain("Resolve", t.MODAL_TITLE_MAX),
        "close": kit.plain("Cancel", t.MODAL_TITLE_MAX),
        "private_metadata": escalation.id,
        "blocks": [_summary(draft), kit.divider(), summary, outcome, amount, reply, notes],
    }


def _urgency_option(urgency: Urgency, sla_minutes: Mapping[Urgency, float]) -> dict[str, Any]:
    text = f"{URGENCY_EMOJI[urgency]} {URGENCY_LABEL[urgency]}"
    minutes = sla_minutes.get(urgency)
    if minutes is not None:
        text += f" ({t.format_minutes(minutes)} SLA)"
    return kit.option(text, urgency.value)


def _notes_element(action_id: str, initial: str, placeholder: str) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": action_id,
        "multiline": True,
        "max_length": t.INPUT_MAX,
        "placeholder": kit.plain(placeholder, t.PLACEHOLDER_MAX),
    }
    if initial:
        element["initial_value"] = t.truncate(initial, t.INPUT_MAX)
    return element


def _input(
    block_id: str,
    label: str,
    element: dict[str, Any],
    *,
    hint: str | None = None,
    optional: bool = False,
) -> dict[str, Any]:
    block: dict[str, Any] = {
        "type": "input",
        "block_id": block_id,
        "label": kit.plain(label, t.LABEL_MAX),
        "element": element,
    }
    if hint:
        block["hint"] = kit.plain(hint, t.LABEL_MAX)
    if optional:
        block["optional"] = True
    return block


def _summary(draft: Draft) -> dict[str, Any]:
    data = draft.input
    who = t.inline(data.customer.name, NAME_MAX) if data.customer.name else "Customer"
    if data.customer.email:
        who += f" ({t.inline(data.customer.email, NAME_MAX)})"
    head = f"*{who}* · conversation #{data.conversation_id}"
    return kit.section(f"{head}\n{t.quote(data.customer_message, SUMMARY_EXCERPT)}")


def _modal(
    callback_id: CallbackId,
    title: str,
    submit: str,
    draft: Draft,
    inputs: list[dict[str, Any]],
) -> dict[str, Any]:
    if len(draft.id) > t.PRIVATE_METADATA_MAX:
        raise ValueError("draft id does not fit in private_metadata")
    return {
        "type": "modal",
        "callback_id": callback_id.value,
        "title": kit.plain(title, t.MODAL_TITLE_MAX),
        "submit": kit.plain(submit, t.MODAL_TITLE_MAX),
        "close": kit.plain("Cancel", t.MODAL_TITLE_MAX),
        "private_metadata": draft.id,
        "blocks": [_summary(draft), kit.divider(), *inputs],
    }


def followup_modal(alert_id: str, summary: str, *, owner: str, due: date) -> dict[str, Any]:
    """Create follow-up on a Sales Pulse alert: who owns it, by when, and what to do."""
    if len(alert_id) > t.PRIVATE_METADATA_MAX:
        raise ValueError("alert id does not fit in private_metadata")
    owner_input = _input(
        InputId.FOLLOWUP_OWNER,
        "Owner",
        {"type": "users_select", "action_id": InputId.FOLLOWUP_OWNER, "initial_user": owner},
    )
    due_input = _input(
        InputId.FOLLOWUP_DUE,
        "Due",
        {"type": "datepicker", "action_id": InputId.FOLLOWUP_DUE, "initial_date": due.isoformat()},
        hint="The owner is reminded by direct message once this day has passed.",
    )
    note = _input(
        InputId.FOLLOWUP_NOTE,
        "What to do",
        _notes_element(InputId.FOLLOWUP_NOTE, "", "e.g. Check the promo calendar with marketing"),
    )
    return {
        "type": "modal",
        "callback_id": CallbackId.SALES_FOLLOWUP.value,
        "title": kit.plain("Create follow-up", t.MODAL_TITLE_MAX),
        "submit": kit.plain("Create", t.MODAL_TITLE_MAX),
        "close": kit.plain("Cancel", t.MODAL_TITLE_MAX),
        "private_metadata": alert_id,
        "blocks": [kit.section(t.safe(summary, 500)), kit.divider(), owner_input, due_input, note],
    }


def loading_modal() -> dict[str, Any]:
    """Opened at once when a form takes longer to prepare than a click's trigger lives."""
    return _notice_modal("⏳ Loading…", close="Cancel")


def nothing_modal() -> dict[str, Any]:
    """What a loading form becomes when there was nothing to open (the user was told why)."""
    return _notice_modal("Nothing to do here: occ-bot has told you why.", close="Close")


def _notice_modal(text: str, *, close: str) -> dict[str, Any]:
    return {
        "type": "modal",
        "title": kit.plain("occ-bot", t.MODAL_TITLE_MAX),
        "close": kit.plain(close, t.MODAL_TITLE_MAX),
        "blocks": [kit.section(text)],
    }
