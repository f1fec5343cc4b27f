"""Domain objects <-> table rows (dicts keyed by column name), shared by every backend.

Rows going out hold aware UTC datetimes and JSON-ready dicts/lists. Rows coming in may hold
datetimes (SQL drivers) or ISO 8601 strings (PostgREST JSON); both decode to aware UTC.
A draft's input lives in the ``input`` JSON column, except ``conversation_id`` and
``external_id``, which are real columns because they are queried. The post-lease columns
(``card_lease_until``, ``message_lease_until``) are store bookkeeping with no domain field:
decoding ignores them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from bot.domain import (
    Action,
    Affected,
    ConversationLine,
    Customer,
    CustomerContext,
    CxBreach,
    Decision,
    DecisionKind,
    Draft,
    DraftInput,
    DraftState,
    Escalation,
    EscalationState,
    EscalationType,
    Finding,
    InboundMessage,
    InboundState,
    Incident,
    JobRun,
    KbSource,
    LogEntry,
    MessageKind,
    Order,
    OrderFacts,
    OutboxMessage,
    Outcome,
    RejectReason,
    Reminder,
    Reply,
    ReplyStatus,
    Resolution,
    ResolutionOutcome,
    Risk,
    RiskFlag,
    RiskKind,
    RunOutcome,
    SalesAlert,
    SalesFollowup,
    SalesResponse,
    Scope,
    Shipment,
    SlackRef,
    SourceStatus,
    TrainingCard,
    Trigger,
    Urgency,
)

Row = dict[str, Any]


def utc(value: datetime) -> datetime:
    """The same instant in UTC; naive datetimes are refused rather than guessed."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"naive datetime {value!r}: the store only takes aware UTC datetimes")
    return value.astimezone(UTC)


def parse_ts(value: datetime | str | None) -> datetime | None:
    """A stored timestamp (datetime or ISO 8601 text) as an aware UTC datetime."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:  # SQL drivers that drop the zone still store UTC
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _required_ts(value: datetime | str | None) -> datetime:
    parsed = parse_ts(value)
    if parsed is None:
        raise ValueError("missing required timestamp")
    return parsed


def _opt_utc(value: datetime | None) -> datetime | None:
    return None if value is None else utc(value)


def _json_default(value: object) -> object:
    if isinstance(value, datetime):
        return utc(value).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def jsonable(value: Any) -> Any:
    """Plain JSON data (dicts, lists, str, numbers), as any backend would store it."""
    return json.loads(json.dumps(value, default=_json_default, ensure_ascii=False))


def _json_column(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str | bytes) else value


# --- drafts -------------------------------------------------------------------------------


def _input_json(data: DraftInput) -> dict[str, Any]:
    return {
        "customer_message": data.customer_message,
        "draft": data.draft,
        "confidence": data.confidence,
        "customer": asdict(data.customer),
        "kb_sources": [asdict(source) for source in data.kb_sources],
        "risk": data.risk.value,
        "agent": data.agent,
        "order": asdict(data.order) if data.order else None,
        "amount_usd": data.amount_usd,
        "customer_context": asdict(data.customer_context) if data.customer_context else None,
        "breach": _breach_json(data.breach),
        "order_facts": _order_facts_json(data.order_facts),
        "abstained": data.abstained,
    }


def _order_facts_json(facts: OrderFacts | None) -> dict[str, Any] | None:
    if facts is None:
        return None
    return {
        "name": facts.name,
        "placed_at": utc(facts.placed_at).isoformat(),
        "fulfillment_status": facts.fulfillment_status,
        "financial_status": facts.financial_status,
        "total": facts.total,
        "currency": facts.currency,
        "items": [list(item) for item in facts.items],
        "shipments": [
            {
                "status": s.status,
                "shipped_at": utc(s.shipped_at).isoformat(),
                "carrier": s.carrier,
                "tracking_number": s.tracking_number,
                "tracking_url": s.tracking_url,
                "estimated_delivery_at": _opt_iso(s.estimated_delivery_at),
                "delivered_at": _opt_iso(s.delivered_at),
            }
            for s in facts.shipments
        ],
        "cancelled_at": _opt_iso(facts.cancelled_at),
    }


def _order_facts_from(doc: Mapping[str, Any] | None) -> OrderFacts | None:
    if not doc:
        return None
    return OrderFacts(
        name=doc["name"],
        placed_at=_required_ts(doc["placed_at"]),
        fulfillment_status=doc["fulfillment_status"],
        financial_status=doc.get("financial_status"),
        total=float(doc["total"]),
        currency=doc["currency"],
        items=tuple((str(title), int(quantity)) for title, quantity in doc.get("items") or ()),
        shipments=tuple(
            Shipment(
                status=s["status"],
                shipped_at=_required_ts(s["shipped_at"]),
                carrier=s.get("carrier"),
                tracking_number=s.get("tracking_number"),
                tracking_url=s.get("tracking_url"),
                estimated_delivery_at=parse_ts(s.get("estimated_delivery_at")),
                delivered_at=parse_ts(s.get("delivered_at")),
            )
            for s in doc.get("shipments") or ()
        ),
        cancelled_at=parse_ts(doc.get("cancelled_at")),
    )


def _opt_iso(when: datetime | None) -> str | None:
    return None if when is None else utc(when).isoformat()


def _breach_json(breach: CxBreach | None) -> dict[str, Any] | None:
    if breach is None:
        return None
    return {
        "waiting_since": utc(breach.waiting_since).isoformat(),
        "lines": [
            {
                "from_customer": line.from_customer,
                "author": line.author,
                "text": line.text,
                "at": utc(line.at).isoformat(),
            }
            for line in breach.lines
        ],
    }


def _breach_from(doc: Mapping[str, Any] | None) -> CxBreach | None:
    if not doc:
        return None
    return CxBreach(
        waiting_since=_required_ts(doc["waiting_since"]),
        lines=tuple(
            ConversationLine(
                from_customer=bool(line["from_customer"]),
                author=line.get("author"),
                text=line["text"],
                at=_required_ts(line["at"]),
            )
            for line in doc.get("lines") or ()
        ),
    )


def _input_from(
    doc: Mapping[str, Any], conversation_id: int, external_id: str | None
) -> DraftInput:
    order = doc.get("order")
    context = doc.get("customer_context")
    return DraftInput(
        conversation_id=int(conversation_id),
        customer_message=doc["customer_message"],
        draft=doc["draft"],
        confidence=float(doc["confidence"]),
        customer=Customer(**(doc.get("customer") or {})),
        kb_sources=tuple(KbSource(**source) for source in doc.get("kb_sources") or ()),
        risk=Risk(doc.get("risk", Risk.LOW.value)),
        agent=doc.get("agent"),
        order=Order(**order) if order else None,
        amount_usd=doc.get("amount_usd"),
        customer_context=CustomerContext(**context) if context else None,
        external_id=external_id,
        breach=_breach_from(doc.get("breach")),
        order_facts=_order_facts_from(doc.get("order_facts")),
        abstained=doc.get("abstained"),
    )


def _decision_columns(decision: Decision | None, escalation_id: str | None = None) -> Row:
    if decision is None:
        return dict.fromkeys(
            (
                "decision_kind",
                "decided_by",
                "decided_at",
                "final_text",
                "reject_reason",
                "decision_notes",
                "escalation_id",
            )
        )
    return {
        "decision_kind": decision.kind.value,
        "decided_by": decision.actor,
        "decided_at": utc(decision.at),
        "final_text": decision.final_text,
        "reject_reason": decision.reason.value if decision.reason else None,
        "decision_notes": decision.notes,
        "escalation_id": decision.escalation_id or escalation_id,
    }


def decision_row(
    decision: Decision,
    reply_status: ReplyStatus,
    escalation_id: str | None = None,
    reply_lease_until: datetime | None = None,
) -> Row:
    """Columns a decision writes: the new state, who/when/what, and a fresh reply (already
    leased to the decider, as its first attempt, when ``reply_lease_until`` is given)."""
    return {
        "state": decision.kind.state.value,
        **_decision_columns(decision, escalation_id),
        "reply_status": reply_status.value,
        "reply_attempts": 1 if reply_lease_until else 0,
        "reply_next_attempt_at": None,
        "reply_last_error": None,
        "reply_message_id": None,
        "reply_sent_at": None,
        "reply_lease_until": _opt_utc(reply_lease_until),
    }


def delivery_outcome(prefix: str, delivery: Reply) -> Row:
    """Columns an attempt's outcome writes (``reply_…`` or ``note_…``); the lease is always
    released and the attempt count kept."""
    return {
        f"{prefix}_status": delivery.status.value,
        f"{prefix}_next_attempt_at": _opt_utc(delivery.next_attempt_at),
        f"{prefix}_last_error": delivery.last_error,
        f"{prefix}_message_id": delivery.message_id,
        f"{prefix}_sent_at": _opt_utc(delivery.sent_at),
        f"{prefix}_lease_until": None,
    }


def delivery_columns(prefix: str, delivery: Reply) -> Row:
    return {
        **delivery_outcome(prefix, delivery),
        f"{prefix}_attempts": delivery.attempts,
        f"{prefix}_lease_until": _opt_utc(delivery.lease_until),
    }


def delivery_from_row(prefix: str, row: Mapping[str, Any]) -> Reply:
    return Reply(
        status=ReplyStatus(row[f"{prefix}_status"]),
        attempts=int(row[f"{prefix}_attempts"]),
        next_attempt_at=parse_ts(row[f"{prefix}_next_attempt_at"]),
        last_error=row[f"{prefix}_last_error"],
        message_id=row[f"{prefix}_message_id"],
        sent_at=parse_ts(row[f"{prefix}_sent_at"]),
        lease_until=parse_ts(row[f"{prefix}_lease_until"]),
    )


def card_row(card: SlackRef, posted_at: datetime) -> Row:
    """Columns set_card writes; a posted card needs no post lease."""
    return {
        "card_channel": card.channel,
        "card_ts": card.ts,
        "posted_at": utc(posted_at),
        "card_lease_until": None,
    }


def draft_row(draft: Draft) -> Row:
    return {
        "id": draft.id,
        "external_id": draft.input.external_id,
        "conversation_id": draft.input.conversation_id,
        "input": _input_json(draft.input),
        "flags": [{"kind": flag.kind.value, "reason": flag.reason} for flag in draft.flags],
        "received_at": utc(draft.received_at),
        "state": draft.state.value,
        "card_channel": draft.card.channel if draft.card else None,
        "card_ts": draft.card.ts if draft.card else None,
        "posted_at": _opt_utc(draft.posted_at),
        **_decision_columns(draft.decision),
        **delivery_columns("reply", draft.reply),
        **_training_columns(draft),
    }


def _training_columns(draft: Draft) -> Row:
    training = draft.training
    return {
        "scope": draft.scope.value,
        "trainee": training.trainee if training else None,
        "training_round": training.round if training else None,
        "scenario": training.scenario if training else None,
    }


def draft_from_row(row: Mapping[str, Any]) -> Draft:
    decision = None
    if row["decision_kind"] is not None:
        decision = Decision(
            kind=DecisionKind(row["decision_kind"]),
            actor=row["decided_by"],
            at=_required_ts(row["decided_at"]),
            final_text=row["final_text"],
            reason=RejectReason(row["reject_reason"]) if row["reject_reason"] else None,
            notes=row["decision_notes"],
            escalation_id=row["escalation_id"],
        )
    card = None
    if row["card_channel"] is not None:
        card = SlackRef(channel=row["card_channel"], ts=row["card_ts"])
    return Draft(
        id=row["id"],
        input=_input_from(_json_column(row["input"]), row["conversation_id"], row["external_id"]),
        received_at=_required_ts(row["received_at"]),
        flags=tuple(
            RiskFlag(kind=RiskKind(flag["kind"]), reason=flag["reason"])
            for flag in _json_column(row["flags"]) or ()
        ),
        state=DraftState.SUPERSEDED if row["superseded_by"] else DraftState(row["state"]),
        card=card,
        posted_at=parse_ts(row["posted_at"]),
        decision=decision,
        reply=delivery_from_row("reply", row),
        superseded_by=row["superseded_by"],
        training=_training_from(row),
    )


def _training_from(row: Mapping[str, Any]) -> TrainingCard | None:
    if row.get("trainee") is None:
        return None
    return TrainingCard(
        trainee=row["trainee"], round=row["training_round"], scenario=row["scenario"]
    )


# --- inbound messages -------------------------------------------------------------------


def inbound_row(message: InboundMessage) -> Row:
    return {
        "id": message.id,
        "conversation_id": message.conversation_id,
        "message_id": message.message_id,
        "content": message.content,
        "customer_name": message.customer_name,
        "customer_email": message.customer_email,
        "customer_email_verified": message.email_verified,
        "received_at": utc(message.received_at),
        "state": message.state.value,
        "draft_id": message.draft_id,
        "error": message.error,
    }


def inbound_from_row(row: Mapping[str, Any]) -> InboundMessage:
    return InboundMessage(
        id=row["id"],
        conversation_id=int(row["conversation_id"]),
        message_id=int(row["message_id"]),
        content=row["content"],
        customer_name=row["customer_name"],
        customer_email=row["customer_email"],
        email_verified=bool(row["customer_email_verified"]),
        received_at=_required_ts(row["received_at"]),
        state=InboundState(row["state"]),
        draft_id=row["draft_id"],
        error=row["error"],
    )


# --- escalations --------------------------------------------------------------------------


def escalation_row(escalation: Escalation) -> Row:
    message = escalation.message
    return {
        "id": escalation.id,
        "draft_id": escalation.draft_id,
        "conversation_id": escalation.conversation_id,
        "type": escalation.type.value,
        "urgency": escalation.urgency.value,
        "notes": escalation.notes,
        "escalated_by": escalation.escalated_by,
        "created_at": utc(escalation.created_at),
        "due_at": utc(escalation.due_at),
        "state": escalation.state.value,
        "message_channel": message.channel if message else None,
        "message_ts": message.ts if message else None,
        "claimed_by": escalation.claimed_by,
        "claimed_at": _opt_utc(escalation.claimed_at),
        "resolved_by": escalation.resolved_by,
        "resolved_at": _opt_utc(escalation.resolved_at),
        "reminders_sent": escalation.reminders_sent,
        "next_reminder_at": _opt_utc(escalation.next_reminder_at),
        **delivery_columns("note", escalation.note),
        **resolution_columns(escalation.resolution),
    }


def resolution_columns(resolution: Resolution | None) -> Row:
    if resolution is None:
        return dict.fromkeys(RESOLUTION_COLUMNS)
    return {
        "resolution_outcome": resolution.outcome.value,
        "resolution_summary": resolution.summary,
        "resolution_amount_usd": resolution.amount_usd,
        "resolution_reply": resolution.customer_reply,
        "resolution_notes": resolution.notes,
    }


RESOLUTION_COLUMNS = (
    "resolution_outcome",
    "resolution_summary",
    "resolution_amount_usd",
    "resolution_reply",
    "resolution_notes",
)


def _resolution_from_row(row: Mapping[str, Any]) -> Resolution | None:
    if row.get("resolution_outcome") is None:
        return None
    amount = row["resolution_amount_usd"]
    return Resolution(
        outcome=ResolutionOutcome(row["resolution_outcome"]),
        summary=row["resolution_summary"] or "",
        amount_usd=None if amount is None else float(amount),
        customer_reply=row["resolution_reply"],
        notes=row["resolution_notes"],
    )


def message_row(message: SlackRef) -> Row:
    """Columns set_escalation_message writes; a posted message needs no post lease."""
    return {
        "message_channel": message.channel,
        "message_ts": message.ts,
        "message_lease_until": None,
    }


def escalation_from_row(row: Mapping[str, Any]) -> Escalation:
    message = None
    if row["message_channel"] is not None:
        message = SlackRef(channel=row["message_channel"], ts=row["message_ts"])
    conversation_id = row["conversation_id"]
    return Escalation(
        id=row["id"],
        draft_id=row["draft_id"],
        conversation_id=None if conversation_id is None else int(conversation_id),
        type=EscalationType(row["type"]),
        urgency=Urgency(row["urgency"]),
        notes=row["notes"],
        escalated_by=row["escalated_by"],
        created_at=_required_ts(row["created_at"]),
        due_at=_required_ts(row["due_at"]),
        state=EscalationState(row["state"]),
        message=message,
        claimed_by=row["claimed_by"],
        claimed_at=parse_ts(row["claimed_at"]),
        resolved_by=row["resolved_by"],
        resolved_at=parse_ts(row["resolved_at"]),
        reminders_sent=int(row["reminders_sent"]),
        next_reminder_at=parse_ts(row["next_reminder_at"]),
        note=delivery_from_row("note", row),
        resolution=_resolution_from_row(row),
    )


def reminder_row(reminder: Reminder) -> Row:
    return {
        "id": reminder.id,
        "escalation_id": reminder.escalation_id,
        "number": reminder.number,
        "level": reminder.level,
        "notify": reminder.notify,
        "due_at": utc(reminder.due_at),
        "created_at": utc(reminder.created_at),
    }


def reminder_from_row(row: Mapping[str, Any]) -> Reminder:
    message = None
    if row["message_channel"] is not None:
        message = SlackRef(channel=row["message_channel"], ts=row["message_ts"])
    return Reminder(
        id=row["id"],
        escalation_id=row["escalation_id"],
        number=int(row["number"]),
        level=int(row["level"]),
        notify=row["notify"],
        due_at=_required_ts(row["due_at"]),
        created_at=_required_ts(row["created_at"]),
        message=message,
        attempts=int(row.get("message_attempts") or 0),
    )


def outbox_row(message: OutboxMessage) -> Row:
    return {
        "id": message.id,
        "subject_id": message.subject_id,
        "conversation_id": message.conversation_id,
        "kind": message.kind.value,
        "content": message.content,
        "action": message.action,
        "actor": message.actor,
        "created_at": utc(message.created_at),
        **delivery_columns("delivery", message.delivery),
    }


def outbox_from_row(row: Mapping[str, Any]) -> OutboxMessage:
    return OutboxMessage(
        id=row["id"],
        subject_id=row["subject_id"],
        conversation_id=int(row["conversation_id"]),
        kind=MessageKind(row["kind"]),
        content=row["content"],
        action=row["action"],
        actor=row["actor"],
        created_at=_required_ts(row["created_at"]),
        delivery=delivery_from_row("delivery", row),
    )


# --- decision log -------------------------------------------------------------------------


def log_row(entry: LogEntry) -> Row:
    """A decision_log row without ``seq`` (the database numbers rows as they arrive)."""
    action = entry.action.value if isinstance(entry.action, Action) else str(entry.action)
    return {
        "id": entry.id,
        "created_at": utc(entry.created_at),
        "actor": entry.actor,
        "action": action,
        "scope": Scope(entry.scope).value,
        "subject_id": entry.subject_id,
        "conversation_id": entry.conversation_id,
        "payload": jsonable(entry.payload),
        "outcome": Outcome(entry.outcome).value,
        "waited_seconds": _waited(entry.payload),
    }


def _waited(payload: Mapping[str, Any]) -> float | None:
    value = payload.get("waited_seconds") if isinstance(payload, Mapping) else None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _action(value: str) -> Action | str:
    try:
        return Action(value)
    except ValueError:
        return value


def log_from_row(row: Mapping[str, Any]) -> LogEntry:
    conversation_id = row["conversation_id"]
    return LogEntry(
        id=row["id"],
        created_at=_required_ts(row["created_at"]),
        actor=row["actor"],
        action=_action(row["action"]),
        scope=Scope(row["scope"]),
        subject_id=row["subject_id"],
        conversation_id=None if conversation_id is None else int(conversation_id),
        payload=_json_column(row["payload"]),
        outcome=Outcome(row["outcome"]),
    )


# --- job runs and incidents ---------------------------------------------------------------


def job_run_row(run: JobRun) -> Row:
    return {
        "job": run.job,
        "window_start": utc(run.window_start),
        "runner": run.runner,
        "started_at": utc(run.started_at),
        "finished_at": _opt_utc(run.finished_at),
        "outcome": run.outcome.value,
        "detail": run.detail,
    }


def job_run_from_row(row: Mapping[str, Any]) -> JobRun:
    return JobRun(
        job=row["job"],
        window_start=_required_ts(row["window_start"]),
        runner=row["runner"],
        started_at=_required_ts(row["started_at"]),
        finished_at=parse_ts(row["finished_at"]),
        outcome=RunOutcome(row["outcome"]),
        detail=row["detail"],
    )


def incident_row(incident: Incident) -> Row:
    return {
        "id": incident.id,
        "scope": Scope(incident.scope).value,
        "opened_at": utc(incident.opened_at),
        "detail": incident.detail,
        "closed_at": _opt_utc(incident.closed_at),
    }


def incident_from_row(row: Mapping[str, Any]) -> Incident:
    return Incident(
        id=row["id"],
        scope=Scope(row["scope"]),
        opened_at=_required_ts(row["opened_at"]),
        detail=row["detail"],
        closed_at=parse_ts(row["closed_at"]),
    )


# --- Sales Pulse --------------------------------------------------------------------------


def finding_json(finding: Finding) -> dict[str, Any]:
    return jsonable(asdict(finding))


def finding_from(doc: Any) -> Finding:
    doc = dict(_json_column(doc))
    doc["trigger"] = Trigger(doc["trigger"])
    doc["trend"] = tuple(float(v) for v in doc.get("trend") or ())
    doc["affected"] = tuple(Affected(**a) for a in doc.get("affected") or ())
    return Finding(**doc)


def sales_alert_row(alert: SalesAlert) -> Row:
    return {
        "id": alert.id,
        "condition": alert.finding.condition,
        "trigger": alert.finding.trigger.value,
        "finding": finding_json(alert.finding),
        "opened_at": utc(alert.opened_at),
        "supersedes": alert.supersedes,
    }


def sales_alert_from_row(
    row: Mapping[str, Any], responses: Sequence[SalesResponse] = ()
) -> SalesAlert:
    return SalesAlert(
        id=row["id"],
        finding=finding_from(row["finding"]),
        opened_at=_required_ts(row["opened_at"]),
        message=_slack_ref(row, "message"),
        supersedes=row["supersedes"],
        superseded_by=row["superseded_by"],
        cleared_at=parse_ts(row["cleared_at"]),
        clear_message=_slack_ref(row, "clear"),
        responses=tuple(responses),
    )


def _slack_ref(row: Mapping[str, Any], prefix: str) -> SlackRef | None:
    channel = row.get(f"{prefix}_channel")
    return None if channel is None else SlackRef(channel=channel, ts=row[f"{prefix}_ts"])


def posted_row(prefix: str, message: SlackRef) -> Row:
    return {
        f"{prefix}_channel": message.channel,
        f"{prefix}_ts": message.ts,
        f"{prefix}_lease_until": None,
    }


def sales_response_row(alert_id: str, response: SalesResponse) -> Row:
    return {
        "alert_id": alert_id,
        "response": response.kind,
        "actor": response.actor,
        "at": utc(response.at),
        "detail": jsonable(response.detail),
    }


def sales_response_from_row(row: Mapping[str, Any]) -> SalesResponse:
    return SalesResponse(
        kind=row["response"],
        actor=row["actor"],
        at=_required_ts(row["at"]),
        detail=dict(_json_column(row["detail"]) or {}),
    )


def followup_row(followup: SalesFollowup) -> Row:
    return {
        "id": followup.id,
        "alert_id": followup.alert_id,
        "owner": followup.owner,
        "due_at": utc(followup.due_at),
        "note": followup.note,
        "created_by": followup.created_by,
        "created_at": utc(followup.created_at),
    }


def followup_from_row(row: Mapping[str, Any]) -> SalesFollowup:
    return SalesFollowup(
        id=row["id"],
        alert_id=row["alert_id"],
        owner=row["owner"],
        due_at=_required_ts(row["due_at"]),
        note=row["note"],
        created_by=row["created_by"],
        created_at=_required_ts(row["created_at"]),
        reminded_at=parse_ts(row["reminded_at"]),
    )


def source_status_from_row(row: Mapping[str, Any]) -> SourceStatus:
    return SourceStatus(
        name=row["name"],
        first_tried_at=_required_ts(row["first_tried_at"]),
        last_ok_at=parse_ts(row["last_ok_at"]),
        last_error=row["last_error"],
        last_error_at=parse_ts(row["last_error_at"]),
    )
