"""An answer to `/occ`, and what may follow it through the same response_url once it is
shown (a fresh reading, say): Slack takes up to five responses to a command within 30
minutes, each a new message only the asker sees."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

Respond = Callable[..., Awaitable[Any]]


@dataclass(frozen=True)
class Answer:
    text: str
    then: Callable[[Respond], Awaitable[None]] | None = None  # run once the text is shown
