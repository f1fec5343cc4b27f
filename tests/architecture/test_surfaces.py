"""One path to redraw Slack (`bot.flows.surfaces`): every action says what it redraws, each
surface is redrawn once however many events touch it, and no flow redraws on its own."""

from __future__ import annotations

import ast
from datetime import UTC, datetime
from pathlib import Path

from bot.blocks.ids import ActionId
from bot.domain import (
    Action,
)
from bot.flows import surfaces
from bot.flows.surfaces import SHOWN_ON, Event, Surface
from tests.harness import OPERATOR, BotUnderTest

BOT = Path(__file__).parents[2] / "bot"
NOW = datetime(2025, 3, 4, 12, 0, tzinfo=UTC)


def test_every_action_says_what_it_redraws() -> None:
    """A new action must be added to SHOWN_ON, with its surfaces or with () for none."""
    assert set(SHOWN_ON) == set(Action), f"not in SHOWN_ON: {set(Action) - set(SHOWN_ON)}"
    assert all(isinstance(shown, tuple) for shown in SHOWN_ON.values())
    used = {surface for shown in SHOWN_ON.values() for surface in shown}
    assert used == set(Surface), f"never redrawn: {set(Surface) - used}"


# What draws each surface, and who may call it: the surfaces module, and whoever draws a
# surface that is not a redraw after a change (someone opening their Home tab).
DRAWS = {"refresh_card", "redraw", "redraw_soon", "refresh_home_soon", "publish_home"}
MAY_CALL = {
    "bot/flows/surfaces.py": DRAWS,
    "bot/flows/overview.py": {"publish_home"},  # refresh_home_soon draws with it
    "bot/handlers/home.py": {"publish_home"},  # app_home_opened: drawn when opened
    "bot/flows/escalation_view.py": {"redraw"},  # redraw_soon draws with it
    "bot/flows/cards.py": set(),
    "bot/flows/sales_view.py": set(),
    "bot/flows/qa_view.py": set(),
}


def redraw_calls(path: Path) -> list[tuple[int, str]]:
    calls = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            if name in DRAWS:
                calls.append((node.lineno, name))
    return calls


def test_no_flow_or_handler_redraws_slack_itself() -> None:
    found = []
    for path in sorted(BOT.rglob("*.py")):
        where = path.relative_to(BOT.parent).as_posix()
        allowed = MAY_CALL.get(where, set())
        found += [f"{where}:{n} {name}()" for n, name in redraw_calls(path) if name not in allowed]
    assert not found, "redraw through bot.flows.surfaces.changed instead: " + ", ".join(found)


# -- end to end: Slack sees one update per surface ----------------------------------------------


async def test_two_events_on_one_card_update_it_once_and_the_home_tab_once(
    bot: BotUnderTest, slack, scenarios
) -> None:
    draft = await bot.posted_draft(scenarios["demo-1-order-status"].payload)
    await bot.click(ActionId.APPROVE, draft, OPERATOR)
    await bot.settle()
    updates, homes = len(slack.calls("chat.update")), len(slack.calls("views.publish"))
    sent = await bot.store.get_draft(draft.id)

    await surfaces.changed(
        bot.services, Event(Action.DRAFT_APPROVED, sent), Event(Action.REPLY_SENT, sent)
    )
    await bot.settle()

    [update] = slack.calls("chat.update")[updates:]
    assert (update.args["channel"], update.args["ts"]) == (draft.card.channel, draft.card.ts)
    [home] = slack.calls("views.publish")[homes:]
    assert home.args["user_id"] == OPERATOR
