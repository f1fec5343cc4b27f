"""`OccStore`: every entity store over one `Database`, plus the queue summary."""

from __future__ import annotations

from datetime import datetime

from bot.domain import EscalationState, QueueSummary, ReplyStatus
from bot.store import codec
from bot.store.data_sources import DataSources
from bot.store.database import Database
from bot.store.decision_log import DecisionLogRows
from bot.store.drafts import Drafts, awaiting_decision, live
from bot.store.escalations import Escalations
from bot.store.inbound import InboundMessages
from bot.store.incidents import Incidents
from bot.store.job_runs import JobRuns
from bot.store.ops import Query, before, eq, one_of
from bot.store.outbox import Outbox
from bot.store.reminders import Reminders
from bot.store.sales import SalesAlerts
from bot.store.stats import Stats

# What `QueueSummary` counts.
REPLIES_IN_FLIGHT = (ReplyStatus.QUEUED.value, ReplyStatus.SENDING.value)
REPLIES_FAILING = (ReplyStatus.FAILED.value, ReplyStatus.GAVE_UP.value)
ESCALATIONS_OPEN = (EscalationState.OPEN.value, EscalationState.CLAIMED.value)


class OccStore(
    Drafts,
    InboundMessages,
    Escalations,
    Reminders,
    Outbox,
    SalesAlerts,
    DecisionLogRows,
    JobRuns,
    Incidents,
    DataSources,
    Stats,
):
    """The `bot.store.protocols.Store` the bot uses, on whichever database is configured."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def migrate(self) -> list[str]:
        return await self.db.migrate()

    async def ping(self) -> None:
        await self.db.ping()

    async def close(self) -> None:
        await self.db.close()

    async def queue_summary(self, now: datetime) -> QueueSummary:
        pending = (*awaiting_decision(), live())
        counts = await self.db.counts(
            {
                "pending": ("drafts", pending),
                "replies_in_flight": ("drafts", (one_of("reply_status", REPLIES_IN_FLIGHT),)),
                "replies_failing": ("drafts", (one_of("reply_status", REPLIES_FAILING),)),
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
