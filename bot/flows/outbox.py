"""Delivering the Chatwoot outbox: each message once, retried like a reply when Chatwoot fails.

A message is queued in the transaction of the change it belongs to, usually with its first
lease taken by the worker that made the change, which sends it at once; the ``outbox`` job
sends the ones that failed or whose worker died. Before any second attempt the conversation is
searched for the message (a reply by its exact text, a note by the id it carries), because a
timed-out attempt may have reached Chatwoot: found, it is recorded as sent, not sent again.
A reply is attributed to whom it is from as replies are (bot.flows.replies).
"""

from __future__ import annotations

import logging
import time
from typing import Any

from bot import audit
from bot.domain import Action, Delivery, DeliveryStatus, MessageKind, OutboxMessage, Outcome
from bot.flows import attempts
from bot.flows.incidents import chatwoot_failed, dependency_ok
from bot.flows.replies import assign_to_agent, attribution
from bot.integrations.chatwoot import ChatwootClient, ChatwootError
from bot.rules.retries import LEASE
from bot.runtime.batch import Tally, each
from bot.services import Services
from bot.slack import user_profile

log = logging.getLogger("occ.outbox")


def new_message(
    services: Services,
    *,
    subject_id: str,
    conversation_id: int,
    kind: MessageKind,
    content: str,
    action: str,
    actor: str,
) -> OutboxMessage:
    """A message to queue with a change; its first lease is the caller's (send it with
    `send_leased` once the change is stored). Without Chatwoot it is only recorded."""
    now = services.clock()
    delivery = Delivery(status=DeliveryStatus.RECORDED)
    if services.chatwoot is not None:
        delivery = Delivery(status=DeliveryStatus.SENDING, attempts=1, lease_until=now + LEASE)
    if kind is MessageKind.NOTE:
        content = f"{content}\n\n({marker_of_id(subject_id, kind)})"
    return OutboxMessage(
        id=services.new_id("out"),
        subject_id=subject_id,
        conversation_id=conversation_id,
        kind=kind,
        content=content,
        action=action,
        actor=actor,
        created_at=now,
        delivery=delivery,
    )


def marker_of_id(subject_id: str, kind: MessageKind) -> str:
    return f"occ-bot {kind.value} for {subject_id}"


async def deliver(
    services: Services, message_id: str, *, force: bool = False
) -> OutboxMessage | None:
    """Send one message if it is due and no one else holds it."""
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


async def send_leased(services: Services, message: OutboxMessage) -> OutboxMessage:
    """Send a message whose lease this worker holds."""
    chatwoot = services.chatwoot
    if message.delivery.status is not DeliveryStatus.SENDING:
        return message  # only recorded (no Chatwoot when it was queued)
    if chatwoot is None:  # configuration changed since it was queued
        recorded = Delivery(status=DeliveryStatus.RECORDED, attempts=message.delivery.attempts)
        return await _finish(services, message, recorded, {"why": "no Chatwoot"})
    started = time.perf_counter()
    payload: dict[str, Any] = {"kind": message.kind.value, "attempt": message.delivery.attempts}
    try:
        found = await _already_there(chatwoot, message)
        if found is not None:
            payload["reconciled"] = True
            return await _sent(services, message, found, payload, started)
        sent = await _send(services, chatwoot, message, payload)
    except ChatwootError as error:
        return await _failed(services, message, error, payload, started)
    return await _sent(services, message, sent, payload, started)


async def _already_there(chatwoot: ChatwootClient, message: OutboxMessage) -> dict[str, Any] | None:
    if message.delivery.attempts <= 1:
        return None
    since = int(message.created_at.timestamp()) - 5
    if message.kind is MessageKind.REPLY:
        return await chatwoot.find_sent_reply(
            message.conversation_id, message.content, since_unix=since
        )
    marker = marker_of_id(message.subject_id, message.kind)
    return await chatwoot.find_private_note(message.conversation_id, marker, since_unix=since)


async def _send(
    services: Services, chatwoot: ChatwootClient, message: OutboxMessage, payload: dict[str, Any]
) -> dict[str, Any]:
    conversation = message.conversation_id
    if message.kind is MessageKind.NOTE:
        attempts.still_leased(message.delivery, services.clock())
        return await chatwoot.add_private_note(conversation, message.content)
    person = await user_profile(services, message.actor)
    payload["assigned_to"] = await assign_to_agent(chatwoot, conversation, person.get("email"))
    attempts.still_leased(message.delivery, services.clock())
    sent = await chatwoot.send_reply(conversation, message.content)
    note = f"Sent from Slack by {attribution(person, message.actor)} — occ-bot {message.id}."
    try:
        await chatwoot.add_private_note(conversation, note)
        payload["private_note"] = True
    except ChatwootError as error:
        log.warning("attribution note on %s failed: %s", message.id, error)
        payload["private_note"] = False
    return sent


async def _sent(
    services: Services,
    message: OutboxMessage,
    sent: dict[str, Any],
    payload: dict[str, Any],
    started: float,
) -> OutboxMessage:
    await dependency_ok(services, "chatwoot")
    delivery = attempts.sent(message.delivery, sent, payload, started, services.clock())
    return await _finish(services, message, delivery, payload)


async def _failed(
    services: Services,
    message: OutboxMessage,
    error: ChatwootError,
    payload: dict[str, Any],
    started: float,
) -> OutboxMessage:
    after, outcome = attempts.failed(message.delivery, error, payload, started, services.clock())
    done = await _finish(services, message, after, payload, outcome)
    await chatwoot_failed(services, error)
    return done


async def _finish(
    services: Services,
    message: OutboxMessage,
    delivery: Delivery,
    payload: dict[str, Any],
    outcome: Outcome = Outcome.SUCCESS,
) -> OutboxMessage:
    entry = audit.entry(
        services,
        Action(message.action),
        subject_id=message.subject_id,
        conversation_id=message.conversation_id,
        payload={"outbox_id": message.id, **payload},
        outcome=outcome,
    )
    finished = await services.store.finish_outbox_message(message.id, delivery, entry)
    if finished is None:  # our lease ran out and another worker took the message over
        log.warning("attempt %s on %s outlived its lease", delivery.attempts, message.id)
        return await services.store.get_outbox_message(message.id) or message
    return finished
