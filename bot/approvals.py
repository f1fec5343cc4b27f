"""The approval queue: drafts in, cards out, and one decision per draft.

Each step follows the same order: load the stored draft, decide who may act (bot.access),
compare-and-set the state in the store (with its log row, in one transaction), then talk to
Slack. The store's compare-and-set is what makes a double click, two operators, a Slack retry
or two replicas produce one decision; the loser is told who won.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta
from typing import Any

from bot import audit
from bot.access import refusal
from bot.blocks.card import draft_card_text
from bot.blocks.text import mention, slack_date
from bot.domain import (
    Action,
    Decision,
    DecisionKind,
    Draft,
    DraftInput,
    DraftState,
    Escalation,
    Outcome,
    RejectReason,
    ReplyStatus,
    SlackRef,
)
from bot.policy import risk_flags
from bot.replies import LEASE as REPLY_LEASE
from bot.services import Services, new_id
from bot.slack_out import (
    SLACK_FAILURES,
    card_blocks,
    dependency_failed,
    dependency_ok,
    describe,
    refresh_card,
    tell,
)

log = logging.getLogger("occ.approvals")

POST_LEASE = timedelta(minutes=5)  # outlasts slack_sdk's retries of a rate-limited post

DECISION_ACTIONS = {
    DecisionKind.APPROVE: Action.DRAFT_APPROVED,
    DecisionKind.EDIT: Action.DRAFT_EDITED,
    DecisionKind.REJECT: Action.DRAFT_REJECTED,
    DecisionKind.ESCALATE: Action.DRAFT_ESCALATED,
}
PAST_TENSE = {
    DraftState.APPROVED: "approved",
    DraftState.REJECTED: "rejected",
    DraftState.ESCALATED: "escalated",
}


async def receive(services: Services, data: DraftInput) -> tuple[Draft, bool]:
    """Store a new draft (idempotent on external_id) and post its card in the background."""
    draft = Draft(
        id=new_id("d"),
        input=data,
        received_at=services.clock(),
        flags=risk_flags(data, high_value_usd=services.settings.high_value_usd),
    )
    payload = {"external_id": data.external_id, "agent": data.agent, **audit.assessment(draft)}
    stored, created = await services.store.add_draft(
        draft, audit.draft_entry(services, Action.DRAFT_RECEIVED, draft, payload)
    )
    if created:
        services.background.spawn(post_card(services, stored), name=f"post-card-{stored.id}")
    return stored, created


async def post_card(services: Services, draft: Draft) -> Draft | None:
    """Post the card under a lease, so a retrying job on another replica cannot post it too."""
    now = services.clock()
    lease_until = now + POST_LEASE
    if await services.store.claim_card_post(draft.id, now=now, lease_until=lease_until) is None:
        return None  # already posted, or another worker is posting it
    started = time.perf_counter()
    try:
        response = await services.slack.chat_postMessage(
            channel=services.settings.approvals_channel,
            blocks=card_blocks(services, draft),
            text=draft_card_text(draft),
        )
    except SLACK_FAILURES as error:
        detail = describe(error)
        await services.store.log(
            audit.draft_entry(
                services,
                Action.DRAFT_POSTED,
                draft,
                {"error": detail, "channel": services.settings.approvals_channel},
                outcome=Outcome.RETRY,
            )
        )
        await dependency_failed(services, "slack", f"chat.postMessage: {detail}")
        return None  # the `reposts` job tries again once the lease has expired
    await dependency_ok(services, "slack")
    card = SlackRef(channel=response["channel"], ts=response["ts"])
    payload = {
        "channel": card.channel,
        "ts": card.ts,
        "latency_ms": round((time.perf_counter() - started) * 1000, 1),
    }
    return await services.store.set_card(
        draft.id,
        card,
        services.clock(),
        audit.draft_entry(services, Action.DRAFT_POSTED, draft, payload),
    )


def already_decided(draft: Draft) -> str:
    decision = draft.decision
    if decision is None:
        return "This draft has already been decided."
    verb = "edited and approved" if decision.kind is DecisionKind.EDIT else PAST_TENSE[draft.state]
    return (
        f"Nothing changed: {mention(decision.actor)} already {verb} this draft "
        f"{slack_date(decision.at)}."
    )


async def check(
    services: Services, draft_id: str, user: str, kind: DecisionKind, *, channel: str | None
) -> Draft | None:
    """The stored draft if `user` may `kind` it now; otherwise tell them why and log it."""
    draft = await services.store.get_draft(draft_id)
    if draft is None:
        await tell(services, channel=channel, user=user, text="That draft no longer exists.")
        return None
    why = refusal(services.settings, user, draft, kind)
    if why is None and draft.state is not DraftState.PENDING:
        why = already_decided(draft)
    if why is not None:
        await refuse(services, draft, user, kind, why)
        return None
    return draft


async def refuse(services: Services, draft: Draft, user: str, kind: DecisionKind, why: str) -> None:
    await services.store.log(
        audit.draft_entry(
            services,
            Action.DRAFT_REFUSED,
            draft,
            {"attempted": kind.value, "reason": why, "state": draft.state.value},
            actor=user,
            outcome=Outcome.REFUSED,
        )
    )
    await tell(services, channel=draft.card.channel if draft.card else None, user=user, text=why)


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
) -> Draft | None:
    """Record one decision with compare-and-set; the updated draft, or None if refused/lost."""
    draft = await check(services, draft_id, user, kind, channel=None)
    if draft is None:
        return None
    now = services.clock()
    if kind is DecisionKind.EDIT and (final_text or "").strip() == draft.input.draft.strip():
        kind = DecisionKind.APPROVE  # an edit that changed nothing is a plain approval
    if kind is DecisionKind.APPROVE:
        final_text = draft.input.draft
    decision = Decision(
        kind=kind,
        actor=user,
        at=now,
        final_text=final_text,
        reason=reason,
        notes=notes,
        escalation_id=escalation.id if escalation else None,
    )
    sends = kind in (DecisionKind.APPROVE, DecisionKind.EDIT)
    won = await services.store.decide(
        draft_id,
        decision,
        # The decider takes the reply's first lease in the same write: one round trip fewer,
        # and if this process dies before sending, the lease expires and a job sends it.
        reply_status=ReplyStatus.SENDING if sends else ReplyStatus.NONE,
        reply_lease_until=now + REPLY_LEASE if sends else None,
        log=audit.draft_entry(
            services,
            DECISION_ACTIONS[kind],
            draft,
            _decision_payload(draft, decision, escalation),
            actor=user,
        ),
        escalation=escalation,
    )
    if won is None:
        latest = await services.store.get_draft(draft_id) or draft
        await refuse(services, latest, user, kind, already_decided(latest))
        return None
    await refresh_card(services, won, escalation)
    return won


def _decision_payload(
    draft: Draft, decision: Decision, escalation: Escalation | None
) -> dict[str, Any]:
    shown_at = draft.posted_at or draft.received_at
    payload: dict[str, Any] = {
        "decision": decision.kind.value,
        "waited_seconds": round((decision.at - shown_at).total_seconds(), 3),
        "card": {"channel": draft.card.channel, "ts": draft.card.ts} if draft.card else None,
        **audit.assessment(draft),
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
            "id": escalation.id,
            "type": escalation.type.value,
            "urgency": escalation.urgency.value,
            "notes": escalation.notes,
            "due_at": escalation.due_at.isoformat(),
            "sla_minutes": round(
                (escalation.due_at - escalation.created_at).total_seconds() / 60, 3
            ),
        }
        payload["draft_text"] = draft.input.draft
    return payload


async def repost_cards(services: Services) -> int:
    """Post the cards Slack refused earlier; returns how many were tried."""
    ids = await services.store.unposted_drafts(services.clock())
    for draft_id in ids:
        draft = await services.store.get_draft(draft_id)
        if draft is not None:
            await post_card(services, draft)
    return len(ids)
