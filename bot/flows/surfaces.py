"""What each recorded change redraws in Slack, and the one path that redraws it (after Grafana
OnCall's "representative").

A flow records a change (the store's write and its decision_log row), then hands what it
recorded here: ``await surfaces.changed(services, Event(action, record))``, the record as it
stands after the write. `SHOWN_ON` says, for every `Action`, which surfaces show it; each
surface the events touch is redrawn once, however many of them touch it, in `Surface` order.
Flows never call a redraw themselves, so a new surface is one `Surface` member, where it
looks (`_targets`), how it is drawn (`_draw`) and its column in `SHOWN_ON`, and no flow changes.

When: the card, the Sales Pulse alert and the review cards are redrawn before ``changed``
returns, so a flow keeps its order (a resolution shows before the slow Chatwoot calls); a flow
that must not wait spawns the call (`bot.flows.drafting`'s supersession). The escalation
message is redrawn in the background within one pacing window, once however many changes
come meanwhile (`escalation_view.redraw_soon`): a burst of reminders posts without waiting
on its redraws. A Home tab is redrawn in the background once its user's run of decisions
pauses (`overview.refresh_home_soon`). An approval's card is drawn later than its change:
its reply's outcome is usually known a moment after, so the card is drawn once with it, and
"sending" only if the reply is slow (`bot.flows.reply_card`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum
from typing import Any

from bot.domain import Action, Draft, Escalation, QaReview, SalesAlert
from bot.flows import cards, escalation_view, overview, qa_view, sales_view
from bot.services import Services


class Surface(Enum):
    """Where Slack shows a record, in the order `changed` draws them."""

    CARD = "the draft's card"
    ESCALATION = "the escalation's message in the managers' channel"
    SALES_ALERT = "the Sales Pulse alert"
    REVIEW = "each manager's review card of the reply"
    HOME = "the Home tab of whoever decided (or whose reply was reviewed)"


CARD, ESCALATION, SALES_ALERT, REVIEW, HOME = (
    Surface.CARD,
    Surface.ESCALATION,
    Surface.SALES_ALERT,
    Surface.REVIEW,
    Surface.HOME,
)

# Every action, with the surfaces that show it; () where nothing already drawn changes (what
# is posted is drawn by posting; what is said to one person, in a thread, to Chatwoot or to
# #occ-reliability is a new message). tests/architecture/test_surfaces.py fails for an action
# left out.
SHOWN_ON: dict[Action, tuple[Surface, ...]] = {
    Action.DRAFT_RECEIVED: (),  # its card is posted, not redrawn
    Action.DRAFT_POSTED: (),
    Action.DRAFT_APPROVED: (CARD, HOME),  # "sending" (if slow); the decider's numbers
    Action.DRAFT_EDITED: (CARD, HOME),
    Action.DRAFT_REJECTED: (CARD, HOME),
    Action.DRAFT_ESCALATED: (CARD, HOME),
    Action.DRAFT_REFUSED: (),  # told to the user alone
    Action.DRAFT_SUPERSEDED: (CARD,),  # the older card says a newer draft replaced it
    Action.DRAFT_FAILED: (),  # no draft, so no card: an incident in #occ-reliability
    Action.DRAFT_RETIRED: (CARD,),  # done in Chatwoot: the card says so and offers nothing
    Action.DRAFT_ASSIGNED: (CARD,),  # who is on it in Chatwoot
    Action.REPLY_SENT: (CARD,),
    Action.REPLY_FAILED: (CARD,),  # why, and Retry
    Action.REPLY_RECORDED: (CARD,),
    Action.REPLY_RETRIED: (),  # reserved, never written: a retry ends in reply.sent or .failed
    Action.REPLY_CORRECTED: (CARD,),  # the correction under the sent text, sending
    Action.CORRECTION_SENT: (CARD,),  # how its delivery went
    Action.ESCALATION_POSTED: (),
    Action.ESCALATION_NOTED: (),  # the Chatwoot note
    Action.ESCALATION_CLAIMED: (ESCALATION,),
    Action.ESCALATION_REMINDED: (ESCALATION,),  # how late it is
    Action.ESCALATION_STEPPED_UP: (ESCALATION,),  # where the chain has it
    Action.ESCALATION_RESOLVED: (ESCALATION,),
    Action.ESCALATION_REPLIED: (),  # Chatwoot, through the outbox
    Action.ESCALATION_RESOLUTION_NOTED: (),
    Action.ESCALATION_REFUSED: (),
    Action.CX_SLA_BREACHED: (),  # its card is posted
    Action.SALES_ALERT: (SALES_ALERT,),  # the alert it supersedes, which now says so
    Action.SALES_ACKNOWLEDGED: (SALES_ALERT,),
    Action.SALES_FOLLOWUP: (),  # said in the alert's thread
    Action.SALES_POSTED: (),
    Action.SALES_CLEARED: (SALES_ALERT,),
    Action.SALES_LEAD_NOTIFIED: (SALES_ALERT,),
    Action.SALES_MANAGER_PAGED: (SALES_ALERT,),
    Action.SALES_REORDER_STARTED: (SALES_ALERT,),
    Action.SALES_FOLLOWUP_DUE: (),  # a DM to the owner
    Action.SALES_REFUSED: (),
    Action.SALES_CUSTOMER_NOTED: (),
    Action.SALES_PROACTIVE_OFFERED: (),  # its draft's card is posted
    Action.RELIABILITY_ALERT: (),
    Action.RELIABILITY_RECOVERED: (),
    Action.TRAINING_STARTED: (),  # its cards are posted
    Action.QA_REVIEWED: (REVIEW, HOME),  # the verdict; the operator's decision quality
    Action.QA_REFUSED: (),  # told to the user alone
    Action.QA_NOTE_SENT: (REVIEW,),  # the note reached the operator
}


@dataclass(frozen=True)
class Event:
    """A change a flow recorded: its decision_log action and the record as it stands after
    the write (a draft for draft.* and reply.*, an escalation, a Sales Pulse alert, a reply's
    review for qa.*)."""

    action: Action
    subject: Draft | Escalation | SalesAlert | QaReview
    # The draft's escalation as its card shows it, when the flow holds it: one escalated a
    # moment ago, or a training card's, which is marked and never stored.
    escalation: Escalation | None = None
    # The reply's first send, by its decider: no correction can be under it yet (one needs a
    # reply that was sent), so its card is drawn without reading them.
    first_send: bool = False


async def changed(services: Services, *events: Event, skip: tuple[Surface, ...] = ()) -> None:
    """Redraw, once each, the surfaces that show what ``events`` recorded (but ``skip``:
    surfaces the flow draws itself, later)."""
    drawn: dict[tuple[Surface, str], Any] = {}
    for event in events:
        for surface in SHOWN_ON[event.action]:
            if surface in skip:
                continue
            for key, known in _targets(surface, event):
                drawn[surface, key] = _merge(surface, drawn.get((surface, key)), known)
    for surface in Surface:
        for (which, _), known in drawn.items():
            if which is surface:
                await _draw(services, surface, known)


def _targets(surface: Surface, event: Event) -> Iterator[tuple[str, Any]]:
    """Which ``surface`` (by its record's id) shows ``event``, with what it is drawn from."""
    subject = event.subject
    if surface is CARD:
        yield _a(Draft, event).id, (subject, event.escalation, event.first_send)
    elif surface is HOME:
        if isinstance(subject, QaReview):  # the operator's decision quality changed
            yield subject.operator, subject.operator
            return
        draft = _a(Draft, event)
        # A practice decision is marked on the card and counts in no one's numbers.
        if draft.decision is not None and draft.training is None:
            yield draft.decision.actor, draft.decision.actor
    elif surface is ESCALATION:
        yield _a(Escalation, event).id, subject
    elif surface is SALES_ALERT:
        alert = _a(SalesAlert, event)
        # A new alert is drawn by posting it; a worse one redraws the alert it supersedes.
        shown = alert.supersedes if event.action is Action.SALES_ALERT else alert.id
        if shown is not None:
            yield shown, shown
    elif surface is REVIEW:
        review = _a(QaReview, event)
        yield review.draft_id, review


def _merge(surface: Surface, before: Any, now: Any) -> Any:
    """Two events on one surface: draw it from the later record (events come in the order
    they happened), keeping an escalation only the earlier one carried."""
    if surface is CARD and before is not None and now[1] is None:
        return now[0], before[1], now[2]
    return now


async def _draw(services: Services, surface: Surface, known: Any) -> None:
    if surface is CARD:
        draft, escalation, first_send = known
        shown = cards.NOTHING_BESIDE if first_send else None
        await cards.refresh_card(services, draft, escalation, shown)
    elif surface is ESCALATION:
        escalation_view.redraw_soon(services, known)
    elif surface is SALES_ALERT:
        await sales_view.redraw(services, known)
    elif surface is REVIEW:
        await qa_view.redraw(services, known)
    elif surface is HOME:
        overview.refresh_home_soon(services, known)


def _a(kind: type, event: Event) -> Any:
    if not isinstance(event.subject, kind):
        got = type(event.subject).__name__
        raise TypeError(f"{event.action} takes the {kind.__name__} it changed, not {got}")
    return event.subject
