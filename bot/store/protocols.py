"""What the bot may ask of its storage, one small protocol per entity.

Every state change that two actors could race on (a decision, a reply claim, an escalation
claim, a reminder, a repost of a Slack message, a job run, an incident) is one conditional
write: the loser gets ``None`` and nothing is written for it. A state change and its
decision_log row are one transaction on every backend. All datetimes going in and coming
out are timezone-aware UTC.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from bot.domain import (
    Action,
    Decision,
    DecisionKind,
    DecisionStats,
    Draft,
    Escalation,
    InboundMessage,
    Incident,
    JobRun,
    LogEntry,
    OutboxMessage,
    QueueSummary,
    Reminder,
    Reply,
    ReplyStatus,
    Resolution,
    RunOutcome,
    SalesAlert,
    SalesFollowup,
    SalesResponse,
    Scope,
    SlackRef,
    SourceStatus,
)


class DraftStore(Protocol):
    """Drafts, their cards and the replies sent for them."""

    async def add_draft(self, draft: Draft, *logs: LogEntry) -> tuple[Draft, bool]:
        """Store a draft and its log rows (draft.received, and a CX breach's); a repeated
        external_id returns the first draft and False, writing nothing."""
        ...

    async def start_round(
        self, started: LogEntry, drafts: Sequence[Draft], *logs: LogEntry
    ) -> bool:
        """Take a round of drafts (a training round) by writing its ``started`` row, whose id
        names the round, and store the drafts and their log rows in the same transaction;
        False, writing nothing, when another start took that round first."""
        ...

    async def get_draft(self, draft_id: str) -> Draft | None: ...

    async def draft_for_external_id(self, external_id: str) -> Draft | None: ...

    async def decided_between(
        self, since: datetime, until: datetime, kinds: Sequence[DecisionKind], limit: int
    ) -> list[Draft]:
        """Drafts decided (one of ``kinds``) from ``since`` up to ``until``, oldest first."""
        ...

    async def waiting_drafts(self, limit: int) -> list[Draft]:
        """The drafts awaiting a decision, oldest first."""
        ...

    async def decided_drafts(self, limit: int) -> list[Draft]:
        """The most recently decided drafts, newest first."""
        ...

    async def sent_drafts(self) -> list[Draft]:
        """Every draft an operator approved (as drafted or edited), oldest decision first."""
        ...

    async def training_cards(self, trainee: str) -> list[Draft]:
        """The trainee's training cards (every round), oldest first. Training cards are in
        no other list of drafts: the queue, the team's numbers, drafting and learning see
        customers' drafts only."""
        ...

    async def pending_draft_for_conversation(
        self, conversation_id: int, *, since: datetime
    ) -> Draft | None:
        """A draft of this conversation received at or after ``since`` and still waiting
        for a decision, if any."""
        ...

    async def set_card(
        self,
        draft_id: str,
        card: SlackRef,
        posted_at: datetime,
        log: LogEntry,
        *,
        lease_until: datetime | None = None,
    ) -> Draft | None:
        """Store where the card was posted, releasing the card lease. With ``lease_until``,
        only while that lease is still the draft's and no card is recorded: None otherwise
        (another poster took over), writing nothing. NotFound for an unknown draft."""
        ...

    async def refuse_card_post(
        self, draft_id: str, *, lease_until: datetime, log: LogEntry
    ) -> int | None:
        """Count a permanent refusal by Slack (with its log row), while holding that lease;
        the refusals so far, or None if the lease is no longer this poster's. After
        `PARK_AFTER_REFUSALS` the card is parked: not offered for reposting."""
        ...

    async def unpark_cards(self, scope: Scope) -> None:
        """Offer every parked card of ``scope`` for reposting again: its channel (the
        approvals channel for `cx`, the training channel for `training`) works again."""
        ...

    async def claim_card_post(
        self, draft_id: str, *, now: datetime, lease_until: datetime
    ) -> Draft | None:
        """Take the lease to post a draft's card: only while it has no card and no lease
        unexpired at ``now``; None if it has a card, another caller holds the lease, it was
        decided or superseded, or the draft does not exist."""
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
        """Move a pending draft to ``decision.kind.state`` (with the escalation, if any, and
        the log row); None if it was no longer pending.

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

    async def draft_for_reply(self, message_id: str) -> Draft | None:
        """The draft whose reply Chatwoot stored as ``message_id``."""
        ...

    async def reply_undelivered(
        self, draft_id: str, message_id: str, error: str, log: LogEntry
    ) -> Draft | None:
        """A sent reply that the channel did not deliver after all: GAVE_UP with ``error``
        (Retry sends it again), with its log row; None, writing nothing, unless the reply is
        SENT as ``message_id``."""
        ...


class EscalationStore(Protocol):
    """Escalations, their manager messages, claims, resolutions and reminders."""

    async def open_escalations(self, limit: int) -> list[Escalation]:
        """Escalations not resolved yet (open or claimed), the soonest due first."""
        ...

    async def get_escalation(self, escalation_id: str) -> Escalation | None: ...

    async def escalation_for_draft(self, draft_id: str) -> Escalation | None: ...

    async def set_escalation_message(
        self,
        escalation_id: str,
        message: SlackRef,
        log: LogEntry,
        *,
        lease_until: datetime | None = None,
    ) -> Escalation | None:
        """Store where the manager message was posted; fenced by ``lease_until`` as
        `DraftStore.set_card`."""
        ...

    async def refuse_message_post(
        self, escalation_id: str, *, lease_until: datetime, log: LogEntry
    ) -> int | None:
        """As `DraftStore.refuse_card_post`, for the manager message."""
        ...

    async def unpark_messages(self) -> None: ...

    async def claim_note(
        self, escalation_id: str, *, now: datetime, lease_until: datetime, force: bool = False
    ) -> Escalation | None:
        """Take the delivery of the escalation's private note, as `DraftStore.claim_reply`."""
        ...

    async def finish_note(
        self, escalation_id: str, note: Reply, log: LogEntry
    ) -> Escalation | None:
        """Record a note attempt's outcome, as `DraftStore.finish_reply`."""
        ...

    async def due_notes(self, now: datetime, limit: int = 100) -> list[str]: ...

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
        self,
        escalation_id: str,
        *,
        actor: str,
        now: datetime,
        log: LogEntry,
        resolution: Resolution | None = None,
        messages: Sequence[OutboxMessage] = (),
    ) -> Escalation | None:
        """Resolve an open or claimed escalation, with its log row and the Chatwoot messages
        it sends (queued in the outbox), in one transaction."""
        ...


class ReminderStore(Protocol):
    """Reminders of unclaimed escalations: taken once per due time, then posted once."""

    async def due_reminders(self, now: datetime, limit: int = 100) -> list[str]:
        """Ids of open escalations whose next reminder is due at ``now``, earliest first."""
        ...

    async def take_reminder(
        self,
        reminder: Reminder,
        *,
        expected_count: int,
        next_reminder_at: datetime,
        logs: Sequence[LogEntry] = (),
    ) -> Reminder | None:
        """Store ``reminder`` and its log rows, and move the escalation's count from
        ``expected_count`` on, in one transaction; None (nothing written) unless the
        escalation is still open with that count."""
        ...

    async def get_reminder(self, reminder_id: str) -> Reminder | None: ...

    async def claim_reminder_post(
        self, reminder_id: str, *, now: datetime, lease_until: datetime
    ) -> Reminder | None:
        """Take the lease to post a reminder; as `DraftStore.claim_card_post`."""
        ...

    async def record_reminder(
        self,
        reminder_id: str,
        message: SlackRef,
        logs: Sequence[LogEntry],
        *,
        lease_until: datetime,
    ) -> Reminder | None:
        """Where the reminder was posted, with its log rows, while ``lease_until`` holds."""
        ...

    async def refuse_reminder_post(
        self, reminder_id: str, *, lease_until: datetime, log: LogEntry
    ) -> int | None: ...

    async def unpark_reminders(self) -> None: ...

    async def skip_reminder(self, reminder_id: str, *, now: datetime) -> None:
        """Never offer an unposted reminder again (its escalation was claimed)."""
        ...

    async def unposted_reminders(self, now: datetime, limit: int = 100) -> list[str]:
        """Ids of reminders not posted, not skipped and not being posted, oldest first."""
        ...

    async def reminders_of(self, escalation_id: str) -> list[Reminder]: ...


class OutboxStore(Protocol):
    """Messages for Chatwoot conversations, delivered once each (bot.flows.outbox)."""

    async def get_outbox_message(self, message_id: str) -> OutboxMessage | None: ...

    async def outbox_for(self, subject_id: str) -> list[OutboxMessage]: ...

    async def queue_outbox_message(self, message: OutboxMessage) -> OutboxMessage | None:
        """Queue a message on its own, once per id; None if it was queued already."""
        ...

    async def claim_outbox_message(
        self, message_id: str, *, now: datetime, lease_until: datetime, force: bool = False
    ) -> OutboxMessage | None:
        """Take a message's delivery, as `DraftStore.claim_reply`."""
        ...

    async def finish_outbox_message(
        self, message_id: str, delivery: Reply, log: LogEntry
    ) -> OutboxMessage | None:
        """Record an attempt's outcome, as `DraftStore.finish_reply`."""
        ...

    async def due_outbox_messages(self, now: datetime, limit: int = 100) -> list[str]: ...


class DecisionLog(Protocol):
    """The audit trail: one row per action."""

    async def log(self, entry: LogEntry) -> None:
        """Write one row; writing the same id again is a no-op (safe to retry)."""
        ...

    async def entries(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        subject_id: str | None = None,
        scope: Scope | None = None,
        actions: Sequence[Action] = (),
        actor: str | None = None,
    ) -> list[LogEntry]:
        """Log rows with since <= created_at < until, oldest first (ties: insertion order);
        only those of ``subject_id``, ``scope``, ``actor`` and one of ``actions`` when given."""
        ...


class JobRunStore(Protocol):
    """Runs of scheduled jobs, one per job and window."""

    async def start_run(self, run: JobRun) -> bool:
        """Take the run for ``(run.job, run.window_start)``; False if another replica has."""
        ...

    async def finish_run(
        self,
        job: str,
        window_start: datetime,
        *,
        outcome: RunOutcome,
        detail: str,
        finished_at: datetime,
    ) -> JobRun | None: ...

    async def last_run(self, job: str) -> JobRun | None:
        """The run with the latest window, finished or not."""
        ...

    async def forget_runs(self, job: str, before: datetime) -> None:
        """Delete the job's runs whose window started before ``before``."""
        ...


class IncidentStore(Protocol):
    """Open and closed incidents, one row per thing that can fail."""

    async def open_incident(self, incident: Incident, log: LogEntry) -> Incident | None:
        """Open (or reopen) the incident with its log row; None if it is already open."""
        ...

    async def close_incident(
        self, incident_id: str, *, now: datetime, log: LogEntry
    ) -> Incident | None:
        """Close an open incident with its log row; None if it is not open."""
        ...

    async def open_incidents(self) -> list[Incident]: ...


class SalesAlertStore(Protocol):
    """Sales Pulse alerts (at most one open per condition), responses and follow-ups."""

    async def open_sales_alerts(self) -> list[SalesAlert]: ...

    async def get_sales_alert(self, alert_id: str) -> SalesAlert | None: ...

    async def open_sales_alert(self, alert: SalesAlert, log: LogEntry) -> SalesAlert | None:
        """Store the alert with its log row; None if its condition has an open alert."""
        ...

    async def supersede_sales_alert(
        self, alert_id: str, worse: SalesAlert, log: LogEntry
    ) -> SalesAlert | None:
        """Close the open alert ``alert_id`` in favour of ``worse``; None if not open."""
        ...

    async def clear_sales_alert(
        self, alert_id: str, *, now: datetime, log: LogEntry
    ) -> SalesAlert | None:
        """Close the open alert as cleared; None if it is not open."""
        ...

    async def claim_sales_post(
        self, alert_id: str, prefix: str, *, now: datetime, lease_until: datetime
    ) -> SalesAlert | None:
        """Take the lease to post the alert (``message``) or its clearing note (``clear``)."""
        ...

    async def record_sales_post(
        self,
        alert_id: str,
        prefix: str,
        message: SlackRef,
        logs: Sequence[LogEntry],
        *,
        lease_until: datetime,
    ) -> SalesAlert | None: ...

    async def refuse_sales_post(
        self, alert_id: str, prefix: str, *, lease_until: datetime, log: LogEntry
    ) -> int | None: ...

    async def unpark_sales_posts(self, prefix: str) -> None: ...

    async def unposted_sales_alerts(self, now: datetime, limit: int = 100) -> list[str]: ...

    async def respond_to_sales_alert(
        self, alert_id: str, response: SalesResponse, log: LogEntry
    ) -> SalesResponse | None:
        """Record a response once per alert and kind; None if it was already given."""
        ...

    async def add_followup(self, followup: SalesFollowup, log: LogEntry) -> SalesFollowup: ...

    async def followups_of(self, alert_id: str) -> list[SalesFollowup]: ...

    async def due_followups(self, now: datetime, limit: int = 100) -> list[SalesFollowup]: ...

    async def take_followup_reminder(
        self, followup_id: str, *, now: datetime, log: LogEntry
    ) -> SalesFollowup | None:
        """Mark the follow-up reminded; None if it already was."""
        ...


class InboundStore(Protocol):
    """Customers' messages waiting to be drafted, under a per-conversation drafting lease;
    see `bot.store.inbound` for the steps."""

    async def add_inbound(self, message: InboundMessage) -> bool:
        """Store a customer's message; False (writing nothing) if it is already stored."""
        ...

    async def inbound_messages(self, conversation_id: int) -> list[InboundMessage]: ...

    async def conversations_waiting(
        self, received_before: datetime, limit: int = 100
    ) -> list[int]: ...

    async def claim_drafting(
        self, conversation_id: int, *, now: datetime, lease_until: datetime
    ) -> int | None: ...

    async def unanswered_messages(
        self, conversation_id: int, pending_drafts: Sequence[str]
    ) -> list[InboundMessage]: ...

    async def drafts_awaiting_decision(self, conversation_id: int) -> list[Draft]: ...

    async def store_conversation_draft(
        self, draft: Draft, logs: Sequence[LogEntry], *, lease_until: datetime
    ) -> bool: ...

    async def supersede(
        self, draft_id: str, *, by: str, at: datetime, log: LogEntry
    ) -> Draft | None: ...

    async def assign_messages(self, message_ids: Sequence[str], draft_id: str) -> None: ...

    async def release_drafting(self, conversation_id: int, *, lease_until: datetime) -> None: ...

    async def drafting_failed(
        self, conversation_id: int, *, lease_until: datetime, error: str, retry_at: datetime
    ) -> int | None: ...

    async def give_up_drafting(
        self, conversation_id: int, message_ids: Sequence[str], *, error: str, log: LogEntry
    ) -> bool: ...


class StatsStore(Protocol):
    """The team's numbers, from SQL over decision_log's views (`bot.store.stats`)."""

    async def decision_stats(
        self, *, since: datetime, until: datetime, actor: str | None = None
    ) -> DecisionStats:
        """From ``since`` to ``until``, both included; by ``actor`` if given."""
        ...


class DataSourceStore(Protocol):
    """When each data source was last read successfully, and its last error."""

    async def record_read(self, name: str, *, at: datetime, error: str | None = None) -> None: ...

    async def data_sources(self) -> list[SourceStatus]: ...


class Store(
    DraftStore,
    InboundStore,
    EscalationStore,
    ReminderStore,
    OutboxStore,
    SalesAlertStore,
    DecisionLog,
    JobRunStore,
    IncidentStore,
    DataSourceStore,
    StatsStore,
    Protocol,
):
    """Everything, on one database."""

    async def migrate(self) -> list[str]:
        """Apply pending migrations; return the revisions applied (empty when up to date)."""
        ...

    async def ping(self) -> None:
        """Raise if the database cannot be reached."""
        ...

    async def close(self) -> None: ...

    async def queue_summary(self, now: datetime) -> QueueSummary:
        """How much work is waiting; an escalation is overdue when open with due_at < now."""
        ...
