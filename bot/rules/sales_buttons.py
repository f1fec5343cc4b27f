"""A Sales Pulse alert's buttons, each one spec: its label, its action id, the decision_log
row its use writes, who may press it and what it does (an `Effect`).

An effect is named here and done in `bot.flows.sales_responses`, which binds one function to
each `Effect` (what a button does is I/O, which this layer does not do). A button is either a
response, recorded once per alert whoever clicks first (`response` set), or a form, which may
be opened again and writes its row when it is submitted (`response` None).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bot.domain import Action, SalesResponseKind


class Who(StrEnum):
    """Who may press a button."""

    ANYONE = "anyone"  # anyone who can see the alert: the people in the sales channel
    MANAGERS = "managers"  # OCC_MANAGERS


class Effect(StrEnum):
    """What pressing a button does beyond recording it, bound in `bot.flows.sales_responses`."""

    RECORD = "record"  # nothing more: the alert shows who and when
    FOLLOWUP_FORM = "followup_form"  # the follow-up form: owner, due date, note
    NOTIFY_LEAD = "notify_lead"  # the fulfillment lead, by DM and in the thread
    PAGE_MANAGER = "page_manager"  # the fulfillment manager, urgently, with the late orders
    REORDER_THREAD = "reorder_thread"  # the SKUs' facts in the thread, for the reorder


@dataclass(frozen=True)
class Button:
    label: str  # the button's text
    action_id: str  # its Slack action id (`bot.blocks.ids.ActionId` lists every one)
    log: Action  # the decision_log row its use writes
    who: Who
    effect: Effect
    response: SalesResponseKind | None = None  # recorded once per alert; None: a form
    done: str = ""  # how the alert shows a recorded response: "Acknowledged by @…"
    primary: bool = True  # drawn as the alert's main action


ACKNOWLEDGE = Button(
    label="Acknowledge",
    action_id="sales_acknowledge",
    log=Action.SALES_ACKNOWLEDGED,
    who=Who.ANYONE,
    effect=Effect.RECORD,
    response=SalesResponseKind.ACKNOWLEDGED,
    done="Acknowledged",
    primary=False,
)


def may_press(who: Who, user: str, managers: frozenset[str]) -> bool:
    return who is Who.ANYONE or user in managers


def refusal(button: Button) -> str:
    """What someone who may not press the button is told (only managers' buttons refuse)."""
    return f"Only managers (`OCC_MANAGERS`) can use *{button.label}* on Sales Pulse alerts."
