"""Working-day arithmetic for statutory time limits (Administrative Licensing Law art. 82:
limits are working days). Pure: the calendar comes in as data, nothing is read here.

China's working days are not Monday–Friday: statutory holidays move and weekends become
working days (调休) by the State Council's yearly notice. A `WorkCalendar` holds those
exceptions for the years that are loaded (`covered_years`). A day of a year that is not
loaded never raises: it is judged from the weekend and the statutory holidays that fall on
fixed Gregorian dates (`FIXED_STATUTORY_DATES`), and any result that depended on such a day
is marked `provisional`, to be recomputed once the year is loaded.

Convention (written down because offices differ): the day of the triggering event is not
counted; a limit of N working days ends on the Nth working day after that day (a limit of 0
ends on the day itself). Days inside a pause (art. 45: hearing, inspection, expert review)
are not counted: a pause from day P to day R removes the days after P up to and including
R, so a pause begun and ended on the same day costs nothing.

Schedules of a year are data files (see `parse_schedule`) or come from a maintained package;
each listed day carries its `kind`:

* `statutory_holiday` — a day of rest fixed by the national holiday regulations (元旦, 春节,
  清明, 劳动节, 端午, 中秋, 国庆 days, including a holiday day observed on a weekday
  because it fell on a weekend)
* `adjusted_rest_day` — a weekday made a rest day by the schedule (调休)
* `adjusted_working_day` — a Saturday or Sunday made a working day (调休上班)
* `weekend` — an ordinary Saturday or Sunday inside a holiday period (listed for its name)
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cached_property
from pathlib import Path
from typing import Any, Final, Literal

import yaml

DayKind = Literal["statutory_holiday", "adjusted_rest_day", "adjusted_working_day", "weekend"]
DAY_KINDS: Final[tuple[str, ...]] = ("statutory_holiday", "adjusted_rest_day",
                                     "adjusted_working_day", "weekend")

# Statutory holidays on fixed Gregorian dates (全国年节及纪念日放假办法, as amended 2024):
# the lunar ones (春节, 清明, 端午, 中秋) move and are only known from a loaded schedule.
FIXED_STATUTORY_DATES: Final[dict[tuple[int, int], str]] = {
    (1, 1): "元旦", (5, 1): "劳动节", (5, 2): "劳动节",
    (10, 1): "国庆节", (10, 2): "国庆节", (10, 3): "国庆节",
}

# Guard against a limit that can never be reached (a pause never resumed is bounded by the
# as-of date, so this only stops a corrupted input from looping forever).
_MAX_SCAN_DAYS: Final = 366 * 20


class ScheduleError(ValueError):
    """A schedule file is wrong; the message says where."""


@dataclass(frozen=True)
class CalendarDay:
    day: date
    working: bool
    kind: str
    name: str = ""


@dataclass(frozen=True)
class YearSchedule:
    """One year's exceptions to the Monday–Friday week, with where they come from."""

    year: int
    days: tuple[CalendarDay, ...]
    source: str
    version: str


def _weekend(day: date) -> bool:
    return day.weekday() >= 5


def default_working(day: date) -> bool:
    """Whether `day` is a working day by the weekend and the fixed statutory dates alone."""
    return not _weekend(day) and (day.month, day.day) not in FIXED_STATUTORY_DATES


@dataclass(frozen=True)
class Pause:
    """A stopped clock: the days after `start` up to and including `end` are not counted;
    `end` None means not yet resumed (counted up to the as-of date)."""

    start: date
    end: date | None = None

    def covers(self, day: date, as_of: date) -> bool:
        end = self.end if self.end is not None else as_of
        return self.start < day <= end


@dataclass(frozen=True)
class Reckoning:
    """A computed date and whether it rests on a year whose schedule is not loaded."""

    day: date
    provisional: bool


@dataclass(frozen=True)
class WorkCalendar:
    """Working days: `working` holds the loaded years' days whose status differs from the
    plain weekend rule (or that are named), `covered_years` the years that are loaded."""

    working: Mapping[date, bool] = field(default_factory=dict)
    covered_years: frozenset[int] = frozenset()

    @classmethod
    def of(cls, schedules: Iterable[YearSchedule]) -> WorkCalendar:
        working: dict[date, bool] = {}
        years: set[int] = set()
        for schedule in schedules:
            years.add(schedule.year)
            working.update({d.day: d.working for d in schedule.days})
        return cls(working, frozenset(years))

    def provisional(self, day: date) -> bool:
        return day.year not in self.covered_years

    def is_working(self, day: date) -> bool:
        if day.year in self.covered_years:
            return self.working.get(day, not _weekend(day))
        return default_working(day)

    def count_working(self, start: date, end: date) -> int:
        """Working days after `start` up to and including `end` (0 when `end` <= `start`),
        in constant time plus a binary search: supervision counts them for every open case
        on every look, over spans of months for a case long overdue."""
        if end <= start:
            return 0
        first, last = start.toordinal(), end.toordinal()
        count = _weekdays_through(last) - _weekdays_through(first)
        ordinals, running = self._exceptions
        count += _running_at(ordinals, running, last) - _running_at(ordinals, running, first)
        for year in range(start.year, end.year + 1):
            if year in self.covered_years:
                continue
            for month, day_of_month in FIXED_STATUTORY_DATES:
                day = date(year, month, day_of_month)
                if start < day <= end and not _weekend(day):
                    count -= 1
        return count

    @cached_property
    def _exceptions(self) -> tuple[list[int], list[int]]:
        """The loaded days whose status differs from the weekend rule, as sorted ordinals
        with the running sum of the differences (+1 a working weekend day, -1 a weekday
        off)."""
        changes = sorted(
            (day.toordinal(), (1 if working else 0) - (0 if _weekend(day) else 1))
            for day, working in self.working.items() if day.year in self.covered_years)
        ordinals, running, total = [], [], 0
        for ordinal, change in changes:
            if change:
                total += change
                ordinals.append(ordinal)
                running.append(total)
        return ordinals, running

    def add_working_days(self, start: date, count: int, *, pauses: Sequence[Pause] = (),
                         as_of: date | None = None) -> Reckoning:
        """The `count`th working day after `start` (the start day itself not counted),
        skipping paused days; `as_of` bounds a pause that has not ended."""
        if count < 0:
            raise ValueError("a limit cannot be negative")
        bound = as_of or start
        provisional = self.provisional(start)
        day, counted = start, 0
        for _ in range(_MAX_SCAN_DAYS):
            if counted >= count:
                return Reckoning(day, provisional)
            day += timedelta(days=1)
            provisional = provisional or self.provisional(day)
            if any(p.covers(day, bound) for p in pauses):
                continue
            if self.is_working(day):
                counted += 1
        raise ValueError("limit not reached within twenty years")


def _weekdays_through(ordinal: int) -> int:
    """Mondays to Fridays from 0001-01-01 (ordinal 1, a Monday) through `ordinal`."""
    weeks, rest = divmod(ordinal, 7)
    return weeks * 5 + min(rest, 5)


def _running_at(ordinals: list[int], running: list[int], ordinal: int) -> int:
    index = bisect_right(ordinals, ordinal)
    return running[index - 1] if index else 0


def working_days_between(calendar: WorkCalendar, start: date, end: date, *,
                         pauses: Sequence[Pause] = (), as_of: date | None = None
                         ) -> tuple[int, bool]:
    """Working days after `start` up to and including `end` (not paused), and whether any
    day looked at is in a year that is not loaded. 0 when `end` <= `start`."""
    bound = as_of or end
    provisional = any(year not in calendar.covered_years
                      for year in range(start.year, max(start, end).year + 1))
    count = calendar.count_working(start, end)
    for pause_start, pause_end in _merged(pauses, bound):
        low, high = max(start, pause_start), min(end, pause_end)
        count -= calendar.count_working(low, high)
    return count, provisional


def _merged(pauses: Sequence[Pause], bound: date) -> list[tuple[date, date]]:
    """Pauses as (start, end) spans, overlapping ones merged, so no day is taken off
    twice."""
    spans = sorted((p.start, p.end if p.end is not None else bound) for p in pauses)
    merged: list[tuple[date, date]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def working_days_left(calendar: WorkCalendar, as_of: date, due: date, *,
                      pauses: Sequence[Pause] = ()) -> tuple[int, bool]:
    """Working days left from `as_of` (not counted) to `due` (counted): 0 on the due day,
    negative once past it (at least -1 however many rest days follow the due day), and
    whether the figure is provisional. Paused days are not counted either way."""
    if as_of <= due:
        return working_days_between(calendar, as_of, due, pauses=pauses, as_of=as_of)
    late, provisional = working_days_between(calendar, due, as_of, pauses=pauses, as_of=as_of)
    return -max(1, late), provisional


# -- schedule files ------------------------------------------------------------------------
def parse_schedule(data: Mapping[str, Any], *, where: str = "schedule") -> YearSchedule:
    """A year's schedule from a parsed data file::

        year: 2026
        source: 国务院办公厅关于2026年部分节假日安排的通知（国办发明电〔2025〕7号）
        version: "2025-11-04"
        days:
          - {date: 2026-01-01, kind: statutory_holiday, name: 元旦}
          - {date: 2026-01-04, kind: adjusted_working_day, name: 元旦}

    `working` follows from `kind` (only `adjusted_working_day` is a working day) and may be
    given to be checked. Every mistake is a `ScheduleError` naming the entry."""
    if not isinstance(data, Mapping):
        raise ScheduleError(f"{where}: expected a mapping with year, source, version, days")
    unknown = set(data) - {"year", "source", "version", "days", "region"}
    if unknown:
        raise ScheduleError(f"{where}: unknown key {sorted(unknown)[0]!r}")
    year = data.get("year")
    if not isinstance(year, int) or not 1949 < year < 2200:
        raise ScheduleError(f"{where}: year must be a four-digit year")
    source, version = data.get("source"), data.get("version")
    if not isinstance(source, str) or not source.strip():
        raise ScheduleError(f"{where}: source (the document the schedule comes from) is "
                            "required")
    if not isinstance(version, str | int | date) or not str(version).strip():
        raise ScheduleError(f"{where}: version is required")
    entries = data.get("days")
    if not isinstance(entries, list):
        raise ScheduleError(f"{where}: days must be a list")
    days: dict[date, CalendarDay] = {}
    for index, entry in enumerate(entries):
        at = f"{where}: days[{index}]"
        if not isinstance(entry, Mapping):
            raise ScheduleError(f"{at}: expected a mapping")
        day = _date(entry.get("date"), at)
        kind = entry.get("kind")
        if kind not in DAY_KINDS:
            raise ScheduleError(f"{at}: kind must be one of {', '.join(DAY_KINDS)}")
        working = kind == "adjusted_working_day"
        if "working" in entry and entry["working"] is not working:
            raise ScheduleError(f"{at}: working={entry['working']} contradicts kind {kind}")
        if day.year != year:
            raise ScheduleError(f"{at}: {day} is not in {year}")
        if kind in ("adjusted_working_day", "weekend") and not _weekend(day):
            raise ScheduleError(f"{at}: {day} is a weekday, not a weekend day ({kind})")
        if kind == "adjusted_rest_day" and _weekend(day):
            raise ScheduleError(f"{at}: {day} is already a weekend day (adjusted_rest_day)")
        if day in days:
            raise ScheduleError(f"{at}: {day} is listed twice")
        name = entry.get("name", "")
        days[day] = CalendarDay(day, working, str(kind), str(name or ""))
    return YearSchedule(year, tuple(sorted(days.values(), key=lambda d: d.day)),
                        source.strip(), str(version).strip())


def _date(value: Any, at: str) -> date:
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise ScheduleError(f"{at}: date must be YYYY-MM-DD")


def schedule_document(schedule: YearSchedule) -> dict[str, Any]:
    """The data-file form of a schedule (the inverse of `parse_schedule`)."""
    return {
        "year": schedule.year, "source": schedule.source, "version": schedule.version,
        "days": [{"date": d.day.isoformat(), "kind": d.kind, "working": d.working,
                  "name": d.name} for d in schedule.days],
    }


BUNDLED_DIR: Final = Path(__file__).parent / "calendars"


def load_schedule_file(path: Path) -> YearSchedule:
    """A schedule from a YAML (or JSON) file; a `ScheduleError` names the file."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ScheduleError(f"{path}: cannot read: {exc}") from exc
    return parse_schedule(data, where=str(path))


def bundled_schedules() -> list[YearSchedule]:
    """The schedules shipped with docintake, each with its source document: years for
    which the maintained package's data is not relied on alone."""
    return [load_schedule_file(p) for p in sorted(BUNDLED_DIR.glob("*.yaml"))]
