"""An assignment in Chatwoot, read from its webhook: ``conversation_updated`` whose
``changed_attributes`` name ``assignee_id``, the new assignee in ``meta.assignee``
(docs/research/chatwoot_events_issue20.md, 3 and 6). On Chatwoot's real capture
(tests/fixtures/real), and on what the Chatwoot stand-in builds."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from bot.integrations.chatwoot_webhook import AssignedInChatwoot, parse_work_in_chatwoot
from tests.harness import real_fixture, swap

CAPTURE = "chatwoot_webhook_conversation_updated_changed_attributes.json"
# An agent as meta.assignee shows one: User#push_event_data (research note 3).
DANA = {
    "id": 3,
    "name": "Dana Reyes",
    "available_name": "Dana",
    "avatar_url": "",
    "type": "user",
    "availability_status": None,
    "thumbnail": "",
}


def assigned(to: dict[str, Any] | None, previous: int | None = None) -> dict[str, Any]:
    """The real capture, with its changes and assignee swapped for an assignment's."""
    payload = real_fixture(CAPTURE)
    change = {"previous_value": previous, "current_value": to["id"] if to else None}
    swap(payload, "changed_attributes", [{"assignee_id": change}])
    swap(payload, "meta.assignee", to)
    swap(payload, "meta.assignee_type", "User" if to else None)
    return payload


def test_the_real_capture_changes_no_assignee_so_it_is_no_assignment() -> None:
    # It is the conversation's creation: id, account_id, inbox_id, waiting_since… changed.
    assert parse_work_in_chatwoot(real_fixture(CAPTURE)) is None


def test_an_assignment_to_an_agent() -> None:
    assert parse_work_in_chatwoot(assigned(DANA)) == AssignedInChatwoot(
        conversation_id=6,
        agent_id=3,
        agent_name="Dana",  # available_name, as Chatwoot shows agents
        changed_at=datetime.fromtimestamp(1770946053.629168, UTC),  # the capture's updated_at
        account_id=1,  # named by its listed message: no conversation-level account before 4.14
    )


def test_an_unassignment_is_an_assignment_to_nobody() -> None:
    work = parse_work_in_chatwoot(assigned(None, previous=3))
    assert isinstance(work, AssignedInChatwoot)
    assert (work.agent_id, work.agent_name) == (None, None)


def test_a_conversation_handed_to_an_agent_bot_has_no_person_on_it() -> None:
    # Assigning an agent bot clears assignee_id; meta.assignee is then the bot (research note 6).
    payload = assigned(None, previous=3)
    swap(
        payload, "meta.assignee", {"id": 4, "name": "Triage", "avatar_url": "", "type": "agent_bot"}
    )
    swap(payload, "meta.assignee_type", "AgentBot")
    work = parse_work_in_chatwoot(payload)
    assert isinstance(work, AssignedInChatwoot) and work.agent_id is None


def test_meta_shows_the_assignee_when_the_webhook_was_sent() -> None:
    # Chatwoot reads the conversation again when its job runs: a later assignment to Dana
    # already shows, though this delivery's change was to agent 8.
    payload = assigned(DANA)
    swap(payload, "changed_attributes.0.assignee_id.current_value", 8)
    work = parse_work_in_chatwoot(payload)
    assert isinstance(work, AssignedInChatwoot) and work.agent_id == 3


@pytest.mark.parametrize("updated_at", [None, "2026-02-13T01:27:33Z", 1e300, True])
def test_an_unreadable_updated_at_leaves_the_time_to_the_bot(updated_at: object) -> None:
    payload = assigned(DANA)
    swap(payload, "updated_at", updated_at)
    work = parse_work_in_chatwoot(payload)
    assert isinstance(work, AssignedInChatwoot) and work.changed_at is None


async def test_the_standin_builds_the_assignment_as_chatwoot_does(chatwoot) -> None:
    chatwoot.add_incoming(42, "Where is my order #1042?")
    event = chatwoot.assigned_event(42, 7)

    assert set(real_fixture(CAPTURE)) <= set(event)  # every field of the real capture
    assert event["event"] == "conversation_updated"
    assert event["changed_attributes"][0] == {
        "assignee_id": {"previous_value": None, "current_value": 7}
    }
    assert event["meta"]["assignee_type"] == "User"
    work = parse_work_in_chatwoot(event)
    assert isinstance(work, AssignedInChatwoot)
    assert (work.conversation_id, work.agent_id, work.agent_name) == (42, 7, "Olivia Operator")
    assert chatwoot.assignee(42) == 7
