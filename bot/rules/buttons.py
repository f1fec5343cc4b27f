"""The draft card's and the escalation message's buttons, each one spec: its action id, how it
is drawn (its label, emoji included, and its style), who may press it, which cards or messages
show it, and what it does (an `Effect`).

What a button does is I/O, which this layer does not do: the handlers bind one function to
each `Effect` (`bot.handlers.drafts`, `bot.handlers.escalations`) and register one listener
per spec. Who may press a button is enforced where it is pressed, by the flows, which log and
explain a refusal (`bot.flows.decisions.refusal`, `bot.flows.escalations`); `who` and
`may_press` say the same, and `tests/approvals/test_button_specs.py` holds them to the
authorization matrix. Sales Pulse's buttons are specs of their own (`bot.rules.sales_buttons`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Generic, Protocol, TypeVar

from bot.domain import DeliveryStatus, Draft, DraftState, Escalation, EscalationState


class Style(StrEnum):
    PRIMARY = "primary"  # the main action
    DANGER = "danger"


class Who(StrEnum):
    """Who may press a button; the flows refuse anyone else and tell them why."""

    # OCC_OPERATORS (everyone, when it is empty) and OCC_MANAGERS; on a training card, its
    # trainee alone (trainees need not be operators yet)
    DECIDERS = "deciders"
    # deciders, but managers alone on a draft the risk rules say must be escalated: it sends
    SENDERS = "senders"
    OPERATORS = "operators"  # OCC_OPERATORS (everyone, when it is empty) and OCC_MANAGERS
    MANAGERS = "managers"  # OCC_MANAGERS (nobody, when it is empty)
    SENDER = "sender"  # the operator who sent the card's reply (still an operator), and managers


class Effect(StrEnum):
    """What pressing a button does, bound in the handlers."""

    APPROVE = "approve"  # the decision, kept in the spool while the database is down
    EDIT_FORM = "edit_form"  # the edit modal, starting from the draft
    REJECT_FORM = "reject_form"  # the reject modal (a CX breach card's: resolved, nothing sent)
    ESCALATE_FORM = "escalate_form"  # the escalate modal, type and urgency suggested
    RETRY = "retry"  # the failed reply sent now, before its backoff is over
    CORRECTION_FORM = "correction_form"  # the correction modal, starting from what was sent
    CLAIM = "claim"  # the escalation becomes the presser's
    RESOLVE_FORM = "resolve_form"  # the resolution modal


# The effects that decide a draft: once it is decided, its card shows none of them.
DECIDING = frozenset({Effect.APPROVE, Effect.EDIT_FORM, Effect.REJECT_FORM, Effect.ESCALATE_FORM})


@dataclass(frozen=True)
class Look:
    label: str  # the button's text, emoji included
    style: Style | None = None


@dataclass(frozen=True)
class Card:
    """What of a draft card decides its buttons."""

    state: DraftState
    reply: DeliveryStatus
    abstained: bool  # the AI wrote no draft
    breach: bool  # a CX SLA breach card
    chatwoot: bool  # an approved reply goes to Chatwoot (else it is only recorded)

    @classmethod
    def of(cls, draft: Draft, *, chatwoot: bool) -> Card:
        data = draft.input
        return cls(
            draft.state, draft.reply.status, bool(data.abstained), data.breach is not None, chatwoot
        )


@dataclass(frozen=True)
class OnCard:
    """Which cards: a condition left None holds on every card."""

    states: frozenset[DraftState] | None = None
    replies: frozenset[DeliveryStatus] | None = None
    abstained: bool | None = None
    breach: bool | None = None
    chatwoot: bool | None = None

    def holds(self, card: Card) -> bool:
        return (
            (self.states is None or card.state in self.states)
            and (self.replies is None or card.reply in self.replies)
            and self.abstained in (None, card.abstained)
            and self.breach in (None, card.breach)
            and self.chatwoot in (None, card.chatwoot)
        )


@dataclass(frozen=True)
class OnEscalation:
    """Which escalation messages: those of an escalation in one of `states`."""

    states: frozenset[EscalationState]

    def holds(self, escalation: Escalation) -> bool:
        return escalation.state in self.states


S = TypeVar("S", contravariant=True)
T = TypeVar("T")


class When(Protocol[S]):
    def holds(self, subject: S, /) -> bool: ...


@dataclass(frozen=True)
class Button(Generic[T]):
    action_id: str  # its Slack action id (`bot.blocks.ids.ActionId` lists every one)
    look: Look  # how it is drawn, but where `otherwise` says
    who: Who
    effect: Effect
    shown: When[T]  # the cards or messages that show it
    otherwise: tuple[tuple[When[T], Look], ...] = ()  # drawn so where the first one holds

    @property
    def looks(self) -> tuple[Look, ...]:
        """Every way it is drawn."""
        return (self.look, *(look for _, look in self.otherwise))

    def drawn(self, subject: T) -> Look | None:
        """How it is drawn on `subject`, or None: not shown there."""
        if not self.shown.holds(subject):
            return None
        return next((look for when, look in self.otherwise if when.holds(subject)), self.look)


def drawn(buttons: Iterable[Button[T]], subject: T) -> list[tuple[Button[T], Look]]:
    """The buttons `subject` shows, in their specs' order, each with how it is drawn."""
    looks = ((button, button.drawn(subject)) for button in buttons)
    return [(button, look) for button, look in looks if look is not None]


def may_press(
    who: Who,
    user: str,
    *,
    operators: frozenset[str],
    managers: frozenset[str],
    trainee: str | None = None,
    must_escalate: bool = False,
    sender: str | None = None,
) -> bool:
    """Whether `user` may press a `who` button, as the flows decide it. `trainee`: the card is
    a training card, theirs; `must_escalate`: the risk rules reserve sending it for managers;
    `sender`: who sent the card's reply."""
    manager = user in managers
    operator = not operators or user in operators or manager
    if who is Who.MANAGERS:
        return manager
    if who is Who.OPERATORS:
        return operator
    if who is Who.SENDER:
        return manager or (operator and user == sender)
    if trainee is not None:
        return user == trainee
    if who is Who.SENDERS and must_escalate:
        return manager
    return operator


# -- the draft card's buttons, in the order drawn ------------------------------------------------

PENDING = frozenset({DraftState.PENDING})

APPROVE: Button[Card] = Button(
    action_id="draft_approve",
    look=Look("✅ Approve & Send", Style.PRIMARY),
    who=Who.SENDERS,
    effect=Effect.APPROVE,
    shown=OnCard(PENDING, abstained=False),  # the AI abstained: there is no draft to send
    otherwise=((OnCard(chatwoot=False), Look("✅ Approve & Record", Style.PRIMARY)),),
)
EDIT: Button[Card] = Button(
    action_id="draft_edit",
    look=Look("✏️ Edit"),
    who=Who.SENDERS,
    effect=Effect.EDIT_FORM,
    shown=OnCard(PENDING),
    otherwise=((OnCard(abstained=True), Look("✍️ Write reply", Style.PRIMARY)),),
)
REJECT: Button[Card] = Button(
    action_id="draft_reject",
    look=Look("🚫 Reject"),
    who=Who.DECIDERS,
    effect=Effect.REJECT_FORM,
    shown=OnCard(PENDING, abstained=False, breach=False),  # a breach card has Mark Resolved
)
ESCALATE: Button[Card] = Button(
    action_id="draft_escalate",
    look=Look("🚨 Escalate", Style.DANGER),
    who=Who.DECIDERS,
    effect=Effect.ESCALATE_FORM,
    shown=OnCard(PENDING),
)
MARK_RESOLVED: Button[Card] = Button(
    action_id="cx_mark_resolved",
    look=Look("☑️ Mark Resolved"),
    who=Who.DECIDERS,
    effect=Effect.REJECT_FORM,  # rejected for a resolved reason: nothing is sent
    shown=OnCard(PENDING, breach=True),
)
RETRY: Button[Card] = Button(
    action_id="reply_retry",
    look=Look("🔁 Retry", Style.PRIMARY),
    who=Who.OPERATORS,
    effect=Effect.RETRY,
    shown=OnCard(
        frozenset({DraftState.APPROVED}),
        replies=frozenset({DeliveryStatus.FAILED, DeliveryStatus.GAVE_UP}),
    ),
    # failed: retried by itself later, so the button says it is now
    otherwise=(
        (OnCard(replies=frozenset({DeliveryStatus.FAILED})), Look("🔁 Retry now", Style.PRIMARY)),
    ),
)
CORRECT: Button[Card] = Button(
    action_id="reply_correct",
    look=Look("✍️ Send Correction"),
    who=Who.SENDER,
    effect=Effect.CORRECTION_FORM,
    # a reply the customer got (a recorded one reached nobody; a training card sends nothing)
    shown=OnCard(
        frozenset({DraftState.APPROVED}), replies=frozenset({DeliveryStatus.SENT}), chatwoot=True
    ),
)
CARD_BUTTONS: tuple[Button[Card], ...] = (
    APPROVE,
    EDIT,
    REJECT,
    ESCALATE,
    MARK_RESOLVED,
    RETRY,
    CORRECT,
)

# -- the escalation message's buttons ------------------------------------------------------------

CLAIM: Button[Escalation] = Button(
    action_id="escalation_claim",
    look=Look("🙋 Claim", Style.PRIMARY),
    who=Who.MANAGERS,
    effect=Effect.CLAIM,
    shown=OnEscalation(frozenset({EscalationState.OPEN})),
)
RESOLVE: Button[Escalation] = Button(
    action_id="escalation_resolve",
    look=Look("✅ Resolve", Style.PRIMARY),
    who=Who.MANAGERS,
    effect=Effect.RESOLVE_FORM,
    shown=OnEscalation(frozenset({EscalationState.CLAIMED})),
)
ESCALATION_BUTTONS: tuple[Button[Escalation], ...] = (CLAIM, RESOLVE)
