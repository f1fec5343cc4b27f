"""Deciding a draft: Approve, Edit, Reject or Escalate, once.

Each step follows the same order: load the stored draft, decide who may act (`refusal`, the
one permission check for drafts), compare-and-set the state in the store (with its log row, in
one transaction), then talk to Slack. The store's compare-and-set is what makes a double
click, two operators, a Slack retry or two replicas produce one decision; the loser is told
who won.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot import decision_log, slack
from bot.blocks.escalation_notes import escalation_notes_template
from bot.blocks.modals import edit_modal, escalate_modal, reject_modal
from bot.blocks.text import escape, mention, slack_date
from bot.config import Settings
from bot.domain import (
    Action,
    Decision,
    DecisionKind,
    Draft,
    DraftState,
    Escalation,
    OutboxMessage,
    Outcome,
    RejectReason,
    RetiredBecause,
)
from bot.flows import database_down, outbox, refusals, surfaces, training
from bot.flows.reply_card import SendingCard
from bot.rules.risk import (
    ALWAYS_ESCALATE,
    requires_manager,
    suggested_escalation_type,
    suggested_urgency,
)
from bot.services import Services
from bot.slack import SLACK_FAILURES, describe, tell

NOT_AN_OPERATOR = "Only the operators listed in OCC_OPERATORS can act on drafts."

PAST_TENSE = {
    DraftState.APPROVED: "approved",
    DraftState.REJECTED: "rejected",
    DraftState.ESCALATED: "escalated",
}


def already_decided(draft: Draft) -> str:
    if draft.state is DraftState.SUPERSEDED:
        return (
            "Nothing changed: the customer wrote again, and a newer draft that answers all "
            "their messages replaced this one. Decide that one instead."
        )
    if draft.retired is not None:
        done = draft.retired
        who = f"{escape(done.by)} answered this customer" if done.by else "Someone answered"
        if done.because is RetiredBecause.RESOLVED:
            who = "The conversation was resolved"
        return (
            f"Nothing changed: {who} in Chatwoot {slack_date(done.at)}, so nothing is sent "
            "from this card. Follow up in Chatwoot."
        )
    decision = draft.decision
    if decision is None:
        return "This draft has already been decided."
    verb = "edited and approved" if decision.kind is DecisionKind.EDIT else PAST_TENSE[draft.state]
    return (
        f"Nothing changed: {mention(decision.actor)} already {verb} this draft "
        f"{slack_date(decision.at)}."
    )


async def approve(
    services: Services, draft_id: str, user: str, *, at: datetime | None = None
) -> None:
    """Approve as-is: one decision, then the reply goes to Chatwoot."""
    decided = await decide(services, draft_id, user, DecisionKind.APPROVE, at=at)
    await _send_reply(services, decided)


async def edit(
    services: Services, draft_id: str, user: str, text: str, *, at: datetime | None = None
) -> None:
    """Send the operator's edited text (unchanged text counts as Approve)."""
    decided = await decide(services, draft_id, user, DecisionKind.EDIT, final_text=text, at=at)
    await _send_reply(services, decided)


async def _send_reply(services: Services, decided: Decided | None) -> None:
    """Send the reply the decision queued, under the lease the decider took with it; its card
    is drawn once with the outcome, or says "sending" first if that is slow."""
    if decided is None or decided.reply is None:
        return
    card = SendingCard(services, decided.draft, decided.action)
    try:
        await outbox.send_leased(services, decided.reply, decided.draft, card=card)
    finally:
        await card.settle()


async def open_form(
    services: Services,
    draft_id: str,
    user: str,
    kind: DecisionKind,
    *,
    trigger_id: str,
    channel: str | None,
) -> None:
    async def prepare() -> dict[str, Any] | None:
        draft = await check(services, draft_id, user, kind, channel=channel)
        if draft is None:
            return None
        if kind is DecisionKind.EDIT:
            sends = services.chatwoot is not None or draft.training is not None
            return edit_modal(draft, chatwoot_enabled=sends)
        if kind is DecisionKind.REJECT:
            return reject_modal(draft)
        sla_minutes = services.settings.sla_minutes
        return escalate_modal(
            draft,
            suggested_type=suggested_escalation_type(draft.flags),
            suggested_urgency=suggested_urgency(draft.flags),
            notes=escalation_notes_template(
                draft.input, draft.flags, draft_id=draft.id, sla_minutes=sla_minutes
            ),
            sla_minutes=sla_minutes,
        )

    try:
        await slack.open_form(services, trigger_id, prepare())
    except SLACK_FAILURES as error:
        await tell(
            services,
            channel=channel,
            user=user,
            text=f"Slack would not open the form ({describe(error)}). Try again.",
        )


async def retry(services: Services, draft_id: str, user: str, channel: str | None) -> None:
    """Retry now: take the reply even before its backoff is over; the lease keeps it single."""
    if not services.settings.may_act_on_drafts(user):
        draft = await services.store.get_draft(draft_id)
        if draft is None:
            await tell(services, channel=channel, user=user, text="That draft no longer exists.")
        else:
            await refuse(services, draft, user, "retry", NOT_AN_OPERATOR)
        return
    if await outbox.retry_reply(services, draft_id) is None:
        await tell(
            services,
            channel=channel,
            user=user,
            text="Nothing to retry: the reply is already sent or being sent.",
        )


async def reject(
    services: Services,
    draft_id: str,
    user: str,
    reason: RejectReason,
    notes: str | None,
    *,
    at: datetime | None = None,
) -> None:
    """Reject: nothing reaches the customer."""
    await decide(services, draft_id, user, DecisionKind.REJECT, reason=reason, notes=notes, at=at)


async def check(
    services: Services, draft_id: str, user: str, kind: DecisionKind, *, channel: str | None
) -> Draft | None:
    """The stored draft if `user` may `kind` it now; otherwise tell them why and log it."""
    draft = await services.store.get_draft(draft_id)
    if draft is None:
        await tell(services, channel=channel, user=user, text="That draft no longer exists.")
        return None
    services.refusals.remember(draft)
    services.pending_drafts.remember(draft)
    why = refusal_now(services.settings, user, draft, kind)
    if why is not None:
        await refuse(services, draft, user, kind.value, why)
        return None
    return draft


async def refuse(services: Services, draft: Draft, user: str, attempted: str, why: str) -> None:
    """Log a refused action (`draft.refused`) and tell only the user why; a refused click
    joins its user's other refused clicks on the draft (`bot.flows.refusals`)."""
    click = refusals.CLICK.get()
    if (
        click is not None
        and not click.joined
        and refusals.join(services, draft, user, attempted, why, click=click)
    ):
        return
    await database_down.keep(
        services,
        decision_log.draft_entry(
            services,
            Action.DRAFT_REFUSED,
            draft,
            {"attempted": attempted, "reason": why, "state": draft.state.value},
            actor=user,
            outcome=Outcome.REFUSED,
        ),
    )
    await tell(services, channel=draft.card.channel if draft.card else None, user=user, text=why)


@dataclass(frozen=True)
class Decided:
    """A decision that won: the draft as stored, how it was logged, and the reply it queued
    (leased to this worker), if any."""

    draft: Draft
    action: Action
    reply: OutboxMessage | None


async def decide(
    services: Services,
    draft_id: str,
    user: str,
    kind: DecisionKind,
    *,
    final_text: str | None = None,
    reason: RejectReason | None = None,
    notes: str | None = None,
    escalation: Escalation | None = None,
    escalation_note: OutboxMessage | None = None,
    at: datetime | None = None,
) -> Decided | None:
    """Record one decision with compare-and-set; what won, or None if refused/lost.
    An approval queues its reply in the outbox, an escalation its ``escalation_note``, both
    leased to the decider, in the same write: one round trip fewer, and if this process dies
    before sending, the lease expires and the outbox job sends them. A queued reply is the
    caller's to send, and its card is left to be drawn with the reply's outcome
    (`_send_reply`). ``at``: when the operator decided, if earlier than now (a decision kept
    in the spool while the database was down)."""
    draft = _seen_pending(services, draft_id, user, kind) or await check(
        services, draft_id, user, kind, channel=None
    )
    if draft is None:
        return None
    now = services.clock()
    if kind is DecisionKind.EDIT and (final_text or "").strip() == draft.input.draft.strip():
        kind = DecisionKind.APPROVE  # an edit that changed nothing is a plain approval
    if kind is DecisionKind.APPROVE:
        final_text = draft.input.draft
    practice = draft.training is not None
    # A training card's escalation is marked, not made: no record, no manager, no note.
    stored_escalation = None if practice else escalation
    decision = Decision(
        kind=kind,
        actor=user,
        at=at or now,
        final_text=final_text,
        reason=reason,
        notes=notes,
        escalation_id=stored_escalation.id if stored_escalation else None,
    )
    messages = []
    reply = None
    if kind in (DecisionKind.APPROVE, DecisionKind.EDIT) and not practice:
        assert final_text is not None
        reply = outbox.draft_reply(services, draft, final_text, user)
        messages.append(reply)
    if escalation_note is not None and not practice:
        messages.append(escalation_note)
    payload = _decision_payload(draft, decision, escalation)
    marked = training.mark(draft, kind, escalation.urgency if escalation else None)
    if marked is not None:
        payload["training"] = training.marked_payload(draft, marked)
    won = await services.store.decide(
        draft_id,
        decision,
        log=decision_log.draft_entry(services, kind.logged_as, draft, payload, actor=user),
        escalation=stored_escalation,
        messages=messages,
    )
    services.pending_drafts.forget(draft_id)
    if won is None:
        latest = await services.store.get_draft(draft_id) or draft
        services.refusals.remember(latest)
        await refuse(services, latest, user, kind.value, already_decided(latest))
        return None
    services.refusals.remember(won)
    shown = surfaces.Event(kind.logged_as, won, escalation)
    await surfaces.changed(services, shown, skip=(surfaces.CARD,) if reply else ())
    if marked is not None:
        await training.explain(services, won, marked)
    return Decided(won, kind.logged_as, reply)


def _seen_pending(services: Services, draft_id: str, user: str, kind: DecisionKind) -> Draft | None:
    """The draft as this replica last saw it pending with its card, if ``user`` may ``kind``
    it as it was: its state is left to the store's compare-and-set, whose loser reads the
    draft and is told who won (`bot.runtime.pending_drafts`). A refusal is never given from
    it: None, and `check` reads the draft and words the refusal as the draft stands now."""
    draft = services.pending_drafts.get(draft_id)
    if draft is None or refusal(services.settings, user, draft, kind) is not None:
        return None
    return draft


def _decision_payload(
    draft: Draft, decision: Decision, escalation: Escalation | None
) -> dict[str, Any]:
    shown_at = draft.posted_at or draft.received_at
    payload: dict[str, Any] = {
        "decision": decision.kind.value,
        "waited_seconds": round((decision.at - shown_at).total_seconds(), 3),
        "card": {"channel": draft.card.channel, "ts": draft.card.ts} if draft.card else None,
        **decision_log.assessment(draft),
    }
    if decision.kind in (DecisionKind.APPROVE, DecisionKind.EDIT):
        payload["text_before"] = draft.input.draft
        payload["text_after"] = decision.final_text
        payload["edited"] = decision.final_text != draft.input.draft
    if decision.kind is DecisionKind.REJECT:
        payload["reason"] = decision.reason.value if decision.reason else None
        payload["notes"] = decision.notes
        payload["draft_text"] = draft.input.draft
    if escalation is not None:
        payload["escalation"] = {
            "type": escalation.type.value,
            "urgency": escalation.urgency.value,
            "notes": escalation.notes,
        }
        if draft.training is None:
            payload["escalation"] |= {
                "id": escalation.id,
                "due_at": escalation.due_at.isoformat(),
                "sla_minutes": round(
                    (escalation.due_at - escalation.created_at).total_seconds() / 60, 3
                ),
            }
        payload["draft_text"] = draft.input.draft
    return payload


def refusal_now(settings: Settings, user_id: str, draft: Draft, kind: DecisionKind) -> str | None:
    """Why `user_id` may not `kind` this draft as it is, or None when they may; a draft no
    longer pending always has a reason, which never changes."""
    why = refusal(settings, user_id, draft, kind)
    if why is None and draft.state is not DraftState.PENDING:
        why = already_decided(draft)
    return why


def refusal(settings: Settings, user_id: str, draft: Draft, kind: DecisionKind) -> str | None:
    """Why `user_id` may not `kind` this draft now, or None when they may."""
    if draft.training is not None:
        # Trainees need not be operators yet; what they choose is marked, never refused.
        return training.not_theirs(draft, user_id)
    if not settings.may_act_on_drafts(user_id):
        return NOT_AN_OPERATOR
    if draft.state is not DraftState.PENDING:
        return None  # the store's compare-and-set decides races; see already_decided()
    if kind is DecisionKind.APPROVE and (draft.input.abstained or not draft.input.draft.strip()):
        return (
            "The AI abstained on this message, so there is no draft to send. "
            "Use Write reply to answer the customer, or Escalate."
        )
    sends = kind in (DecisionKind.APPROVE, DecisionKind.EDIT)
    if sends and requires_manager(draft.flags) and not settings.is_manager(user_id):
        # The reasons quote the customer's words: escaped like every other surface, so a
        # "<!channel>" or "<http://evil|bank>" shows as typed and never pings or links.
        reasons = "; ".join(escape(f.reason) for f in draft.flags if f.kind in ALWAYS_ESCALATE)
        return (
            f"This draft must be escalated ({reasons}). Sending it is reserved for managers: "
            "use Escalate, or ask a manager."
        )
    return None
