"""Training mode: the packet's 3 demos and 8 exercises as TRAINING cards, each decision marked
against the expected one and explained to the trainee alone, and a report against the 80 %
certification bar.

A round is one `/occ training start` for one trainee: the 11 cards, in packet order, posted
to OCC_TRAINING_CHANNEL. Only the trainee may decide them. A decision is stored and logged
like any other, with scope `training` and its mark in the row, but nothing reaches Chatwoot
and no manager is told. The report is read from those rows: the team's numbers count scope
`cx` only, so training never shows in them.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

from bot import decision_log
from bot.blocks import text as t
from bot.domain import (
    Action,
    DecisionKind,
    Draft,
    DraftState,
    LogEntry,
    Scope,
    TrainingCard,
    Urgency,
)
from bot.flows.intake import new_draft, post_card
from bot.rules.training import PASS_PERCENT, Score, certified, needed, score
from bot.scenarios import Verdict, training_packet, training_scenario
from bot.services import Services
from bot.slack import tell
from bot.store.errors import unavailable

DECISIONS = tuple(kind.logged_as for kind in DecisionKind)
VERDICT_MARK = {Verdict.PASS: "✅", Verdict.WATCH: "⚠️", Verdict.FAIL: "❌"}
CHOICE = {
    DecisionKind.APPROVE: "Approve",
    DecisionKind.EDIT: "Edit",
    DecisionKind.REJECT: "Reject",
    DecisionKind.ESCALATE: "Escalate",
}
OTHERS_ARE_FOR_MANAGERS = (
    "Only managers can start training for someone else; `/occ training start` starts yours."
)


# --- while deciding (called by bot.flows.decisions) ------------------------------------------


def not_theirs(draft: Draft, user: str) -> str | None:
    """Why ``user`` may not decide this training card, or None: it is theirs."""
    assert draft.training is not None
    trainee = draft.training.trainee
    if user == trainee:
        return None
    return (
        f"This training card is {t.mention(trainee)}'s to decide. "
        "`/occ training start` posts a packet of your own."
    )


def mark(draft: Draft, chosen: DecisionKind, urgency: Urgency | None) -> Score | None:
    """The mark of a decision on a training card (None for a customer's draft)."""
    if draft.training is None:
        return None
    scenario = training_scenario(draft.training.scenario)
    return None if scenario is None else score(scenario, chosen, urgency)


def marked_payload(draft: Draft, marked: Score) -> dict[str, Any]:
    """What the decision's log row records of its mark: the report reads it back."""
    assert draft.training is not None
    base = {"round": draft.training.round, "trainee": draft.training.trainee}
    return base | marked.as_payload()


async def explain(services: Services, draft: Draft, marked: Score) -> None:
    """Tell the trainee alone, right after the click, how the decision compares and why."""
    assert draft.training is not None
    scenario = training_scenario(draft.training.scenario)
    assert scenario is not None
    expected = scenario.expected
    chosen = _choice(marked.chosen, marked.urgency)
    if marked.correct:
        head = f"✅ *Right:* you chose *{chosen}*."
    else:
        wanted = _choice(expected.decision, expected.urgency)
        head = f"❌ *Not this time:* you chose *{chosen}*; the documents expect *{wanted}*."
    lines = [f"🎓 *{t.inline(scenario.title, 150)}*", head]
    if marked.lesson:
        lines.append(marked.lesson)
    lines.append(f"_{expected.why}_")
    lines.append("*The 5-question framework:*")
    for check in expected.framework:
        lines.append(f"{VERDICT_MARK[check.verdict]} *{check.name.capitalize()}:* {check.note}")
    current = await _round(services, draft.training)
    if current is not None:
        lines.append(_progress(current))
    await tell(
        services, channel=_channel(draft), user=draft.training.trainee, text="\n".join(lines)
    )


def _choice(kind: DecisionKind, urgency: Urgency | None) -> str:
    if kind is DecisionKind.ESCALATE and urgency is not None:
        return f"Escalate ({urgency.value.capitalize()})"
    return CHOICE[kind]


def _channel(draft: Draft) -> str | None:
    return draft.card.channel if draft.card else None


# --- /occ training start ---------------------------------------------------------------------


async def start(services: Services, starter: str, trainees: list[str]) -> str:
    """Post a round of the packet for each trainee (the starter when none is named). A trainee
    still deciding a round gets no new one; its cards not yet in the channel (Slack refused
    them, say) are offered again."""
    settings = services.settings
    store = services.store
    trainees = list(dict.fromkeys(trainees)) or [starter]
    if any(trainee != starter for trainee in trainees) and not settings.is_manager(starter):
        return OTHERS_ARE_FOR_MANAGERS
    started, busy, new, unposted = [], [], [], []
    for trainee in trainees:
        cards = await store.training_cards(trainee)
        left = [card for card in cards if card.state is DraftState.PENDING]
        if left:
            busy.append(f"{t.mention(trainee)} ({len(left)} left)")
            unposted += [card for card in left if card.card is None]
            continue
        number = len({card.training.round for card in cards if card.training}) + 1
        round_cards = await _start_round(services, starter, trainee, number)
        if round_cards is None:  # a start a moment ago, on this replica or another, took it
            busy.append(f"{t.mention(trainee)} (just started)")
            continue
        new += round_cards
        started.append(t.mention(trainee))
    if unposted:
        await store.unpark_cards(Scope.TRAINING)
    if unposted or new:  # one task for them all: a cohort's cards go out in packet order
        services.background.spawn(_post_in_order(services, unposted + new), name="training")
    channel = settings.training_channel
    lines = []
    if started:
        lines.append(
            f"🎓 Posting the training packet ({len(training_packet())} cards: the 3 demos, then "
            f"the 8 exercises) for {', '.join(started)} in {channel}. Decide each card as you "
            "would a real one: nothing reaches a customer, and each decision is marked and "
            f"explained to the trainee alone. The bar is {PASS_PERCENT} % right; "
            "`/occ training report` shows where everyone stands."
        )
    if busy:
        again = "; the ones not there yet are being posted again" if unposted else ""
        lines.append(
            f"Still deciding an earlier round, so nothing new for {', '.join(busy)}: finish "
            f"those cards in {channel} first{again}."
        )
    return "\n".join(lines)


async def _start_round(
    services: Services, starter: str, trainee: str, number: int
) -> list[Draft] | None:
    """Store the trainee's round ``number``; None if another start stored it first: its
    `training.started` row has an id of its own, written once."""
    round_id = f"{trainee}-{number}"
    cards: list[Draft] = []
    logs: list[LogEntry] = []
    for n, scenario in enumerate(training_packet()):
        data = replace(scenario.draft, external_id=None)  # the packet's ids are one per packet
        practice = TrainingCard(trainee=trainee, round=round_id, scenario=scenario.key)
        card, received = new_draft(services, data, training=practice, scenario=scenario.key)
        # A microsecond apart: whatever lists cards by arrival (the reposts job) keeps the
        # packet's order.
        cards.append(replace(card, received_at=card.received_at + timedelta(microseconds=n)))
        logs += received
    started = decision_log.entry(
        services,
        Action.TRAINING_STARTED,
        subject_id=round_id,
        conversation_id=None,
        payload={
            "trainee": trainee,
            "round": round_id,
            "scenarios": [card.training.scenario for card in cards if card.training],
        },
        actor=starter,
        scope=Scope.TRAINING,
    )
    started = replace(started, id=f"training.started:{round_id}")
    return cards if await services.store.start_round(started, cards, *logs) else None


async def _post_in_order(services: Services, cards: list[Draft]) -> None:
    for card in cards:  # one after the other, so the channel reads in packet order
        await post_card(services, card)


# --- /occ training report --------------------------------------------------------------------


@dataclass
class Round:
    """One trainee's round, as the log has it."""

    trainee: str
    scenarios: list[str]
    marks: dict[str, Score] = field(default_factory=dict)  # scenario -> its decision's mark

    @property
    def right(self) -> int:
        return sum(1 for mark in self.marks.values() if mark.correct)

    @property
    def left(self) -> int:
        return len(self.scenarios) - len(self.marks)


async def report(services: Services, user: str, whose: list[str]) -> str:
    """Each trainee's latest round against the bar, with the items they missed. Managers see
    everyone (or those they name); anyone else sees their own."""
    manager = services.settings.is_manager(user)
    if whose and set(whose) != {user} and not manager:
        return "Only managers can see someone else's training; `/occ training report` shows yours."
    if not whose and not manager:
        whose = [user]
    latest: dict[str, list[Round]] = {}
    for found in (await _all_rounds(services)).values():
        latest.setdefault(found.trainee, []).append(found)
    trainees = whose or list(latest)
    if not trainees:
        return "Nobody has trained yet: `/occ training start` posts the packet."
    total = len(training_packet())
    lines = [f"*Training report* (the bar: {PASS_PERCENT} % right, {needed(total)} of {total}):"]
    for trainee in trainees:
        rounds = latest.get(trainee, [])
        if not rounds:
            lines.append(f"• {t.mention(trainee)}: no training yet (`/occ training start`).")
            continue
        lines.append(_trainee_line(trainee, rounds))
    return "\n".join(lines)


def _trainee_line(trainee: str, rounds: list[Round]) -> str:
    current = rounds[-1]
    total = len(current.scenarios)
    status = _status(current)
    line = f"• {t.mention(trainee)}: *{current.right} of {total} right* ({_pct(current)}) {status}"
    if len(rounds) > 1:
        earlier = ", ".join(f"{r.right}/{len(r.scenarios)}" for r in rounds[:-1])
        line += f" Earlier rounds: {earlier}."
    missed = [_missed_line(key, mark) for key, mark in current.marks.items() if not mark.correct]
    if missed:
        line += "\n    Missed: " + "; ".join(missed)
    return line


def _status(current: Round) -> str:
    total = len(current.scenarios)
    if current.left:
        reachable = certified(current.right + current.left, total)
        hope = "" if reachable else " (the bar is out of reach this round)"
        return f"so far, {current.left} card{'s' if current.left != 1 else ''} left{hope}."
    if certified(current.right, total):
        return "✅ *certified*."
    return (
        f"❌ not yet certified ({needed(total)} needed): `/occ training start` for another round."
    )


def _missed_line(key: str, mark: Score) -> str:
    scenario = training_scenario(key)
    title = scenario.title if scenario else key
    wanted = _choice(mark.expected, scenario.expected.urgency if scenario else None)
    return f"{t.inline(title, 100)} (chose {_choice(mark.chosen, mark.urgency)}, expected {wanted})"


def _pct(current: Round) -> str:
    total = len(current.scenarios)
    return f"{current.right * 100 // total} %" if total else "–"


def _progress(current: Round) -> str:
    total = len(current.scenarios)
    if current.left:
        return (
            f"Round so far: *{current.right} of {len(current.marks)} right*, {current.left} of "
            f"{total} cards left (the bar: {needed(total)} of {total})."
        )
    return f"Round done: *{current.right} of {total} right* ({_pct(current)}) {_status(current)}"


async def _round(services: Services, card: TrainingCard) -> Round | None:
    """The card's round so far; None if the log cannot be read just now (the decision itself
    is stored: the trainee is told its mark without the tally)."""
    store = services.store
    try:
        rows = await store.entries(
            scope=Scope.TRAINING, actions=(Action.TRAINING_STARTED,), subject_id=card.round
        )
        rows += await store.entries(scope=Scope.TRAINING, actions=DECISIONS, actor=card.trainee)
    except Exception as error:
        if not unavailable(error):
            raise
        return None
    return _rounds_from(rows).get(card.round)


async def _all_rounds(services: Services) -> dict[str, Round]:
    """Every round in the log, oldest first, with the marks of its decisions."""
    rows = await services.store.entries(
        scope=Scope.TRAINING, actions=(Action.TRAINING_STARTED, *DECISIONS)
    )
    return _rounds_from(rows)


def _rounds_from(rows: list[LogEntry]) -> dict[str, Round]:
    """The rounds that start in ``rows`` (oldest first), with the marks found there."""
    rounds: dict[str, Round] = {}
    for row in rows:
        if row.action == Action.TRAINING_STARTED:
            payload = row.payload
            rounds[payload["round"]] = Round(payload["trainee"], payload["scenarios"])
            continue
        marked = row.payload.get("training")
        found = rounds.get(marked["round"]) if isinstance(marked, dict) else None
        if found is not None:
            found.marks[marked["scenario"]] = _score_from(marked)
    return rounds


def _score_from(marked: dict[str, Any]) -> Score:
    return Score(
        scenario=marked["scenario"],
        chosen=DecisionKind(marked["chosen"]),
        expected=DecisionKind(marked["expected"]),
        correct=bool(marked["correct"]),
        urgency=Urgency(marked["urgency"]) if marked.get("urgency") else None,
    )
