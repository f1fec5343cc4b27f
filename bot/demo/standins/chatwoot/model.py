"""What the Chatwoot stand-in keeps: its agents, its conversations, the requests it answered,
and the message types as Chatwoot numbers them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

INCOMING, OUTGOING = 0, 1
MESSAGE_TYPES = {"incoming": INCOMING, "outgoing": OUTGOING}


@dataclass(frozen=True)
class ChatwootAgent:
    id: int
    name: str
    email: str
    role: str = "agent"  # or "administrator"
    availability_status: str = "online"
    confirmed: bool = True


@dataclass(frozen=True)
class Recorded:
    """One request as the stand-in received it, with the status it answered."""

    method: str
    path: str
    body: Any
    at: float
    status: int
    query: str = ""  # the URL's query string, as sent


@dataclass
class Conversation:
    id: int
    contact: dict[str, Any]
    messages: list[dict[str, Any]] = field(default_factory=list)
    assignee_id: int | None = None
    assignments: list[int | None] = field(default_factory=list)
    status: str = "open"
    can_reply: bool = True  # False: the channel's reply window is closed (WhatsApp's 24 h)
    created_at: int = 0
    updated_at: float = 0.0  # the row's last change (Unix seconds, as Chatwoot's float)
    waiting_since: int = 0  # 0 when no customer message waits for an agent (Chatwoot's to_i)
    # The inbox's channel, and whether the contact was identified with Chatwoot's identity
    # validation (an HMAC of their identifier): only then, or on an email inbox, does Chatwoot
    # vouch for the contact's email address.
    channel: str = "Channel::Api"
    hmac_verified: bool = False


class NotFound(Exception):
    pass
