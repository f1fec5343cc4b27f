"""`Store`: every entity store over one `Database`, plus the queue summary.

What the bot may ask of its storage is these classes' methods; their docstrings are the
contract. Every state change that two actors could race on (a decision, a reply claim, an
escalation claim, a reminder, a repost of a Slack message, a job run, an incident) is one
conditional write: the loser gets ``None`` and nothing is written for it. A state change and
its decision_log row are one transaction on every backend. All datetimes going in and coming
out are timezone-aware UTC.
"""

from __future__ import annotations

from datetime import datetime

from bot.domain import DeliveryStatus, EscalationState, MessageKind, QueueSummary
from bot.store import codec
from bot.store.chatwoot_conversations import ChatwootConversations
from bot.store.customer_waits import CustomerWaits
from bot.store.data_sources import DataSources
from bot.store.database import Database
from bot.store.decision_log import DecisionLogRows
from bot.store.drafts import Drafts, awaiting_decision, live
from bot.store.escalations import Escalations
from bot.store.inbound import InboundMessages
from bot.store.incidents import Incidents
from bot.store.job_runs import JobRuns
from bot.store.ops import Query, before, eq, one_of
from bot.store.outbox import TABLE as OUTBOX
from bot.store.outbox import Outbox
from bot.store.qa_reviews import QaReviews
from bot.store.reminders import Reminders
from bot.store.sales import SalesAlerts
from bot.store.sales_snapshots import SalesSnapshots
from bot.store.stats import Stats

# What `QueueSummary` counts.
REPLIES_IN_FLIGHT = (DeliveryStatus.QUEUED.value, DeliveryStatus.SENDING.value)
REPLIES_FAILING = (DeliveryStatus.FAILED.value, DeliveryStatus.GAVE_UP.value)
STATUS = "delivery_status"
ESCALATIONS_OPEN = (EscalationState.OPEN.value, EscalationState.CLAIMED.value)


class Store(
    Drafts,
    InboundMessages,
    Escalations,
    Reminders,
    Outbox,
    SalesAlerts,
    SalesSnapshots,
    DecisionLogRows,
    JobRuns,
    Incidents,
    DataSources,
    QaReviews,
    Stats,
    ChatwootConversations,
    CustomerWaits,
):
    """Everything, on one database (whichever is configured: `bot.store.sql.SqlStore`,
    `bot.store.supabase.SupabaseStore`)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def migrate(self) -> list[str]:
        """Apply pending migrations; return the revisions applied (empty when up to date)."""
        return await self.db.migrate()

    async def ping(self) -> None:
        """Raise if the database cannot be reached."""
        await self.db.ping()

    async def close(self) -> None:
        await self.db.close()

    async def queue_summary(self, now: datetime) -> QueueSummary:
        """How much work is waiting; an escalation is overdue when open with due_at < now."""
        pending = (*awaiting_decision(), live())
        replies = (eq("kind", MessageKind.REPLY.value),)  # what customers wait for
        counts = await self.db.counts(
            {
                "pending": ("drafts", pending),
                "replies_in_flight": (OUTBOX, (*replies, one_of(STATUS, REPLIES_IN_FLIGHT))),
                "replies_failing": (OUTBOX, (*replies, one_of(STATUS, REPLIES_FAILING))),
                "open_escalations": ("escalations", (one_of("state", ESCALATIONS_OPEN),)),
                "overdue_escalations": (
                    "escalations",
                    (eq("state", EscalationState.OPEN.value), before("due_at", codec.utc(now))),
                ),
            }
        )
        oldest = await self.db.select(
            Query("drafts", pending, order_by=("received_at",), limit=1, columns=("received_at",))
        )
        return QueueSummary(
            oldest_pending_at=codec.parse_ts(oldest[0]["received_at"]) if oldest else None,
            **counts,
        )
