"""The card of a draft just approved while its reply goes out: one ``chat.update`` showing
the outcome when the reply is quick, and the interim "sending" state only when it is not.

The operator sees their click take effect within `SENDING_SHOWN_AFTER` either way: the
reply's outcome (sent; failed, retrying; recorded) if it is stored by then, else "sending"
and then the outcome. The two draws never cross: the outcome drops a "sending" draw not begun
and waits for one under way, so Slack gets them in order and the card ends on the outcome.
A send that ends without drawing its outcome (an error, or a lease that ran out) shows
"sending" at once: the outbox job that sends it later draws the outcome.
"""

from __future__ import annotations

import asyncio
import logging

from bot.domain import Action, Draft
from bot.flows import surfaces
from bot.services import Services

log = logging.getLogger("occ.cards")

# Seconds an approval may go without a visible change on its card: about the limit for
# a person's flow of thought to stay uninterrupted (Nielsen, "Response Times: The 3
# Important Limits"). Chatwoot on loopback answers well within it; a slow one does not.
SENDING_SHOWN_AFTER = 1.0


class SendingCard:
    """The "sending" state of ``draft``'s card (just decided as ``action``), drawn after
    `SENDING_SHOWN_AFTER` unless the reply's outcome comes first. Create it in the event
    loop, just before the send."""

    def __init__(self, services: Services, draft: Draft, action: Action) -> None:
        self._services = services
        self._draft = draft
        self._action = action
        self._drawing: asyncio.Task[None] | None = None
        self._outcome_drawn = False
        self._timer = asyncio.get_running_loop().call_later(SENDING_SHOWN_AFTER, self._start)

    def _start(self) -> None:
        if self._drawing is None and not self._outcome_drawn:
            self._drawing = asyncio.get_running_loop().create_task(
                self._draw(), name=f"sending-card-{self._draft.id}"
            )

    async def _draw(self) -> None:
        event = surfaces.Event(self._action, self._draft, first_send=True)
        await surfaces.changed(self._services, event, skip=(surfaces.HOME,))

    async def outcome_next(self) -> None:
        """The outcome is drawn next: no "sending" after it, and one under way ends first."""
        self._outcome_drawn = True
        self._timer.cancel()
        await self._drawn()

    async def settle(self) -> None:
        """The send is over: if it drew no outcome, show "sending" now (once)."""
        self._timer.cancel()
        if not self._outcome_drawn:
            self._start()
        await self._drawn()

    async def _drawn(self) -> None:
        drawing, self._drawing = self._drawing, None
        if drawing is None:
            return
        try:
            await drawing
        except Exception:  # the outcome (or the job's retry) still draws the card
            log.exception("the sending state of %s's card was not drawn", self._draft.id)
