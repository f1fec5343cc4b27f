"""``GET /api/v1/accounts/{a}/conversations`` as Chatwoot's ``ConversationFinder`` answers it:
filtered by status, counted, filtered by assignee type, sorted by ``sort_by`` and paged.

Read from chatwoot/chatwoot v4.15.1 (docs/real-services.md, section 14):

- ``status`` (default ``open``; ``all`` skips the filter) narrows the list first; the four
  ``meta`` counts are taken from that list, *before* ``assignee_type`` narrows it further:
  ``mine_count`` (assigned to the token's owner), ``unassigned_count``, ``all_count``, and
  ``assigned_count`` = all − unassigned.
- ``sort_by`` picks one of ``SORT_OPTIONS``; a missing or unknown one is
  ``last_activity_at_desc``, never an error. ``waiting_since_asc`` orders by
  ``(waiting_since IS NULL), waiting_since ASC, created_at ASC``: the longest wait first and
  every conversation nobody waits on last.
- ``page`` is Kaminari's: the parameter's leading integer (Ruby's ``to_i``), pages below 1
  being page 1; each page holds ``CONVERSATION_RESULTS_PER_PAGE`` conversations (25 unless the
  installation sets it), and a page past the end is empty (its counts are still there).

Where Chatwoot leaves ties to PostgreSQL, the stand-in breaks them by id, so that pages are
stable; it has no priorities and no unread counts, so those sorts fall to their next key.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from bot.demo.standins.chatwoot.model import Conversation

PER_PAGE = 25  # ENV.fetch('CONVERSATION_RESULTS_PER_PAGE', '25')
DEFAULT_SORT = "last_activity_at_desc"

SortKey = Callable[[Conversation, int], tuple[Any, ...]]  # (conversation, last activity)


def _last_activity(desc: bool) -> SortKey:
    sign = -1 if desc else 1
    return lambda c, activity: (sign * activity, sign * c.id)


def _created_at(desc: bool) -> SortKey:
    sign = -1 if desc else 1
    return lambda c, activity: (sign * c.created_at, sign * c.id)


def _waiting_since(desc: bool) -> SortKey:
    sign = -1 if desc else 1
    # 0 is Chatwoot's NULL here (the JSON's waiting_since.to_i); NULL sorts last either way
    return lambda c, activity: (not c.waiting_since, sign * c.waiting_since, c.created_at, c.id)


SORT_OPTIONS: dict[str, SortKey] = {
    "last_activity_at_asc": _last_activity(desc=False),
    "last_activity_at_desc": _last_activity(desc=True),
    "created_at_asc": _created_at(desc=False),
    "created_at_desc": _created_at(desc=True),
    # priority NULLS LAST, last_activity_at DESC: every priority here is NULL
    "priority_asc": _last_activity(desc=True),
    "priority_desc": _last_activity(desc=True),
    "waiting_since_asc": _waiting_since(desc=False),
    "waiting_since_desc": _waiting_since(desc=True),
    "priority_desc_created_at_asc": _created_at(desc=False),
    "unread": _last_activity(desc=True),  # unread count DESC, then last activity: none unread
    # "To be removed in v3.5.0", still there in v4.15.1
    "latest": _last_activity(desc=True),
    "sort_on_created_at": _created_at(desc=False),
    "sort_on_priority": _last_activity(desc=True),
    "sort_on_waiting_since": _waiting_since(desc=False),
}


def page_number(raw: str | None) -> int:
    """Kaminari's page: Ruby's ``to_i`` of the parameter, and page 1 below 1."""
    match = re.match(r"\s*([+-]?\d+)", raw or "")
    return max(int(match.group(1)) if match else 0, 1)


def counts(listed: Sequence[Conversation], owner_id: int) -> dict[str, int]:
    unassigned = sum(1 for c in listed if c.assignee_id is None)
    return {
        "mine_count": sum(1 for c in listed if c.assignee_id == owner_id),
        "assigned_count": len(listed) - unassigned,
        "unassigned_count": unassigned,
        "all_count": len(listed),
    }


def of_assignee_type(
    listed: list[Conversation], assignee_type: str | None, owner_id: int
) -> list[Conversation]:
    if assignee_type == "me":
        return [c for c in listed if c.assignee_id == owner_id]
    if assignee_type == "unassigned":
        return [c for c in listed if c.assignee_id is None]
    if assignee_type == "assigned":
        return [c for c in listed if c.assignee_id is not None]
    return listed  # "all", or anything else


def one_page(
    listed: list[Conversation],
    activity: Callable[[Conversation], int],
    *,
    sort_by: str | None,
    page: str | None,
    per_page: int,
) -> list[Conversation]:
    key = SORT_OPTIONS.get(sort_by or "", SORT_OPTIONS[DEFAULT_SORT])
    ordered = sorted(listed, key=lambda c: key(c, activity(c)))
    start = (page_number(page) - 1) * per_page
    return ordered[start : start + per_page]
