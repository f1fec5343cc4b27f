"""The escalation's private note in Chatwoot, so agents there see the conversation is with a
manager: delivered once, and retried like a reply (bot.rules.retries) when Chatwoot fails.

The escalating worker takes the note's first lease with the escalation itself; the ``notes``
job sends the ones that failed or whose worker died. Before any second attempt the
conversation is searched for the note (it carries the escalation's id), because a timed-out
attempt may have reached Chatwoot: found, it is recorded as sent, not added again.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from bot import audit
from bot.domain import Action, Delivery, DeliveryStatus, Escalation, LogEntry, Outcome
from bot.flows import attempts
from bot.flows.incidents import chatwoot_failed, dependency_ok
from bot.integrations.chatwoot import ChatwootClient, ChatwootError
from bot.rules.retries import LEASE
from bot.runtime.batch import Tally, each
from bot.services import Services
from bot.slack import user_profile

log = logging.getLogger("occ.notes")


def first_lease(services: Services, has_conversation: bool) -> Delivery:
    """The note's delivery as the escalation is stored: leased to the escalating worker, or
    nothing to deliver (no Chatwoot, or no conversation)."""
    if services.chatwoot is None or not has_conversation:
        return Delivery()
    return Delivery(status=DeliveryStatus.SENDING, attempts=1, lease_until=services.clock() + LEASE)


async def deliver_note(
    services: Services, escalation_id: str, *, force: bool = False
) -> Escalation | None:
    """Send the note of one escalation if it is due and no one else holds it."""
    now = services.clock()
    escalation = await services.store.claim_note(
        escalation_id, now=now, lease_until=now + LEASE, force=force
    )
    if escalation is None:
        return None
    return await send_leased_note(services, escalation)


async def deliver_due_notes(services: Services) -> Tally:
    """One pass of the ``notes`` job: every note that is due now."""
    ids = await services.store.due_notes(services.clock())
    return await each(ids, lambda escalation_id: deliver_note(services, escalation_id), what="note")


async def send_leased_note(services: Services, escalation: Escalation) -> Escalation:
    """Send a note whose lease this worker holds."""
    chatwoot = services.chatwoot
    if chatwoot is None or escalation.conversation_id is None:  # configuration changed since
        return await _finish(
            services,
            escalation,
            Delivery(attempts=escalation.note.attempts),
            {"why": "no Chatwoot"},
        )
    started = time.perf_counter()
    attempt = escalation.note.attempts
    payload: dict[str, Any] = {"attempt": attempt}
    try:
        if attempt > 1:
            since = int(escalation.created_at.timestamp()) - 5
            found = await chatwoot.find_private_note(
                escalation.conversation_id, _marker(escalation), since_unix=since
            )
            if found is not None:
                payload["reconciled"] = True
                return await _sent(services, escalation, found, payload, started)
        text = await _text(services, escalation)
        attempts.still_leased(escalation.note, services.clock())
        note = await chatwoot.add_private_note(escalation.conversation_id, text)
    except ChatwootError as error:
        return await _failed(services, chatwoot, escalation, error, payload, started)
    return await _sent(services, escalation, note, payload, started)


def _marker(escalation: Escalation) -> str:
    return f"occ-bot escalation {escalation.id}"


async def _text(services: Services, escalation: Escalation) -> str:
    who = (await user_profile(services, escalation.escalated_by)).get("name") or "an operator"
    return (
        f"Escalated to managers ({escalation.urgency.value.upper()}, "
        f"{escalation.type.value.replace('_', ' ')}) by {who} from Slack "
        f"({_marker(escalation)}).\n\n{escalation.notes}"
    )


async def _sent(
    services: Services,
    escalation: Escalation,
    note: dict[str, Any],
    payload: dict[str, Any],
    started: float,
) -> Escalation:
    await dependency_ok(services, "chatwoot")
    sent = attempts.sent(escalation.note, note, payload, started, services.clock())
    return await _finish(services, escalation, sent, payload)


async def _failed(
    services: Services,
    chatwoot: ChatwootClient,
    escalation: Escalation,
    error: ChatwootError,
    payload: dict[str, Any],
    started: float,
) -> Escalation:
    after, outcome = attempts.failed(escalation.note, error, payload, started, services.clock())
    done = await _finish(services, escalation, after, payload, outcome)
    await chatwoot_failed(services, error)
    return done


async def _finish(
    services: Services,
    escalation: Escalation,
    note: Delivery,
    payload: dict[str, Any],
    outcome: Outcome = Outcome.SUCCESS,
) -> Escalation:
    finished = await services.store.finish_note(
        escalation.id, note, _entry(services, escalation, payload, outcome)
    )
    if finished is None:  # our lease ran out and another worker took the note over
        log.warning("note attempt %s on %s outlived its lease", note.attempts, escalation.id)
        return await services.store.get_escalation(escalation.id) or escalation
    return finished


def _entry(
    services: Services, escalation: Escalation, payload: dict[str, Any], outcome: Outcome
) -> LogEntry:
    return audit.entry(
        services,
        Action.ESCALATION_NOTED,
        subject_id=escalation.id,
        conversation_id=escalation.conversation_id,
        payload={"draft_id": escalation.draft_id, **payload},
        outcome=outcome,
    )
