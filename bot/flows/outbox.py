"""Every message occ-bot sends to Chatwoot, each delivered once: a draft's approved reply, an
escalation's private note, a manager's reply and resolution note, Sales Pulse's notes.

A message is queued in the transaction of the change it belongs to (the decision, the
escalation, the resolution), with its first lease taken by the worker that made the change,
which sends it at once (`send_leased`). The ``outbox`` job sends the ones that failed or whose
worker died (`deliver_due`), each retry under a new lease taken with a compare-and-set, after
a backoff (bot.rules.retries). Before any second attempt the conversation is searched for the
message (a reply by its exact text, a note by the marker it ends with), because a timed-out
or crashed attempt may have reached Chatwoot: found, it is recorded as sent, not sent again.

A reply is only sent while Chatwoot can reply in the conversation (WhatsApp's 24-hour window),
assigns the conversation to the sender's Chatwoot agent, and is followed by a private note
saying who sent it from Slack. A draft's reply is logged as reply.sent, reply.failed or
reply.recorded and redraws its card; any other message is logged under its own action, the
outcome saying how the attempt went, and a correction of a draft's reply (correction.sent)
redraws that card too.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from typing import Any

from bot import decision_log
from bot.domain import (
    Action,
    Delivery,
    DeliveryStatus,
    Draft,
    LogEntry,
    MessageKind,
    OutboxMessage,
    Outcome,
    Scope,
)
from bot.flows import attempts, surfaces
from bot.flows.incidents import chatwoot_failed, dependency_ok
from bot.flows.reply_card import SendingCard
from bot.integrations.chatwoot import ChatwootClient
from bot.integrations.chatwoot_answers import ChatwootError, ReplyWindowClosed
from bot.integrations.chatwoot_webhook import DeliveryFailure
from bot.rules.retries import LEASE
from bot.runtime.batch import Tally, each
from bot.services import Services
from bot.slack import user_profile
from bot.store.outbox import CORRECTIONS, reply_id

log = logging.getLogger("occ.outbox")

DRAFT_REPLY = Action.REPLY_SENT.value  # the action a draft's reply is queued under
MARKER_START = "\n\n("


def new_message(
    services: Services,
    *,
    subject_id: str,
    conversation_id: int,
    kind: MessageKind,
    content: str,
    action: Action,
    actor: str,
    message_id: str | None = None,
    marker: str | None = None,
) -> OutboxMessage:
    """A message to queue with a change, its first lease the caller's: send it with
    `send_leased` once the change is stored. A note ends with ``marker`` (by default one
    naming its subject), which finds it in the conversation before a second attempt."""
    if kind is MessageKind.NOTE:
        content = f"{content}{MARKER_START}{marker or f'occ-bot note for {subject_id}'})"
    return OutboxMessage(
        id=message_id or services.new_id("out"),
        subject_id=subject_id,
        conversation_id=conversation_id,
        kind=kind,
        content=content,
        action=action.value,
        actor=actor,
        created_at=services.clock(),
        delivery=Delivery(
            status=DeliveryStatus.SENDING, attempts=1, lease_until=services.clock() + LEASE
        ),
    )


def draft_reply(services: Services, draft: Draft, text: str, actor: str) -> OutboxMessage:
    """A draft's approved reply: one per draft (its id is the draft's)."""
    return new_message(
        services,
        subject_id=draft.id,
        conversation_id=draft.input.conversation_id,
        kind=MessageKind.REPLY,
        content=text,
        action=Action.REPLY_SENT,
        actor=actor,
        message_id=reply_id(draft.id),
    )


async def retry_reply(services: Services, draft_id: str) -> OutboxMessage | None:
    """Send a draft's reply again now (Retry on its card), even before its backoff is over."""
    return await deliver(services, reply_id(draft_id), force=True)


async def deliver(
    services: Services, message_id: str, *, force: bool = False
) -> OutboxMessage | None:
    """Send one message if it is due (or ``force``: failed or given up) and no one holds it."""
    now = services.clock()
    message = await services.store.claim_outbox_message(
        message_id, now=now, lease_until=now + LEASE, force=force
    )
    if message is None:
        return None
    return await send_leased(services, message)


async def deliver_due(services: Services) -> Tally:
    """One pass of the ``outbox`` job: every message that is due now."""
    ids = await services.store.due_outbox_messages(services.clock())
    return await each(ids, lambda message_id: deliver(services, message_id), what="outbox message")


async def send_leased(
    services: Services,
    message: OutboxMessage,
    draft: Draft | None = None,
    *,
    card: SendingCard | None = None,
) -> OutboxMessage:
    """Send a message whose lease this worker holds, and record how it went. ``draft``: the
    draft whose reply it is, when the caller holds it (else it is read); ``card``: its
    decider's first send, whose card shows "sending" only while the outcome is slow."""
    if message.delivery.status is not DeliveryStatus.SENDING:
        return message
    draft = draft or await _draft_of(services, message)
    chatwoot = services.chatwoot
    if chatwoot is None:
        recorded = Delivery(status=DeliveryStatus.RECORDED, attempts=message.delivery.attempts)
        return await _finish(services, message, draft, recorded, {"why": "no Chatwoot"}, card=card)
    started = time.perf_counter()
    payload: dict[str, Any] = {"kind": message.kind.value, "attempt": message.delivery.attempts}
    try:
        found = await _already_there(chatwoot, message)
        if found is not None:
            payload["reconciled"] = True
            sent = found
        else:
            sent = await _send(services, chatwoot, message, draft, payload)
    except ChatwootError as error:
        payload["transient"] = error.transient
        after, outcome = attempts.failed(
            message.delivery, error, payload, started, services.clock()
        )
        done = await _finish(services, message, draft, after, payload, outcome, card=card)
        if not isinstance(error, ReplyWindowClosed):  # Chatwoot works: nothing for on-call
            await chatwoot_failed(services, error)
        return done
    await dependency_ok(services, "chatwoot")
    delivery = attempts.sent(message.delivery, sent, payload, started, services.clock())
    return await _finish(services, message, draft, delivery, payload, card=card)


async def undelivered(services: Services, failure: DeliveryFailure) -> OutboxMessage | None:
    """Chatwoot took a reply, then its channel did not deliver it: it is not sent after all.
    It is given up (a draft's card says why and offers Retry), with its failure logged."""
    chatwoot_id = str(failure.message_id)
    message = await services.store.outbox_message_sent_as(chatwoot_id)
    if message is None or message.delivery.status is not DeliveryStatus.SENT:
        return None  # not a message of ours (an agent's), or told already
    draft = await _draft_of(services, message)
    gave_up = Delivery(status=DeliveryStatus.GAVE_UP, attempts=message.delivery.attempts)
    payload = {"message_id": chatwoot_id, "error": failure.error, "after_chatwoot_took_it": True}
    entry = _entry(services, message, draft, gave_up, payload, Outcome.FAILED)
    changed = await services.store.outbox_message_undelivered(
        message.id, chatwoot_id, failure.error, entry
    )
    if changed is not None:
        await _redraw(services, draft, changed, entry.action)
    return changed


async def _draft_of(services: Services, message: OutboxMessage) -> Draft | None:
    if message.action not in (DRAFT_REPLY, CORRECTIONS):
        return None
    return await services.store.get_draft(message.subject_id)


def marker_of(message: OutboxMessage) -> str:
    """The marker a note ends with: ``occ-bot note for <subject>`` or, for an escalation's
    note, ``occ-bot escalation <id>``."""
    return message.content.rsplit(MARKER_START, 1)[-1].removesuffix(")")


async def _already_there(chatwoot: ChatwootClient, message: OutboxMessage) -> dict[str, Any] | None:
    if message.delivery.attempts <= 1:
        return None
    since = int(message.created_at.timestamp()) - 5
    if message.kind is MessageKind.REPLY:
        return await chatwoot.find_sent_reply(
            message.conversation_id, message.content, since_unix=since
        )
    return await chatwoot.find_private_note(
        message.conversation_id, marker_of(message), since_unix=since
    )


async def _send(
    services: Services,
    chatwoot: ChatwootClient,
    message: OutboxMessage,
    draft: Draft | None,
    payload: dict[str, Any],
) -> dict[str, Any]:
    conversation = message.conversation_id
    if message.kind is MessageKind.NOTE:
        attempts.still_leased(message.delivery, services.clock())
        return await chatwoot.add_private_note(conversation, message.content)
    if not await chatwoot.can_reply(conversation):
        raise ReplyWindowClosed(
            "Chatwoot cannot reply in this conversation now (can_reply is false: e.g. "
            "WhatsApp's 24-hour window has closed); nothing was sent. Answer the customer "
            "another way, or Retry once they write again"
        )
    person = await user_profile(services, message.actor)
    payload["sent_by"] = person
    payload["assigned_to"] = await assign_to_agent(chatwoot, conversation, person.get("email"))
    attempts.still_leased(message.delivery, services.clock())
    sent = await chatwoot.send_reply(conversation, message.content)
    who = attribution(person, message.actor)
    try:
        await chatwoot.add_private_note(conversation, _sent_note(message, draft, who))
        payload["private_note"] = True
    except ChatwootError as error:
        log.warning("attribution note on %s failed: %s", message.id, error)
        payload["private_note"] = False
    return sent


def _sent_note(message: OutboxMessage, draft: Draft | None, who: str) -> str:
    """The private note under a reply, saying who sent it from Slack."""
    if draft is None:
        return f"Sent from Slack by {who} — occ-bot {message.id}."
    if message.action == CORRECTIONS:
        return f"Correction sent from Slack by {who} — occ-bot draft {draft.id}."
    edited = message.content != draft.input.draft
    verb = "Edited and approved" if edited else "Approved"
    return f"{verb} in Slack by {who} — occ-bot draft {draft.id}."


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


async def _finish(
    services: Services,
    message: OutboxMessage,
    draft: Draft | None,
    delivery: Delivery,
    payload: dict[str, Any],
    outcome: Outcome = Outcome.SUCCESS,
    *,
    card: SendingCard | None = None,
) -> OutboxMessage:
    """Record the attempt's outcome while it still holds the message, and redraw."""
    entry = _entry(services, message, draft, delivery, payload, outcome)
    finished = await services.store.finish_outbox_message(message.id, delivery, entry)
    if finished is None:  # our lease ran out and another worker took the message over
        log.warning("attempt %s on %s outlived its lease", delivery.attempts, message.id)
        return await services.store.get_outbox_message(message.id) or message
    await _redraw(services, draft, finished, entry.action, card)
    return finished


def _entry(
    services: Services,
    message: OutboxMessage,
    draft: Draft | None,
    delivery: Delivery,
    payload: dict[str, Any],
    outcome: Outcome,
) -> LogEntry:
    extra = {"text": message.content} if message.kind is MessageKind.REPLY else {}
    return decision_log.entry(
        services,
        _logged_as(message, delivery),
        subject_id=message.subject_id,
        conversation_id=message.conversation_id,
        payload={"outbox_id": message.id, **extra, **payload},
        outcome=outcome,
        scope=draft.scope if draft is not None else Scope.CX,
    )


def _logged_as(message: OutboxMessage, delivery: Delivery) -> Action:
    """A draft's reply is logged as what happened to it; any other message under its action."""
    if message.action != DRAFT_REPLY:
        return Action(message.action)
    if delivery.status is DeliveryStatus.SENT:
        return Action.REPLY_SENT
    if delivery.status is DeliveryStatus.RECORDED:
        return Action.REPLY_RECORDED
    return Action.REPLY_FAILED


async def _redraw(
    services: Services,
    draft: Draft | None,
    delivered: OutboxMessage,
    action: Action,
    card: SendingCard | None = None,
) -> None:
    """A draft's card shows its reply (the draft row itself does not change while its reply
    is delivered) and the corrections under it; no other message is shown in Slack."""
    if draft is None:
        return
    if delivered.action == DRAFT_REPLY:
        draft = replace(draft, reply=delivered.delivery)
    if card is not None:
        await card.outcome_next()
    event = surfaces.Event(action, draft, first_send=card is not None)
    await surfaces.changed(services, event)
