"""Every draft-card and escalation-message button is one complete spec (`bot.rules.buttons`),
claimed once: a button added without a label Slack can draw, an action id, who may press it
(as the authorization matrix says) or an effect the handlers bind fails here; and every spec
has a listener on the real Bolt app, so a button drawn but not heard fails here too, not in
front of a manager."""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime

from slack_bolt.async_app import AsyncApp, AsyncBoltRequest
from slack_sdk.web.async_client import AsyncWebClient

from bot.app import create_bolt_app
from bot.blocks.ids import DECISION_ACTIONS, ActionId
from bot.blocks.text import BUTTON_TEXT_MAX
from bot.domain import (
    DeliveryStatus,
    DraftState,
    Escalation,
    EscalationState,
    EscalationType,
    Urgency,
)
from bot.handlers import drafts, escalations
from bot.rules import buttons
from bot.rules.buttons import (
    CARD_BUTTONS,
    DECIDING,
    ESCALATION_BUTTONS,
    Button,
    Card,
    Effect,
    Look,
    Style,
    Who,
    drawn,
    may_press,
)
from bot.rules.qa import REVIEW_BUTTONS
from bot.rules.sales import buttons as sales_buttons
from bot.services import Services
from bot.slack import bot_identity
from tests.harness import MANAGER, OPERATOR, BotUnderTest, real_block_action
from tests.security.test_authorization_matrix import MATRIX, NO, OK, ROLES, TRAINEE

SPECS: tuple[Button, ...] = (*CARD_BUTTONS, *ESCALATION_BUTTONS)
BOUND = {spec: drafts.EFFECTS for spec in CARD_BUTTONS} | {
    spec: escalations.EFFECTS for spec in ESCALATION_BUTTONS
}
# The authorization matrix's world (OCC_OPERATORS the operator, OCC_MANAGERS the manager), and
# what each of its subjects is, for `may_press`.
PEOPLE = {"operators": frozenset({OPERATOR}), "managers": frozenset({MANAGER})}
SUBJECTS: dict[str, dict] = {
    "draft": {},
    "must-escalate draft": {"must_escalate": True},
    "training card": {"trainee": TRAINEE},
    "failed reply": {},
    "sent reply": {"sender": OPERATOR},
    "manager's sent reply": {"sender": MANAGER},
    "CX breach card": {},
    "open escalation": {},
    "claimed escalation": {},
}
EVERY_CARD = [
    Card(*facts) for facts in itertools.product(DraftState, DeliveryStatus, *[(False, True)] * 3)
]
AT = datetime(2026, 12, 3, 15, 0, tzinfo=UTC)
ESCALATION = Escalation(
    "esc-1", "d-1", 42, EscalationType.OTHER, Urgency.HIGH, "notes", OPERATOR, AT, AT
)


def button_problems(button: Button, bound: dict[Effect, object]) -> list[str]:
    problems = []
    for look in button.looks:
        if not look.label.strip() or len(look.label) > BUTTON_TEXT_MAX:
            problems.append(f"label {look.label!r}: empty or over {BUTTON_TEXT_MAX} characters")
        if look.style is not None and not isinstance(look.style, Style):
            problems.append(f"style {look.style!r}: Slack draws primary, danger or none")
    if button.action_id not in set(ActionId):
        problems.append(f"action id {button.action_id!r} is not an ActionId (bot/blocks/ids.py)")
    if not isinstance(button.who, Who):
        problems.append("no one may press it")
    if button.effect not in bound:
        problems.append(f"its effect {button.effect} is not bound by its handlers")
    return problems + who_problems(button)


def who_problems(button: Button) -> list[str]:
    """Where the spec's `who` and the authorization matrix disagree: one line per row."""
    problems = []
    for (interaction, subject), cells in MATRIX.items():
        if interaction != button.action_id:
            continue
        said = tuple(
            OK if may_press(button.who, user, **PEOPLE, **SUBJECTS[subject]) else NO
            for user in ROLES.values()
        )
        if said != cells:
            problems.append(f"who {button.who} on a {subject}: {said}, the matrix {cells}")
    return problems


def test_each_button_is_complete():
    found = {b.action_id: button_problems(b, BOUND[b]) for b in SPECS}
    assert found == {b.action_id: [] for b in SPECS}


def test_each_card_and_escalation_action_id_is_claimed_by_exactly_one_button():
    ours = {a.value for a in ActionId if not a.name.startswith(("SALES_", "QA_"))}
    assert Counter(b.action_id for b in SPECS) == Counter(ours)


def test_action_ids_are_unique_across_every_spec_sales_pulse_included():
    every = Counter(b.action_id for b in (*SPECS, *sales_buttons(), *REVIEW_BUTTONS))
    assert [action for action, n in every.items() if n > 1] == []
    assert set(every) == {a.value for a in ActionId}


def test_each_button_has_a_row_in_the_authorization_matrix():
    rows = {interaction for interaction, _ in MATRIX}
    assert [b.action_id for b in SPECS if b.action_id not in rows] == []


def test_each_effect_is_bound_once_and_used():
    assert set(drafts.EFFECTS) | set(escalations.EFFECTS) == set(Effect)
    assert not set(drafts.EFFECTS) & set(escalations.EFFECTS)
    assert {b.effect for b in SPECS} == set(Effect)
    assert all(
        callable(press) for press in (*drafts.EFFECTS.values(), *escalations.EFFECTS.values())
    )


def test_an_incomplete_spec_is_caught():
    assert len(button_problems(replace(buttons.REJECT, look=Look(" ")), drafts.EFFECTS)) == 1
    too_long = replace(buttons.APPROVE, otherwise=((buttons.OnCard(), Look("x" * 76)),))
    assert len(button_problems(too_long, drafts.EFFECTS)) == 1
    new = replace(buttons.CLAIM, action_id="escalation_snooze")
    assert button_problems(new, escalations.EFFECTS) == [
        "action id 'escalation_snooze' is not an ActionId (bot/blocks/ids.py)"
    ]
    # Claim's effect is bound for escalation messages, not for cards
    unbound = replace(buttons.CLAIM, effect=Effect.APPROVE)
    assert len(button_problems(unbound, escalations.EFFECTS)) == 1
    # a who that is not what the flows enforce (the matrix): operators may not claim
    assert len(who_problems(replace(buttons.CLAIM, who=Who.OPERATORS))) == 1
    assert len(who_problems(replace(buttons.APPROVE, who=Who.DECIDERS))) == 1  # must-escalate


def test_each_card_draws_its_buttons_once_each_and_a_decided_card_no_deciding_one():
    for card in EVERY_CARD:
        shown = drawn(CARD_BUTTONS, card)
        assert len({b.action_id for b, _ in shown}) == len(shown), card
        assert all(0 < len(look.label) <= BUTTON_TEXT_MAX for _, look in shown), card
        if card.state is not DraftState.PENDING:
            assert not {b.effect for b, _ in shown} & DECIDING, card
    assert {ActionId(b.action_id) for b in CARD_BUTTONS if b.effect in DECIDING} == DECISION_ACTIONS


def test_an_escalation_shows_claim_then_resolve_then_nothing():
    shown = {
        state: [b.action_id for b, _ in drawn(ESCALATION_BUTTONS, replace(ESCALATION, state=state))]
        for state in EscalationState
    }
    assert shown == {
        EscalationState.OPEN: [ActionId.CLAIM],
        EscalationState.CLAIMED: [ActionId.RESOLVE],
        EscalationState.RESOLVED: [],
    }


# --- every spec heard by the real Bolt app ------------------------------------------------------


async def press(app: AsyncApp, action_id: str, channel: str) -> int:
    """Bolt's status for a click of `action_id` (on something that no longer exists): 404 when
    no listener is registered for it."""
    click = real_block_action(
        user=MANAGER, action_id=action_id, value="gone", channel=channel, message_ts="1.000100"
    )
    response = await app.async_dispatch(AsyncBoltRequest(body=click, mode="socket_mode"))
    return response.status


def bare_app(services: Services) -> AsyncApp:
    """A Bolt app as `bot.app` builds one, with no listener yet."""
    return AsyncApp(
        client=AsyncWebClient(
            base_url=services.settings.slack_api_url, session=services.slack.session
        ),
        authorize=bot_identity(services.slack),
        process_before_response=True,
        request_verification_enabled=False,
    )


async def test_each_button_spec_has_a_listener_on_the_app(bot: BotUnderTest):
    assert bot.services is not None
    app = create_bolt_app(bot.services)
    channel = bot.settings.approvals_channel
    statuses = {b.action_id: await press(app, b.action_id, channel) for b in SPECS}
    await bot.settle()
    assert statuses == {b.action_id: 200 for b in SPECS}


async def test_a_button_without_a_listener_is_caught(bot: BotUnderTest):
    """The check above fails for a spec whose handlers are not registered: here, only the
    escalation message's are."""
    assert bot.services is not None
    app = bare_app(bot.services)
    escalations.register(app, bot.services)
    channel = bot.settings.escalations_channel
    statuses = {b.action_id: await press(app, b.action_id, channel) for b in SPECS}
    await bot.settle()
    assert statuses == {b.action_id: 404 if b in CARD_BUTTONS else 200 for b in SPECS}
