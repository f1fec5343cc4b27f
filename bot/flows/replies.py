"""Sending an approved reply to the customer through Chatwoot, exactly once.

The decision is stored before anything here runs, and with it the decider's time-limited lease
on the reply (status SENDING). The lease holder calls Chatwoot, then records the outcome.
Failures are kept and retried with backoff by the `replies` job, each retry under a new lease
taken with a compare-and-set; a lease left behind by a crashed worker expires and is taken
again. Before any second attempt the conversation is searched for the reply, because a
timed-out or crashed attempt may have reached the customer: that is what keeps a retry from
sending twice.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from bot import audit
from bot.domain import Action, Delivery, DeliveryStatus, Draft, Outcome
from bot.flows import attempts, surfaces
from bot.flows.incidents import chatwoot_failed, dependency_ok
from bot.integrations.chatwoot import ChatwootClient, ChatwootError, ReplyWindowClosed
from bot.integrations.chatwoot_webhook import DeliveryFailure
from bot.rules.retries import LEASE
from bot.runtime.batch import Tally, each
from bot.services import Services
from bot.slack import user_profile

log = logging.getLogger("occ.replies")


async def deliver(services: Services, draft_id: str, *, force: bool = False) -> Draft | None:
    """Send the reply of one approved draft if it is due and no one else holds it."""
    now = services.clock()
    draft = await services.store.claim_reply(
        draft_id, now=now, lease_until=now + LEASE, force=force
    )
    if draft is None:
        return None
    return await send_leased(services, draft)


async def send_leased(services: Services, draft: Draft) -> Draft:
    """Send a reply whose lease this worker holds (from `deliver`, or taken with the decision)."""
    if services.chatwoot is None:
        recorded = await _finish(
            services,
            draft,
            Delivery(status=DeliveryStatus.RECORDED, attempts=draft.reply.attempts),
            Action.REPLY_RECORDED,
            {"text": _text(draft), "why": "Chatwoot not configured"},
        )
    else:
        recorded = await _send(services, services.chatwoot, draft)
    await surfaces.changed(services, recorded)
    return recorded.subject


async def deliver_due(services: Services) -> Tally:
    """One pass of the retry job: every reply that is due now."""
    ids = await services.store.due_replies(services.clock())
    return await each(ids, lambda draft_id: deliver(services, draft_id), what="reply of")


def _text(draft: Draft) -> str:
    assert draft.decision is not None and draft.decision.final_text is not None
    return draft.decision.final_text


async def _send(services: Services, chatwoot: ChatwootClient, draft: Draft) -> surfaces.Event:
    assert draft.decision is not None
    conversation = draft.input.conversation_id
    attempt = draft.reply.attempts
    started = time.perf_counter()
    operator = await user_profile(services, draft.decision.actor)
    payload: dict[str, Any] = {"text": _text(draft), "attempt": attempt, "operator": operator}
    try:
        if attempt > 1:
            since = int(draft.decision.at.timestamp()) - 5
            found = await chatwoot.find_sent_reply(conversation, _text(draft), since_unix=since)
            if found is not None:
                payload["reconciled"] = True
                return await _sent(services, draft, found, payload, started)
        if not await chatwoot.can_reply(conversation):
            raise ReplyWindowClosed(
                "Chatwoot cannot reply in this conversation now (can_reply is false: e.g. "
                "WhatsApp's 24-hour window has closed); nothing was sent. Answer the customer "
                "another way, or Retry once they write again"
            )
        payload["assigned_to"] = await assign_to_agent(
            chatwoot, conversation, operator.get("email")
        )
        attempts.still_leased(draft.reply, services.clock())
        message = await chatwoot.send_reply(conversation, _text(draft))
    except ChatwootError as error:
        return await _failed(services, draft, error, payload, started)
    payload["private_note"] = await _note_who_approved(services, chatwoot, draft, operator)
    return await _sent(services, draft, message, payload, started)


async def undelivered(services: Services, failure: DeliveryFailure) -> Draft | None:
    """Chatwoot took a reply, then its channel did not deliver it: the reply is not sent
    after all. The card says why and offers Retry; the log has ``reply.failed``."""
    message_id = str(failure.message_id)
    draft = await services.store.draft_for_reply(message_id)
    if draft is None or draft.reply.status is not DeliveryStatus.SENT:
        return None  # not a reply of ours (an agent's, a note), or told already
    payload = {"message_id": message_id, "error": failure.error, "after_chatwoot_took_it": True}
    entry = audit.draft_entry(services, Action.REPLY_FAILED, draft, payload, outcome=Outcome.FAILED)
    changed = await services.store.reply_undelivered(draft.id, message_id, failure.error, entry)
    if changed is not None:
        await surfaces.changed(services, surfaces.Event(Action.REPLY_FAILED, changed))
    return changed


async def assign_to_agent(
    chatwoot: ChatwootClient, conversation: int, email: str | None
) -> int | None:
    """Assign the conversation to the Chatwoot agent with this person's email, if any."""
    if not email:
        return None
    try:
        agent = await chatwoot.find_agent_by_email(email)
        if agent is None:
            return None
        await chatwoot.assign(conversation, int(agent["id"]))
    except ChatwootError as error:
        if error.transient:
            raise  # Chatwoot is down: the reply would fail too, so retry the whole step
        log.warning("could not assign conversation %s: %s", conversation, error)
        return None
    return int(agent["id"])


def attribution(person: dict[str, str | None], user_id: str) -> str:
    """ "Olivia Operator (olivia@example.com)": who did it, as Chatwoot agents read it."""
    who = person.get("name") or user_id
    return f"{who} ({person['email']})" if person.get("email") else who


async def _note_who_approved(
    services: Services, chatwoot: ChatwootClient, draft: Draft, operator: dict[str, str | None]
) -> bool:
    assert draft.decision is not None
    who = attribution(operator, draft.decision.actor)
    verb = "Edited and approved" if draft.decision.final_text != draft.input.draft else "Approved"
    try:
        await chatwoot.add_private_note(
            draft.input.conversation_id,
            f"{verb} in Slack by {who} — occ-bot draft {draft.id}.",
        )
    except ChatwootError as error:
        log.warning("private note on %s failed: %s", draft.id, error)
        return False
    return True


async def _sent(
    services: Services,
    draft: Draft,
    message: dict[str, Any],
    payload: dict[str, Any],
    started: float,
) -> surfaces.Event:
    await dependency_ok(services, "chatwoot")
    reply = attempts.sent(draft.reply, message, payload, started, services.clock())
    return await _finish(services, draft, reply, Action.REPLY_SENT, payload)


async def _failed(
    services: Services,
    draft: Draft,
    error: ChatwootError,
    payload: dict[str, Any],
    started: float,
) -> surfaces.Event:
    payload["transient"] = error.transient
    reply, outcome = attempts.failed(draft.reply, error, payload, started, services.clock())
    done = await _finish(services, draft, reply, Action.REPLY_FAILED, payload, outcome)
    if not isinstance(error, ReplyWindowClosed):  # Chatwoot itself works: nothing for on-call
        await chatwoot_failed(services, error)
    return done


async def _finish(
    services: Services,
    draft: Draft,
    reply: Delivery,
    action: Action,
    payload: dict[str, Any],
    outcome: Outcome = Outcome.SUCCESS,
) -> surfaces.Event:
    """Record the attempt's outcome: what was recorded, with the draft as it stands now."""
    entry = audit.draft_entry(services, action, draft, payload, outcome=outcome)
    finished = await services.store.finish_reply(draft.id, reply, entry)
    if finished is None:  # our lease ran out and another worker took the reply over
        log.warning(
            "attempt %s on %s outlived its lease; outcome left to the next",
            reply.attempts,
            draft.id,
        )
        # Not recorded; the card is still drawn as the reply stands now.
        finished = await services.store.get_draft(draft.id) or draft
    return surfaces.Event(action, finished)
