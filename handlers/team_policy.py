"""How a support team managed in the chat behaves (config.yaml ``team:``, issue #19)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path


@dataclass(frozen=True, slots=True)
class TeamPolicy:
    # A team none of whose members joined or acted on an idea for this many days is
    # passed over: its unit's ideas and reminders go to the nearest active team above.
    inactive_days: int = 30
    # A colleague's invite made in /team expires after this many hours (and serves once).
    invite_hours: int = 48
    # Where the invite's QR code waits as a PNG until it is sent (reports.directory).
    files: Path = Path("data/reports")

    def active_since(self, now: datetime) -> datetime:
        return now - timedelta(days=self.inactive_days)
