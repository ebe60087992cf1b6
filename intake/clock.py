"""The one clock of docintake: every "now" and "today" comes from here, and "today" is the
date in the service center's time zone (`DOCINTAKE_TIMEZONE`), not the server's.

Statutory limits run in calendar dates where the center is: a case received at 07:30 in
Beijing on 3 March was received on 3 March, although it is still 2 March in UTC. Tests move
time with `time-machine`; a deployment checked at a chosen date runs under `faketime`. Both
move `datetime.now`, which is all this reads.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

DEFAULT_TIMEZONE = "Asia/Shanghai"


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Clock:
    zone: ZoneInfo = field(default_factory=lambda: ZoneInfo(DEFAULT_TIMEZONE))
    source: Callable[[], datetime] = utc_now

    def now(self) -> datetime:
        """The current instant, aware, in the center's time zone."""
        return self.source().astimezone(self.zone)

    def today(self) -> date:
        return self.now().date()

    def date_of(self, instant: datetime) -> date:
        """The center's calendar date of a stored instant (naive means UTC, as SQLite
        returns timestamps)."""
        if instant.tzinfo is None:
            instant = instant.replace(tzinfo=UTC)
        return instant.astimezone(self.zone).date()
