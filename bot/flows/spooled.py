"""Operators' decisions survive the database being down: kept in the local spool, applied in
order when it is back.

Every Approve, Edit, Reject and Escalate is acknowledged, then goes through `accept`: it is
held in this replica's in-flight file before Slack's answer leaves, so a replica killed
before it applies it leaves it for another (`Spool.adopt_orphans`, on `replay`), and
`decide` applies it. When the database cannot be
reached, the decision is appended to this replica's spool file (fsynced) before the
operator is told it is queued, and this replica posts one alert. `replay` (run every tick
by the scheduler, outside the run leases since each replica owns its spool) applies the
records oldest first through the ordinary flows, with the time the operator decided: the
usual compare-and-set decides between competing decisions (the later one is refused and
its operator told), and the reply goes out under its lease as always, so replaying a
record twice (a crash before its removal) cannot send a reply twice: a record whose
decision is already stored is recognised and dropped.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from bot import slack
from bot.blocks.text import escape
from bot.domain import DecisionKind, EscalationType, RejectReason, Urgency
from bot.flows import database_down, decisions, escalations, refusals
from bot.runtime.refusals import MAX_WAITING as WAITING_AT_MOST
from bot.runtime.refusals import Full
from bot.runtime.spool import UnsafeSpool
from bot.services import Services
from bot.store.errors import unavailable

log = logging.getLogger("occ.spool")

SAME_DECISION = timedelta(seconds=1)


@dataclass(frozen=True)
class Intent:
    """An operator's decision as clicked: enough to apply it later."""

    kind: str  # approve, edit, reject, escalate
    draft_id: str
    user: str
    at: str  # ISO 8601, when they decided
    id: str = ""  # given when it is spooled
    channel: str | None = None
    text: str | None = None  # edit
    reason: str | None = None  # reject
    notes: str | None = None  # reject, escalate
    escalation_type: str | None = None
    urgency: str | None = None

    @property
    def decided_at(self) -> datetime:
        return datetime.fromisoformat(self.at)


def intent(services: Services, kind: str, draft_id: str, user: str, **fields: Any) -> Intent:
    return Intent(
        kind=kind,
        draft_id=draft_id,
        user=user,
        at=services.clock().astimezone(UTC).isoformat(),
        **fields,
    )


def accept(services: Services, decision: Intent, *, name: str) -> None:
    """Hold the acknowledged decision in flight, then decide it in the background; a click
    on a draft known to be decided is refused here, with no work per click."""
    if services.spool is not None:
        decision = replace(decision, id=services.new_id("sp"))
        try:
            services.spool.hold(asdict(decision))
        except (OSError, UnsafeSpool) as error:  # the decision still goes ahead
            log.warning("decision %s not held in flight: %s", decision.id, error)
    _dispatch(services, decision, refusals.Click(decision.id, decision.decided_at), name)


def _dispatch(services: Services, decision: Intent, click: refusals.Click, name: str) -> None:
    """Refuse it now if the draft is known decided; let it wait if a click on the draft is
    being applied (its outcome may refuse this one too); else apply it in the background."""
    if _refused_at_once(services, decision, click):
        return
    try:
        leads = services.deciding.lead(decision.draft_id, (decision, click, name))
    except Full:  # applied beside the one under way, as without waiting
        if services.deciding.overflowed == 1:
            log.warning("%d clicks waiting for their drafts: more applied at once", WAITING_AT_MOST)
        beside = _decide_held(services, decision, click, leads=False)
        services.background.spawn(beside, name=name)
        return
    if leads:
        services.background.spawn(_decide_held(services, decision, click), name=name)


def _refused_at_once(services: Services, decision: Intent, click: refusals.Click) -> bool:
    """Join the user's refused clicks if the draft is known decided (it never changes)."""
    draft = services.refusals.decided(decision.draft_id)
    if draft is None:
        return False
    kind = DecisionKind(decision.kind)
    why = decisions.refusal_now(services.settings, decision.user, draft, kind)
    return why is not None and refusals.join(
        services, draft, decision.user, kind.value, why, click=click
    )


async def _decide_held(
    services: Services, decision: Intent, click: refusals.Click, *, leads: bool = True
) -> None:
    """`decide`, then release the hold (a refusal's group releases it once logged). Not
    when cancelled (shutdown cut it short): the next replica finds it in flight and applies
    it, or finds it applied. The clicks waiting on the draft go next only when this one
    ``leads`` (the one they wait for), not when it was applied beside it."""
    deciding = refusals.CLICK.set(click)
    try:
        await decide(services, decision)
    except Exception:
        if not click.joined:
            _release(services, decision)
        raise
    finally:
        refusals.CLICK.reset(deciding)
        for waited in services.deciding.done(decision.draft_id) if leads else ():
            _dispatch(services, *waited)
    if not click.joined:
        _release(services, decision)


def _release(services: Services, decision: Intent) -> None:
    if services.spool is not None and decision.id:
        try:
            services.spool.release(decision.id)
        except OSError as error:
            log.warning("decision %s not released from flight: %s", decision.id, error)


async def decide(services: Services, decision: Intent) -> None:
    """Apply the decision now, or keep it in the spool if the database is down."""
    try:
        await _apply(services, decision)
    except Exception as error:
        if services.spool is None or not unavailable(error):
            raise
        decision = replace(decision, id=services.new_id("sp"))
        services.spool.append(asdict(decision))
        log.warning("database unreachable: decision %s kept in the spool", decision.id)
        await database_down.alert(services, error)
        await slack.tell(
            services,
            channel=decision.channel,
            user=decision.user,
            text=f":hourglass_flowing_sand: The database cannot be reached right now, so your "
            f"decision ({decision.kind}) is *queued*: it is kept on this server and applied, "
            "in the order decisions were made, as soon as the database is back. Nothing goes "
            "to the customer until then.",
        )


async def replay(services: Services) -> int:
    """Apply the spooled decisions, oldest first; stop at the first the database cannot take.
    How many were applied (or found applied, or refused)."""
    spool = services.spool
    if spool is None:
        return 0
    spool.adopt_orphans()
    records = spool.records()
    if services.database_down is not None and not records:
        try:  # nothing queued here (a Claim was refused, say): is the database back?
            await services.store.ping()
        except Exception as error:
            if unavailable(error):
                return 0
            raise
    done = 0
    for record in records:
        try:
            if "log" in record:  # a log row kept while the database was down
                await database_down.replay_log(services, record["log"])
            elif not await _applied_before(services, Intent(**record)):
                await _apply(services, Intent(**record))
        except Exception as error:
            if unavailable(error):
                return done  # still down: the next tick tries again
            if "log" in record:
                raise
            await _drop(services, Intent(**record), error)
        spool.remove(record["id"])
        done += 1
    if services.database_down is not None:
        await database_down.recovered(services, done)
    return done


async def _drop(services: Services, decision: Intent, error: Exception) -> None:
    log.error("spooled decision %s could not be applied; dropped", decision.id, exc_info=error)
    await slack.tell(
        services,
        channel=None,
        user=decision.user,
        text=f"Your queued decision ({decision.kind}) could not be applied: "
        f"{escape(str(error)[:200])}. Please decide that draft again.",
    )


async def _apply(services: Services, decision: Intent) -> None:
    at = decision.decided_at
    if decision.kind == "approve":
        await decisions.approve(services, decision.draft_id, decision.user, at=at)
    elif decision.kind == "edit":
        await decisions.edit(services, decision.draft_id, decision.user, decision.text or "", at=at)
    elif decision.kind == "reject":
        await decisions.reject(
            services,
            decision.draft_id,
            decision.user,
            RejectReason(decision.reason),
            decision.notes,
            at=at,
        )
    elif decision.kind == "escalate":
        await escalations.escalate(
            services,
            decision.draft_id,
            decision.user,
            type=EscalationType(decision.escalation_type),
            urgency=Urgency(decision.urgency),
            notes=decision.notes or "",
            at=at,
        )
    else:
        raise ValueError(f"unknown decision kind {decision.kind!r}")


async def _applied_before(services: Services, decision: Intent) -> bool:
    """This very decision is stored already (its record outlived its application)."""
    draft = await services.store.get_draft(decision.draft_id)
    stored = draft.decision if draft else None
    return (
        stored is not None
        and stored.actor == decision.user
        and abs(stored.at - decision.decided_at) < SAME_DECISION
    )
