"""Escalations: from an operator's Escalate to the managers' channel and Chatwoot."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot import decision_log, slack
from bot.blocks.modals import resolve_modal
from bot.blocks.resolution import resolution_for_operator, resolution_note
from bot.blocks.text import mention, slack_date
from bot.domain import (
    Action,
    DecisionKind,
    Draft,
    Escalation,
    EscalationState,
    EscalationType,
    LogEntry,
    MessageKind,
    OutboxMessage,
    Outcome,
    Resolution,
    SlackRef,
    Urgency,
)
from bot.flows import database_down, decisions, escalation_view, outbox, surfaces
from bot.flows.outbox import attribution
from bot.flows.posting import Post, found_in_slack, post_once
from bot.rules.sla import sla_due
from bot.runtime.batch import Tally, each
from bot.services import Services
from bot.slack import tell
from bot.store.outbox import note_id


async def escalate(
    services: Services,
    draft_id: str,
    user: str,
    *,
    type: EscalationType,
    urgency: Urgency,
    notes: str,
    at: datetime | None = None,
) -> Escalation | None:
    """Decide the draft as escalated, then tell the managers and annotate the conversation
    with a private note (queued in the outbox with the decision). ``at``: when the operator
    escalated, if earlier (kept in the spool while the database was down); the SLA runs from
    then."""
    now = at or services.clock()
    draft = await services.store.get_draft(draft_id)
    conversation_id = draft.input.conversation_id if draft else None
    escalation = Escalation(
        id=services.new_id("esc"),
        draft_id=draft_id,
        conversation_id=conversation_id,
        type=type,
        urgency=urgency,
        notes=notes,
        escalated_by=user,
        created_at=now,
        due_at=sla_due(urgency, now, services.settings.sla_minutes),
    )
    note = await _chatwoot_note(services, escalation)
    decided = await decisions.decide(
        services,
        draft_id,
        user,
        DecisionKind.ESCALATE,
        notes=notes,
        escalation=escalation,
        escalation_note=note,
        at=at,
    )
    if decided is None or decided.draft.training is not None:
        return None  # refused, lost, or a training card: marked, and no manager is told
    posted = await post_escalation(services, escalation, decided.draft)
    if note is not None:  # Chatwoot last: the managers are told first
        await outbox.send_leased(services, note)
    return posted or escalation


async def _chatwoot_note(services: Services, escalation: Escalation) -> OutboxMessage | None:
    """The private note that tells agents in Chatwoot the conversation is with a manager."""
    if escalation.conversation_id is None:
        return None
    who = (await slack.user_profile(services, escalation.escalated_by)).get("name")
    return outbox.new_message(
        services,
        subject_id=escalation.id,
        conversation_id=escalation.conversation_id,
        kind=MessageKind.NOTE,
        content=(
            f"Escalated to managers ({escalation.urgency.value.upper()}, "
            f"{escalation.type.value.replace('_', ' ')}) by {who or 'an operator'} from "
            f"Slack.\n\n{escalation.notes}"
        ),
        action=Action.ESCALATION_NOTED,
        actor=escalation.escalated_by,
        message_id=note_id(escalation.id),
        marker=f"occ-bot escalation {escalation.id}",
    )


async def post_escalation(
    services: Services, escalation: Escalation, draft: Draft, *, again: bool = False
) -> Escalation | None:
    """Post the escalation to the managers' channel once (see `bot.flows.posting`);
    ``again``: an earlier attempt failed, perhaps after Slack had posted it, so the message
    is looked for first."""
    store = services.store
    channel = services.settings.escalations_channel
    marker = slack.Metadata("occ_escalation", escalation.id)

    async def recorded() -> SlackRef | None:
        stored = await store.get_escalation(escalation.id)
        return None if stored is None else stored.message

    def render() -> tuple[list[dict[str, Any]], str]:
        return escalation_view.render(services, escalation, draft)

    def entry(payload: dict[str, Any], outcome: Outcome) -> LogEntry:
        if outcome is Outcome.SUCCESS:
            payload = payload | {
                "urgency": escalation.urgency.value,
                "type": escalation.type.value,
                "due_at": escalation.due_at.isoformat(),
            }
        return _entry(services, Action.ESCALATION_POSTED, escalation, payload, outcome)

    return await post_once(
        services,
        Post(
            what="escalation message",
            channel=channel,
            setting="OCC_ESCALATIONS_CHANNEL",
            render=render,
            entry=entry,
            claim=lambda now, until: store.claim_escalation_post(
                escalation.id, now=now, lease_until=until
            ),
            record=lambda ref, at, log, until: store.set_escalation_message(
                escalation.id, ref, log, lease_until=until
            ),
            refused=lambda until, log: store.refuse_message_post(
                escalation.id, lease_until=until, log=log
            ),
            unpark=store.unpark_messages,
            metadata=marker,
            posted_before=(
                found_in_slack(services, channel, marker, since=escalation.created_at)
                if again
                else None
            ),
            recorded=recorded,
        ),
    )


async def claim(services: Services, escalation_id: str, user: str, channel: str | None) -> None:
    escalation = await _manager_only(services, escalation_id, user, channel, "claim")
    if escalation is None:
        return
    now = services.clock()
    claimed = await services.store.claim_escalation(
        escalation_id,
        actor=user,
        now=now,
        next_reminder_at=None,
        log=_entry(
            services,
            Action.ESCALATION_CLAIMED,
            escalation,
            {
                "waited_seconds": round((now - escalation.created_at).total_seconds(), 3),
                "within_sla": now <= escalation.due_at,
            },
            actor=user,
        ),
    )
    if claimed is None:
        latest = await services.store.get_escalation(escalation_id) or escalation
        await _lost(services, latest, user, channel)
        return
    await surfaces.changed(services, surfaces.Event(Action.ESCALATION_CLAIMED, claimed))


async def open_resolve_form(
    services: Services, escalation_id: str, user: str, *, trigger_id: str, channel: str | None
) -> None:

    async def prepare() -> dict[str, Any] | None:
        escalation = await _manager_only(services, escalation_id, user, channel, "resolve")
        if escalation is None:
            return None
        if escalation.state is EscalationState.RESOLVED:
            await _lost(services, escalation, user, channel)
            return None
        draft = await services.store.get_draft(escalation.draft_id)
        if draft is None:
            text = "That escalation's draft is gone."
            await tell(services, channel=channel, user=user, text=text)
            return None
        return resolve_modal(escalation, draft, chatwoot_enabled=services.chatwoot is not None)

    try:
        await slack.open_form(services, trigger_id, prepare())
    except slack.SLACK_FAILURES as error:
        await tell(
            services,
            channel=channel,
            user=user,
            text=f"Slack would not open the form ({slack.describe(error)}). Try again.",
        )


async def resolve(
    services: Services, escalation_id: str, user: str, resolution: Resolution
) -> Escalation | None:
    """Resolve with the manager's outcome: the message shows it, the customer gets the reply
    (if any) and the conversation a private note, both through the Chatwoot outbox, and the
    operator who escalated a direct message with the outcome and the manager's notes."""
    escalation = await _manager_only(services, escalation_id, user, None, "resolve")
    if escalation is None:
        return None
    now = services.clock()
    manager = await slack.user_profile(services, user)
    messages = _resolution_messages(services, escalation, resolution, user, manager)
    resolved = await services.store.resolve_escalation(
        escalation_id,
        actor=user,
        now=now,
        resolution=resolution,
        messages=messages,
        log=_entry(
            services,
            Action.ESCALATION_RESOLVED,
            escalation,
            {
                "open_seconds": round((now - escalation.created_at).total_seconds(), 3),
                "outcome": resolution.outcome.value,
                "amount_usd": resolution.amount_usd,
                "summary": resolution.summary,
                "customer_reply": resolution.customer_reply,
                "notes": resolution.notes,
                "outbox": [m.id for m in messages],
            },
            actor=user,
        ),
    )
    if resolved is None:
        latest = await services.store.get_escalation(escalation_id) or escalation
        await _lost(services, latest, user, None)
        return None
    await surfaces.changed(services, surfaces.Event(Action.ESCALATION_RESOLVED, resolved))
    await tell(
        services,
        channel=None,
        user=resolved.escalated_by,
        text=resolution_for_operator(resolved, resolution, user),
    )
    for message in messages:  # Chatwoot last: when it is slow, Slack already shows the outcome
        await outbox.send_leased(services, message)
    return resolved


def _resolution_messages(
    services: Services,
    escalation: Escalation,
    resolution: Resolution,
    user: str,
    manager: dict[str, str | None],
) -> list[OutboxMessage]:
    if escalation.conversation_id is None:
        return []
    messages = []
    if resolution.customer_reply:
        messages.append(
            outbox.new_message(
                services,
                subject_id=escalation.id,
                conversation_id=escalation.conversation_id,
                kind=MessageKind.REPLY,
                content=resolution.customer_reply,
                action=Action.ESCALATION_REPLIED,
                actor=user,
            )
        )
    messages.append(
        outbox.new_message(
            services,
            subject_id=escalation.id,
            conversation_id=escalation.conversation_id,
            kind=MessageKind.NOTE,
            content=resolution_note(resolution, attribution(manager, user)),
            action=Action.ESCALATION_RESOLUTION_NOTED,
            actor=user,
        )
    )
    return messages


async def _manager_only(
    services: Services, escalation_id: str, user: str, channel: str | None, verb: str
) -> Escalation | None:
    escalation = await services.store.get_escalation(escalation_id)
    if escalation is None:
        await tell(services, channel=channel, user=user, text="That escalation no longer exists.")
        return None
    if not services.settings.is_manager(user):
        why = (
            f"Only managers (OCC_MANAGERS) can {verb} escalations."
            if services.settings.managers
            else f"Nobody can {verb} escalations yet: OCC_MANAGERS is empty. Ask whoever runs "
            "occ-bot to set it to the managers' Slack user IDs."
        )
        await database_down.keep(
            services,
            _entry(
                services,
                Action.ESCALATION_REFUSED,
                escalation,
                {"attempted": verb, "reason": why},
                Outcome.REFUSED,
                user,
            ),
        )
        await tell(services, channel=channel, user=user, text=why)
        return None
    return escalation


async def _lost(services: Services, escalation: Escalation, user: str, channel: str | None) -> None:
    if escalation.state is EscalationState.RESOLVED and escalation.resolved_by:
        text = f"Already resolved by {mention(escalation.resolved_by)}"
        at = escalation.resolved_at
    elif escalation.claimed_by:
        text = f"Already claimed by {mention(escalation.claimed_by)}"
        at = escalation.claimed_at
    else:
        text, at = "Nothing to do: the escalation is not claimed yet", None
    await tell(
        services, channel=channel, user=user, text=text + (f" {slack_date(at)}." if at else ".")
    )


def _entry(
    services: Services,
    action: Action,
    escalation: Escalation,
    payload: dict,
    outcome: Outcome = Outcome.SUCCESS,
    actor: str = "system",
):
    return decision_log.entry(
        services,
        action,
        subject_id=escalation.id,
        conversation_id=escalation.conversation_id,
        payload={"draft_id": escalation.draft_id, **payload},
        actor=actor,
        outcome=outcome,
    )


async def repost_escalations(services: Services) -> Tally:
    """Post the escalations Slack refused earlier: an escalation nobody sees is a failure."""

    async def repost(escalation_id: str) -> None:
        escalation = await services.store.get_escalation(escalation_id)
        draft = await services.store.get_draft(escalation.draft_id) if escalation else None
        if escalation is not None and draft is not None:
            await post_escalation(services, escalation, draft, again=True)

    ids = await services.store.unposted_escalations(services.clock())
    return await each(ids, repost, what="posting escalation")
