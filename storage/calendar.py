"""The working-day calendar as data: the loaded years and their exceptional days.

A year is replaced whole (a schedule can change during the year: a new notice replaces the
old one), in one transaction, so a reader never sees half a year.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from storage.models import CalendarDayRow, CalendarYear


@dataclass(frozen=True)
class DayRecord:
    day: date
    working: bool
    kind: str
    name: str


class CalendarRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def replace_year(self, year: int, days: Iterable[DayRecord], *, source: str,
                     version: str, loaded_by: str) -> int:
        """Make `days` the schedule of `year`; returns how many days were stored."""
        rows = [CalendarDayRow(day=d.day, working=d.working, kind=d.kind, name=d.name[:100],
                               source=source[:500], version=version[:100]) for d in days]
        if any(row.day.year != year for row in rows):
            raise ValueError(f"a day outside {year} in its schedule")
        self.session.execute(delete(CalendarDayRow).where(
            CalendarDayRow.day >= date(year, 1, 1), CalendarDayRow.day <= date(year, 12, 31)))
        existing = self.session.get(CalendarYear, year)
        if existing is not None:
            self.session.delete(existing)
            self.session.flush()
        self.session.add(CalendarYear(year=year, source=source[:500], version=version[:100],
                                      loaded_at=datetime.now(UTC), loaded_by=loaded_by[:200]))
        self.session.add_all(rows)
        self.session.flush()
        return len(rows)

    def years(self) -> list[CalendarYear]:
        return list(self.session.scalars(select(CalendarYear).order_by(CalendarYear.year)))

    def days(self, year: int | None = None) -> list[CalendarDayRow]:
        query = select(CalendarDayRow).order_by(CalendarDayRow.day)
        if year is not None:
            query = query.where(CalendarDayRow.day >= date(year, 1, 1),
                                CalendarDayRow.day <= date(year, 12, 31))
        return list(self.session.scalars(query))

    def stamp(self) -> tuple[object, ...]:
        """Changes whenever a year is loaded or replaced (its row's version and load time,
        and the number of days): a cache of the calendar is valid while this is unchanged.
        About 25 small rows, read on each use instead of the whole calendar."""
        years = tuple(self.session.execute(
            select(CalendarYear.year, CalendarYear.version, CalendarYear.loaded_at)
            .order_by(CalendarYear.year)).all())
        return (*years, self.session.scalar(select(func.count()).select_from(CalendarDayRow)))
