"""The `Store` protocol every backend implements, its errors, and the shared migration files.

Every state change that two actors could race on (a decision, a reply claim, an escalation
claim, a reminder, a repost of a Slack message) is one conditional write: the backend returns
``None`` to the loser and writes nothing for it. All datetimes going in and coming out are
timezone-aware UTC.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from importlib.resources import files
from typing import Literal, Protocol

from bot.domain import (
    Decision,
    Draft,
    Escalation,
    EscalationState,
    LogEntry,
    QueueSummary,
    Reply,
    ReplyStatus,
    SlackRef,
)

Flavour = Literal["postgres", "sqlite"]

# What `QueueSummary` counts, shared by every backend.
REPLIES_IN_FLIGHT = (ReplyStatus.QUEUED.value, ReplyStatus.SENDING.value)
REPLIES_FAILING = (ReplyStatus.FAILED.value, ReplyStatus.GAVE_UP.value)
ESCALATIONS_OPEN = (EscalationState.OPEN.value, EscalationState.CLAIMED.value)


class StoreError(Exception):
    """Base class for the store's own errors."""


class NotFound(StoreError, LookupError):
    """The row an update targets does not exist."""


class SchemaNotApplied(StoreError):
    """The database lacks tables or migrations the bot needs."""


class Store(Protocol):
    """Persistence for drafts, escalations and the decision log."""

    async def migrate(self) -> list[str]:
        """Apply pending migrations; return the names applied (empty when up to date)."""
        ...

    async def ping(self) -> None:
        """Raise if the database cannot be reached."""
        ...

    async def close(self) -> None: ...

    async def add_draft(self, draft: Draft, log: LogEntry) -> tuple[Draft, bool]:
        """Store a draft and its draft.received row; a repeated external_id returns the
        first draft and False, writing nothing."""
        ...

    async def get_draft(self, draft_id: str) -> Draft | None: ...

    async def set_card(
        self, draft_id: str, card: SlackRef, posted_at: datetime, log: LogEntry
    ) -> Draft:
        """Store where the card was posted, releasing the card lease."""
        ...

    async def claim_card_post(
        self, draft_id: str, *, now: datetime, lease_until: datetime
    ) -> Draft | None:
        """Take the lease to post a draft's card: only while it has no card and no lease
        unexpired at ``now``; None if it has a card, another caller holds the lease, or the
        draft does not exist."""
        ...

    async def unposted_drafts(self, now: datetime, limit: int = 100) -> list[str]:
        """Ids of pending drafts with no card and no lease unexpired at ``now``, oldest first."""
        ...

    async def decide(
        self,
        draft_id: str,
        decision: Decision,
        *,
        reply_status: ReplyStatus,
        log: LogEntry,
        escalation: Escalation | None = None,
        reply_lease_until: datetime | None = None,
    ) -> Draft | None:
        """Move a pending draft to ``decision.kind.state``; None if it was no longer pending.

        With ``reply_lease_until`` (and ``reply_status`` SENDING) the decider also takes the
        reply's first lease in the same write, as `claim_reply` would.
        """
        ...

    async def claim_reply(
        self, draft_id: str, *, now: datetime, lease_until: datetime, force: bool = False
    ) -> Draft | None:
        """Take the reply lease (status SENDING, attempts + 1); None if not claimable now."""
        ...

    async def finish_reply(self, draft_id: str, reply: Reply, log: LogEntry) -> Draft | None:
        """Record an attempt's outcome, only while that attempt still holds the reply (status
        SENDING and ``reply.attempts`` unchanged); None, writing nothing, if another worker
        has taken it since. NotFound for an unknown draft."""
        ...

    async def due_replies(self, now: datetime, limit: int = 100) -> list[str]: ...

    async def get_escalation(self, escalation_id: str) -> Escalation | None: ...

    async def escalation_for_draft(self, draft_id: str) -> Escalation | None: ...

    async def set_escalation_message(
        self, escalation_id: str, message: SlackRef, log: LogEntry
    ) -> Escalation:
        """Store where the manager message was posted, releasing the message lease."""
        ...

    async def claim_escalation_post(
        self, escalation_id: str, *, now: datetime, lease_until: datetime
    ) -> Escalation | None:
        """Take the lease to post an escalation's manager message; as `claim_card_post`."""
        ...

    async def unposted_escalations(self, now: datetime, limit: int = 100) -> list[str]:
        """Ids of open or claimed escalations with no message and no lease unexpired at
        ``now``, oldest first."""
        ...

    async def claim_escalation(
        self,
        escalation_id: str,
        *,
        actor: str,
        now: datetime,
        next_reminder_at: datetime | None,
        log: LogEntry,
    ) -> Escalation | None: ...

    async def resolve_escalation(
        self, escalation_id: str, *, actor: str, now: datetime, log: LogEntry
    ) -> Escalation | None: ...

    async def due_reminders(self, now: datetime, limit: int = 100) -> list[str]: ...

    async def mark_reminded(
        self,
        escalation_id: str,
        *,
        expected_count: int,
        next_reminder_at: datetime,
        log: LogEntry,
    ) -> Escalation | None: ...

    async def queue_summary(self, now: datetime) -> QueueSummary:
        """How much work is waiting; an escalation is overdue when open with due_at < now."""
        ...

    async def log(self, entry: LogEntry) -> None: ...

    async def entries(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        subject_id: str | None = None,
    ) -> list[LogEntry]:
        """Log rows with since <= created_at < until, oldest first (ties: insertion order)."""
        ...


@dataclass(frozen=True)
class Migration:
    name: str  # file name without ".sql", e.g. "0001_init"
    sql: str

    def statements(self) -> list[str]:
        """The file's statements; each one ends with ``;`` at the end of a line."""
        statements: list[str] = []
        current: list[str] = []
        for line in self.sql.splitlines():
            if line.strip().startswith("--") or not line.strip():
                continue
            current.append(line)
            if line.rstrip().endswith(";"):
                statements.append("\n".join(current).rstrip().rstrip(";"))
                current = []
        if current:
            statements.append("\n".join(current))
        return statements


def migrations(flavour: Flavour) -> list[Migration]:
    """The shipped migration files for one SQL flavour, in name order."""
    folder = files("bot.store").joinpath("migrations", flavour)
    found = [
        Migration(name=entry.name.removesuffix(".sql"), sql=entry.read_text(encoding="utf-8"))
        for entry in folder.iterdir()
        if entry.name.endswith(".sql")
    ]
    return sorted(found, key=lambda m: m.name)
