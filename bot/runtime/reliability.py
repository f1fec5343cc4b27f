"""Dependency health as seen by this process, so an outage alerts once and recovery once."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class Transition(StrEnum):
    WENT_DOWN = "went_down"
    RECOVERED = "recovered"


@dataclass
class Health:
    down_since: dict[str, datetime] = field(default_factory=dict)

    def failed(self, dependency: str, now: datetime) -> Transition | None:
        if dependency in self.down_since:
            return None
        self.down_since[dependency] = now
        return Transition.WENT_DOWN

    def succeeded(self, dependency: str) -> Transition | None:
        if self.down_since.pop(dependency, None) is None:
            return None
        return Transition.RECOVERED

    def snapshot(self) -> dict[str, str]:
        return {name: since.isoformat() for name, since in self.down_since.items()}
