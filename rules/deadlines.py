"""A case's statutory deadlines and its supervision light, from its dates and a working-day
calendar. Pure: `intake.lifecycle` gathers the dates, this module only computes.

* `notice_due` — art. 32: within 5 working days of receipt the center accepts the
  application or issues the one-time notice; past it without either, the application
  counts as accepted (`deemed_accepted`) and the case is red. After a return for supplement
  the clock starts again from the day the supplemented materials came in.
* `committed_due` / `legal_due` — the item's committed limit (承诺时限) and legal limit
  (法定时限, art. 42) counted from acceptance, shifted by pauses (art. 45) and by an
  extension (art. 42). The extension lengthens both: an extended case is judged against
  the extended dates (the approver extended the case, not only its legal ceiling).
* `light` — red past the committed limit (or past `notice_due`), yellow when the working
  days left are at most the item's threshold, green otherwise. A decided case keeps the
  light of its decision day; refused and withdrawn cases have none.

Days are counted by `rules.workdays` (the event day not counted).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Final, Literal

from rules.workdays import Pause, WorkCalendar, working_days_left

Light = Literal["green", "yellow", "red"]
NOTICE_LIMIT_DAYS: Final = 5
MAX_EXTENSION_DAYS: Final = 10

# Where the clock stands in each lifecycle state.
AWAITING_NOTICE: Final = frozenset({"received", "prechecked"})
CLOCK_RUNNING: Final = frozenset({"accepted", "accepted_tolerant", "under_review", "paused"})
CLOCK_STOPPED: Final = frozenset({"decided", "closed"})
LIGHT_ORDER: Final[dict[str, int]] = {"red": 0, "yellow": 1, "green": 2}


@dataclass(frozen=True)
class CaseClock:
    """What a case's deadlines depend on."""

    state: str
    received_on: date
    notice_clock_from: date
    accepted_on: date | None
    decided_on: date | None
    pauses: tuple[Pause, ...]
    extension_days: int
    committed_days: int
    legal_days: int
    yellow_threshold: int = 1
    outstanding_due: date | None = None


@dataclass(frozen=True)
class Deadlines:
    notice_due: date | None
    committed_due: date | None
    legal_due: date | None
    working_days_left: int | None
    light: Light | None
    provisional: bool
    deemed_accepted: bool
    paused: bool
    outstanding_due: date | None

    @property
    def urgency(self) -> tuple[int, int]:
        """Sort key, most urgent first: red before yellow before green, then fewest days
        left."""
        left = self.working_days_left if self.working_days_left is not None else 10**6
        return LIGHT_ORDER.get(self.light or "green", 3), left


def _light(left: int, threshold: int) -> Light:
    if left < 0:
        return "red"
    return "yellow" if left <= threshold else "green"


def case_deadlines(clock: CaseClock, calendar: WorkCalendar, as_of: date) -> Deadlines:
    notice_due = committed_due = legal_due = None
    left: int | None = None
    light: Light | None = None
    provisional = deemed = False
    if clock.accepted_on is None and clock.state in AWAITING_NOTICE:
        due = calendar.add_working_days(clock.notice_clock_from, NOTICE_LIMIT_DAYS)
        notice_due = due.day
        left, late = working_days_left(calendar, as_of, notice_due)
        provisional = due.provisional or late
        deemed = left < 0
        light = _light(left, clock.yellow_threshold)
    elif clock.accepted_on is not None and clock.state in CLOCK_RUNNING | CLOCK_STOPPED:
        # A decided case is judged on its decision day: the clock stopped there.
        judged_on = clock.decided_on if clock.state in CLOCK_STOPPED and clock.decided_on \
            else as_of
        extension = min(max(clock.extension_days, 0), MAX_EXTENSION_DAYS)
        committed = calendar.add_working_days(
            clock.accepted_on, clock.committed_days + extension, pauses=clock.pauses,
            as_of=judged_on)
        legal = calendar.add_working_days(
            clock.accepted_on, clock.legal_days + extension, pauses=clock.pauses,
            as_of=judged_on)
        committed_due, legal_due = committed.day, legal.day
        left, late = working_days_left(calendar, judged_on, committed_due,
                                       pauses=clock.pauses)
        provisional = committed.provisional or legal.provisional or late
        light = _light(left, clock.yellow_threshold)
    elif clock.state == "returned":
        light = "green"  # the applicant's turn: no limit of the center's runs
    paused = clock.state == "paused"
    return Deadlines(notice_due, committed_due, legal_due, left, light, provisional, deemed,
                     paused, clock.outstanding_due)
