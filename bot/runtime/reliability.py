"""This replica's view of which incidents are open, read from the database.

Incidents live in the database (`bot.store.incidents.Incidents`), so an outage alerts
once and recovers once however many replicas see it. Checking the database on every
successful call would put a query on the hot path; instead each replica keeps the open
incidents it last read and reads them again at most every `REFRESH_SECONDS`. A recovery is
therefore noticed within that time by whichever replica next succeeds.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime

from bot.domain import Incident
from bot.store.incidents import Incidents

REFRESH_SECONDS = 10.0
DEPENDENCY = "dependency:"


RATE_LIMIT = "rate-limit:"


def dependency_incident(dependency: str) -> str:
    return f"{DEPENDENCY}{dependency}"


def rate_limit_incident(dependency: str) -> str:
    return f"{RATE_LIMIT}{dependency}"


class OpenIncidents:
    def __init__(
        self,
        refresh_seconds: float = REFRESH_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._refresh_seconds = refresh_seconds
        self._monotonic = monotonic
        self._open: dict[str, datetime] = {}
        self._read_at: float | None = None

    async def current(self, store: Incidents) -> dict[str, datetime]:
        """Open incident ids and since when, read again if the last read is too old."""
        now = self._monotonic()
        if self._read_at is None or now - self._read_at >= self._refresh_seconds:
            incidents = await store.open_incidents()
            self._open = {incident.id: incident.opened_at for incident in incidents}
            self._read_at = now
        return self._open

    def known_open(self, incident_id: str) -> bool:
        return incident_id in self._open

    def opened(self, incident: Incident) -> None:
        self._open[incident.id] = incident.opened_at

    def closed(self, incident_id: str) -> None:
        self._open.pop(incident_id, None)

    async def degraded(self, store: Incidents) -> dict[str, str]:
        """What is failing (a dependency by its name) and since when (ISO 8601), for /healthz."""
        return {
            incident_id.removeprefix(DEPENDENCY): since.isoformat()
            for incident_id, since in (await self.current(store)).items()
        }
