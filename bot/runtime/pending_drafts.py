"""Drafts this replica has seen awaiting a decision with their card posted: what a decision
needs of a draft, known without reading it from the database first.

Once its card is posted, a draft's input, flags, training card, card and posting time never
change, and they are all a decision reads before its compare-and-set: who may decide it, its
log row and the reply it queues. Its state does change, and it is never taken from here: the
store's compare-and-set (pending, not superseded, not retired) decides, and a decision that
loses it reads the draft and is told who won. So a copy seen pending, even one another
replica has decided since, is safe to decide from; it is dropped once this replica sees the
draft decided, superseded or retired.

Bounded: past `max_kept`, the draft seen longest ago is forgotten, and a decision on it reads
the database, as without this. A draft with a long customer message is a few KB, and drafts
decided on other replicas stay until pushed out, so the bound is what an idle replica holds.
"""

from __future__ import annotations

from collections import OrderedDict

from bot.domain import Draft, DraftState

MAX_KEPT = 1_024  # about 2.5 MB of drafts; more cards than operators see at once


class PendingDrafts:
    def __init__(self, max_kept: int = MAX_KEPT) -> None:
        self._drafts: OrderedDict[str, Draft] = OrderedDict()
        self._max_kept = max_kept

    def remember(self, draft: Draft) -> None:
        """Keep a draft seen pending with its card; any other one is forgotten."""
        if draft.state is not DraftState.PENDING or draft.card is None:
            self.forget(draft.id)
            return
        self._drafts[draft.id] = draft
        self._drafts.move_to_end(draft.id)
        while len(self._drafts) > self._max_kept:
            self._drafts.popitem(last=False)

    def get(self, draft_id: str) -> Draft | None:
        """The draft as last seen pending (its state may have changed since)."""
        return self._drafts.get(draft_id)

    def forget(self, draft_id: str) -> None:
        self._drafts.pop(draft_id, None)

    def __len__(self) -> int:
        return len(self._drafts)
