"""Refused clicks waiting to be logged and told, one group per user, draft, action and reason.

A click on a card that is already decided is refused, and the refusal is logged and told
to the user. Clicked again and again (a double click, an impatient operator, a retry storm),
each click used to cost a database read, a log row and an ephemeral, on the event loop
that acknowledges the next click. Here the clicks of one user on one draft for one action
join a `Group`: one row counting them, one message, once the user has stopped clicking.

`Refusals` also remembers drafts seen decided (a decided draft never changes again), so a
click on one is refused as it is acknowledged, without reading the database; and while a
click on a draft not known decided is being applied, `Deciding` keeps later clicks on that
draft waiting for its outcome rather than each reading the database at once.

Both are bounded. At `max_groups`, a refusal does not join a group: it is logged and told
on its own, as before coalescing, and `overflowed` counts it (reported when a group is
flushed). Past `max_decided`, the draft seen longest ago is forgotten: its next click reads
the database once. At `MAX_WAITING` clicks waiting, a click is applied at once, as before.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Generic, TypeVar

from bot.domain import Draft, DraftState

MAX_GROUPS = 10_000
MAX_DECIDED = 4_096
MAX_WAITING = 10_000

T = TypeVar("T")

GroupKey = tuple[str, str, str, str]  # draft id, user, attempted action, reason


@dataclass
class Group:
    """The refused clicks of one user on one draft for one action and one reason, not logged
    yet (a draft decided meanwhile refuses later clicks for another reason: a group of its own)."""

    draft: Draft
    user: str
    attempted: str
    reason: str
    first_at: datetime
    last_at: datetime
    opened: float  # event-loop time of the first click
    touched: float  # event-loop time of the latest click
    clicks: int = 0
    held: list[str] = field(default_factory=list)  # in-flight ids, released once logged

    @property
    def key(self) -> GroupKey:
        return (self.draft.id, self.user, self.attempted, self.reason)


class Refusals:
    def __init__(self, max_groups: int = MAX_GROUPS, max_decided: int = MAX_DECIDED) -> None:
        self._groups: dict[GroupKey, Group] = {}
        self._decided: OrderedDict[str, Draft] = OrderedDict()
        self._max_groups = max_groups
        self._max_decided = max_decided
        self.overflowed = 0  # refusals logged on their own since the last flush: no room

    def remember(self, draft: Draft) -> None:
        """Note a draft seen decided (or superseded, or retired): it never changes again."""
        if draft.state is DraftState.PENDING:
            return
        self._decided[draft.id] = draft
        self._decided.move_to_end(draft.id)
        while len(self._decided) > self._max_decided:
            self._decided.popitem(last=False)

    def decided(self, draft_id: str) -> Draft | None:
        return self._decided.get(draft_id)

    def join(
        self,
        draft: Draft,
        user: str,
        attempted: str,
        reason: str,
        *,
        at: datetime,
        now: float,
        held: str = "",
    ) -> Group | None:
        """Add a refused click to its group; the group if it is new (its flush is to be
        scheduled), None if it joined one. Raises `Full` when there is no room for a group."""
        key = (draft.id, user, attempted, reason)
        group = self._groups.get(key)
        new = group is None
        if group is None:
            if len(self._groups) >= self._max_groups:
                self.overflowed += 1
                raise Full
            group = Group(draft, user, attempted, reason, at, at, opened=now, touched=now)
            self._groups[key] = group
        group.clicks += 1
        group.touched = now
        group.first_at, group.last_at = min(group.first_at, at), max(group.last_at, at)
        if held:
            group.held.append(held)
        return group if new else None

    def take(self, key: GroupKey) -> Group:
        """Close the group: later clicks start a new one."""
        return self._groups.pop(key)

    def __len__(self) -> int:
        return len(self._groups)

    @property
    def clicks(self) -> int:
        """Refused clicks waiting in groups."""
        return sum(g.clicks for g in self._groups.values())


class Full(Exception):
    """No room for another group of refusals."""


class Deciding(Generic[T]):
    """Drafts with a click being applied, and the later clicks on each, waiting for it."""

    def __init__(self, max_waiting: int = MAX_WAITING) -> None:
        self._waiting: dict[str, list[T]] = {}
        self._count = 0
        self._max_waiting = max_waiting
        self.overflowed = 0  # clicks applied at once since clicks last stopped waiting: no room

    def lead(self, draft_id: str, click: T) -> bool:
        """True if no click on the draft is being applied (this one is, from now on); else
        the click waits for it, and False. Raises `Full` when too many are waiting."""
        waiting = self._waiting.get(draft_id)
        if waiting is None:
            self._waiting[draft_id] = []
            return True
        if self._count >= self._max_waiting:
            self.overflowed += 1
            raise Full
        waiting.append(click)
        self._count += 1
        return False

    def done(self, draft_id: str) -> list[T]:
        """The clicks that waited for the draft's click just applied, oldest first."""
        waited = self._waiting.pop(draft_id, [])
        self._count -= len(waited)
        if waited:
            self.overflowed = 0
        return waited

    @property
    def waiting(self) -> int:
        return self._count
