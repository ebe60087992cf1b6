"""The working-day calendar the center counts limits with: seeded from the schedules shipped
with docintake and the maintained `chinesecalendar` package, loadable by an admin for a new
year, and read as a `rules.workdays.WorkCalendar` for the deadline arithmetic.

Deadlines are computed when they are read, never stored, so loading a year (or a corrected
schedule) recomputes every deadline that depended on it, and a provisional one stops being
provisional.
"""

from __future__ import annotations

import logging
import threading
from datetime import date, timedelta
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING

from rules.workdays import (
    FIXED_STATUTORY_DATES,
    CalendarDay,
    WorkCalendar,
    YearSchedule,
    bundled_schedules,
)
from storage.calendar import CalendarRepository, DayRecord

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from intake.runtime import Runtime

log = logging.getLogger(__name__)

PACKAGE = "chinesecalendar"


def package_schedules() -> list[YearSchedule]:
    """Every year `chinesecalendar` covers, as schedules. Its data says which days are
    holidays, which are working days on a weekend, and which are days off in lieu; a weekday
    off that is not in lieu is a statutory holiday (or one observed after a weekend)."""
    try:
        from chinese_calendar import constants
        release = version(PACKAGE)
    except (ImportError, PackageNotFoundError):
        log.warning("calendar: %s not installed; only bundled schedules", PACKAGE)
        return []
    years = sorted({d.year for d in constants.holidays} | {d.year for d in constants.workdays})
    schedules = []
    for year in years:
        days: list[CalendarDay] = []
        day = date(year, 1, 1)
        while day.year == year:
            holiday = constants.holidays.get(day)
            extra_workday = constants.workdays.get(day)
            if holiday is not None:
                name = _NAMES.get(str(holiday), str(holiday))
                if (day.month, day.day) in FIXED_STATUTORY_DATES:
                    kind = "statutory_holiday"
                elif day.weekday() >= 5:
                    kind = "weekend"
                elif day in constants.in_lieu_days:
                    kind = "adjusted_rest_day"
                else:
                    kind = "statutory_holiday"
                days.append(CalendarDay(day, False, kind, name))
            elif extra_workday is not None and day.weekday() >= 5:
                name = _NAMES.get(str(extra_workday), str(extra_workday))
                days.append(CalendarDay(day, True, "adjusted_working_day", name))
            day += timedelta(days=1)
        schedules.append(YearSchedule(year, tuple(days), f"{PACKAGE} {release}", release))
    return schedules


_NAMES = {
    "New Year's Day": "元旦", "Spring Festival": "春节", "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节", "Dragon Boat Festival": "端午节", "National Day": "国庆节",
    "Mid-autumn Festival": "中秋节",
    "Anti-Fascist 70th Day": "中国人民抗日战争暨世界反法西斯战争胜利70周年纪念日",
}


def store_schedule(session: Session, schedule: YearSchedule, *, loaded_by: str) -> int:
    return CalendarRepository(session).replace_year(
        schedule.year, (DayRecord(d.day, d.working, d.kind, d.name) for d in schedule.days),
        source=schedule.source, version=schedule.version, loaded_by=loaded_by)


def seed_calendar(runtime: Runtime) -> list[int]:
    """Load every year a shipped schedule or the package covers and the table lacks (a year
    an admin loaded is never overwritten). The bundled file wins over the package for its
    year: it names the State Council notice. Returns the years loaded."""
    with runtime.database.session() as session:
        repo = CalendarRepository(session)
        present = {row.year for row in repo.years()}
        chosen: dict[int, YearSchedule] = {}
        for schedule in package_schedules() + bundled_schedules():
            chosen[schedule.year] = schedule
        loaded = []
        for year, schedule in sorted(chosen.items()):
            if year not in present:
                store_schedule(session, schedule, loaded_by="seed")
                loaded.append(year)
    if loaded:
        log.info("calendar: seeded %d years (%d-%d)", len(loaded), loaded[0], loaded[-1])
    return loaded


def load_schedule(runtime: Runtime, schedule: YearSchedule, *, loaded_by: str) -> int:
    """Make `schedule` the year's (an admin loading a new or corrected year)."""
    with runtime.database.session() as session:
        stored = store_schedule(session, schedule, loaded_by=loaded_by)
    log.info("calendar: %d loaded (%s, version %s) by %s", schedule.year, schedule.source,
             schedule.version, loaded_by)
    return stored


def year_schedule(runtime: Runtime, year: int) -> YearSchedule | None:
    """The loaded schedule of `year`, or None when the year is not loaded."""
    with runtime.database.session() as session:
        repo = CalendarRepository(session)
        loaded = next((row for row in repo.years() if row.year == year), None)
        if loaded is None:
            return None
        days = tuple(CalendarDay(r.day, r.working, r.kind, r.name) for r in repo.days(year))
        return YearSchedule(year, days, loaded.source, loaded.version)


class CalendarCache:
    """The calendar read once per process and again only when a year was (re)loaded, which
    any process may do: the check is one small query."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stamp: object = None
        self._calendar = WorkCalendar()

    def get(self, session: Session) -> WorkCalendar:
        repo = CalendarRepository(session)
        stamp = repo.stamp()
        with self._lock:
            if stamp == self._stamp:
                return self._calendar
        calendar = work_calendar(session)
        with self._lock:
            self._stamp, self._calendar = stamp, calendar
        return calendar


def work_calendar(session: Session) -> WorkCalendar:
    repo = CalendarRepository(session)
    years = frozenset(row.year for row in repo.years())
    working = {row.day: row.working for row in repo.days()}
    return WorkCalendar(working, years)
