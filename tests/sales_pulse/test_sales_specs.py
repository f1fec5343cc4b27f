"""Every Sales Pulse trigger is one complete spec (`bot.rules.sales.TRIGGERS`), and every
Sales Pulse button one complete button spec, claimed once: a trigger added without a title, a
button without a label, an action id, a log row, who may press it or a bound effect fails here,
not in the alert path."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.blocks.ids import ActionId
from bot.blocks.text import BUTTON_TEXT_MAX
from bot.domain import Action, SalesResponseKind, Trigger
from bot.flows.sales_responses import EFFECTS, FORMS
from bot.rules.sales import TRIGGERS, SalesRead, SalesThresholds, TriggerSpec, buttons, spec_for
from bot.rules.sales_buttons import ACKNOWLEDGE, Button, Effect, Who, may_press
from bot.rules.sales_days import Shop

ROOT = Path(__file__).parents[2]
EMPTY = SalesRead.of_orders(
    datetime(2026, 12, 3, 20, 0, tzinfo=UTC),
    Shop(ZoneInfo("America/New_York"), "https://occ.myshopify.com/admin"),
    SalesThresholds(),
)


def spec_problems(spec: TriggerSpec) -> list[str]:
    problems = []
    if not spec.title.strip():
        problems.append("no title")
    if not re.fullmatch(r":[a-z0-9_+-]+:", spec.emoji):
        problems.append(f"emoji {spec.emoji!r} is not a Slack emoji code")
    if not callable(spec.evaluator):
        problems.append("no evaluator")
    if not spec.worse > 1:
        problems.append(f"worse {spec.worse}: a new alert must need a worse condition")
    if spec.clear is not None and not 0 < spec.clear < 1:
        problems.append(f"clear {spec.clear}: a fraction of the threshold, or None")
    if not spec.responses:
        problems.append("no response button")
    if spec.buttons[-1] is not ACKNOWLEDGE:
        problems.append("its alerts lack Acknowledge")
    problems += [
        f"{b.label or b.action_id}: {p}" for b in spec.responses for p in button_problems(b)
    ]
    return problems


def button_problems(button: Button) -> list[str]:
    problems = []
    if not button.label.strip() or len(button.label) > BUTTON_TEXT_MAX:
        problems.append(f"label {button.label!r}")
    if button.action_id not in set(ActionId):
        problems.append(f"action id {button.action_id!r} is not an ActionId (bot/blocks/ids.py)")
    if not (isinstance(button.log, Action) and button.log.startswith("sales.")):
        problems.append(f"log {button.log!r} is not a sales.* decision_log action")
    if not isinstance(button.who, Who):
        problems.append("no one may press it")
    if button.response is None and button.effect not in FORMS:
        problems.append(f"a form whose effect {button.effect} opens no form (sales_responses)")
    if button.response is not None and button.effect not in EFFECTS:
        problems.append(f"a response whose effect {button.effect} does nothing (sales_responses)")
    if button.response is not None and not button.done.strip():
        problems.append("a response the alert cannot show as done")
    return problems


@pytest.mark.parametrize("spec", TRIGGERS, ids=[spec.trigger.value for spec in TRIGGERS])
def test_each_spec_is_complete_and_evaluates_only_its_own_conditions(spec: TriggerSpec):
    assert spec_problems(spec) == []
    for evaluation in spec.evaluate(EMPTY):  # a shop that has read nothing yet
        assert evaluation.condition.split(":")[0] == spec.trigger.value
        assert evaluation.finding is None or evaluation.finding.trigger is spec.trigger


def test_each_trigger_has_exactly_one_spec():
    assert Counter(spec.trigger for spec in TRIGGERS) == Counter(set(Trigger))
    assert all(spec_for(trigger).trigger is trigger for trigger in Trigger)


def test_each_button_is_complete():
    assert {b.label: button_problems(b) for b in buttons()} == {b.label: [] for b in buttons()}


def test_each_sales_action_id_is_claimed_by_exactly_one_button():
    sales_ids = {a.value for a in ActionId if a.name.startswith("SALES_")}
    assert Counter(b.action_id for b in buttons()) == Counter(sales_ids)


def test_each_response_kind_and_log_action_belongs_to_one_button():
    responses = Counter(b.response for b in buttons() if b.response is not None)
    assert responses == Counter(set(SalesResponseKind))
    logs = Counter(b.log for b in buttons())
    assert [log for log, n in logs.items() if n > 1] == []


def test_each_effect_is_bound_once():
    assert set(EFFECTS) | set(FORMS) == set(Effect) and not set(EFFECTS) & set(FORMS)


def test_an_incomplete_spec_is_caught():
    spec = TRIGGERS[0]
    assert spec_problems(replace(spec, title="")) == ["no title"]
    unbound = replace(spec.responses[0], action_id="sales_new_button", label="")
    assert len(spec_problems(replace(spec, responses=(unbound,)))) == 2
    assert spec_problems(replace(spec, worse=1.0)) != []


@pytest.mark.parametrize(
    "setting", [field.alias for field in SalesThresholds.model_fields.values()]
)
def test_each_threshold_is_a_documented_setting(setting: str):
    assert setting and setting.startswith("OCC_SALES_")
    for document in (".env.example", "README.md", "docs/interface.md"):
        assert setting in (ROOT / document).read_text(), f"{setting} is not in {document}"


def test_who_may_press():
    managers = frozenset({"U0MANAGER1"})
    assert may_press(Who.ANYONE, "U0ANYONE1", managers)
    assert may_press(Who.MANAGERS, "U0MANAGER1", managers)
    assert not may_press(Who.MANAGERS, "U0ANYONE1", managers)
