"""One person's click (or modal submission), as the soak sends it and remembers it.

A click goes to the load balancer as Slack sends it: a signed form body. A click Slack
could not deliver (the balancer's 502/503, a reset connection) is shown to the person as an
error, so they click again, up to `TRIES` times; a click acknowledged with 200 is trusted
and never sent again. What the soak later checks is what became of each acknowledged one.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from bench.common import SIGNING_SECRET
from bot.blocks.ids import CallbackId, InputId
from bot.demo.standins.interactions import (
    block_action,
    form_body,
    select_value,
    signature_headers,
    text_value,
    view_submission,
)
from bot.domain import EscalationType, Urgency

TRIES = 5
RETRY_SECONDS = 1.0  # a person seeing Slack's error clicks again about this much later


@dataclass
class Attempt:
    sent_at: float  # time.time() just before it went out
    status: int | None  # None: no HTTP answer (connection refused or reset, timeout)
    ms: float
    error: str = ""


@dataclass
class Click:
    """One decision as a person made it: Approve, an Escalate submission, or a Claim."""

    kind: str  # "approve", "escalate", "claim"
    subject: str  # the draft's id, or the escalation's for a claim
    user: str
    channel: str
    ts: str  # the message clicked (the card, the escalation message)
    attempts: list[Attempt] = field(default_factory=list)
    seen: str = ""  # what the person saw after the ack: "updated", "ephemeral" or ""
    ephemeral: str | None = None
    second: bool = False  # the later of two operators clicking one card at once

    @property
    def first_sent(self) -> float:
        return self.attempts[0].sent_at

    @property
    def acked(self) -> Attempt | None:
        return next((a for a in self.attempts if a.status == 200), None)

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "subject": self.subject,
            "user": self.user,
            "acked": self.acked is not None,
            "attempts": [(round(a.sent_at, 3), a.status, round(a.ms, 1)) for a in self.attempts],
            "seen": self.seen,
            "second": self.second,
        }


def button_body(
    *, user: str, action_id: str, value: str, channel: str, ts: str, trigger_id: str | None
) -> str:
    payload = block_action(
        user=user, action_id=action_id, value=value, channel=channel, message_ts=ts
    )
    if trigger_id is not None:
        payload["trigger_id"] = trigger_id  # one the Slack stand-in issued: it expires in 3 s
    return form_body(payload)


def escalate_body(*, user: str, private_metadata: str) -> str:
    """The Escalate modal submitted: Urgent, so that its SLA falls due during the soak."""
    values = (
        select_value(InputId.ESCALATION_TYPE, EscalationType.POLICY_EXCEPTION.value)
        | select_value(InputId.ESCALATION_URGENCY, Urgency.URGENT.value)
        | text_value(InputId.ESCALATION_NOTES, "Soak: please look at this one.")
    )
    payload = view_submission(
        user=user,
        callback_id=CallbackId.ESCALATE.value,
        private_metadata=private_metadata,
        values=values,
    )
    return form_body(payload)


async def send_once(http: aiohttp.ClientSession, url: str, body: str) -> Attempt:
    headers = signature_headers(SIGNING_SECRET, body)
    sent_at, started = time.time(), time.perf_counter()
    try:
        async with http.post(url, data=body, headers=headers) as response:
            await response.read()
            status: int | None = response.status
            error = ""
    except (aiohttp.ClientError, TimeoutError, OSError) as failure:
        status, error = None, type(failure).__name__
    return Attempt(sent_at, status, (time.perf_counter() - started) * 1000, error)


async def send(http: aiohttp.ClientSession, url: str, click: Click, make_body: Any) -> bool:
    """Send until acknowledged (at most `TRIES` times); whether it was. ``make_body()``
    builds each try afresh, as a new click is a new payload."""
    for _ in range(TRIES):
        attempt = await send_once(http, url, await make_body())
        click.attempts.append(attempt)
        if attempt.status == 200:
            return True
        await asyncio.sleep(RETRY_SECONDS)
    return False
