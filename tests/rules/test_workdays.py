"""Working-day arithmetic and the schedules it counts with: the 2026 State Council schedule
shipped in the repository checked against the official notice's dates and against two
independent packages, and the package-seeded years cross-checked against `holidays`."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import holidays
import pytest

from intake.calendar import package_schedules
from rules.deadlines import CaseClock, case_deadlines
from rules.workdays import (
    Pause,
    ScheduleError,
    WorkCalendar,
    bundled_schedules,
    load_schedule_file,
    parse_schedule,
    working_days_left,
)

D = date


def _schedule_2026():
    (schedule,) = [s for s in bundled_schedules() if s.year == 2026]
    return schedule


def _days(start: date, end: date) -> list[date]:
    return [start + timedelta(n) for n in range((end - start).days + 1)]


# The notice 国办发明电〔2025〕7号 (2025-11-04), as written in the issue and the notice.
OFF_2026 = [
    *_days(D(2026, 1, 1), D(2026, 1, 3)), *_days(D(2026, 2, 15), D(2026, 2, 23)),
    *_days(D(2026, 4, 4), D(2026, 4, 6)), *_days(D(2026, 5, 1), D(2026, 5, 5)),
    *_days(D(2026, 6, 19), D(2026, 6, 21)), *_days(D(2026, 9, 25), D(2026, 9, 27)),
    *_days(D(2026, 10, 1), D(2026, 10, 7)),
]
WORKING_WEEKENDS_2026 = [D(2026, 1, 4), D(2026, 2, 14), D(2026, 2, 28), D(2026, 5, 9),
                         D(2026, 9, 20), D(2026, 10, 10)]


def test_2026_schedule_is_the_state_council_notice() -> None:
    schedule = _schedule_2026()
    assert "国办发明电〔2025〕7号" in schedule.source
    assert schedule.version == "2025-11-04"
    calendar = WorkCalendar.of([schedule])
    every_day = _days(D(2026, 1, 1), D(2026, 12, 31))
    off = {d for d in every_day if not calendar.is_working(d)}
    weekends = {d for d in every_day if d.weekday() >= 5}
    assert off == (weekends - set(WORKING_WEEKENDS_2026)) | set(OFF_2026)
    for day in WORKING_WEEKENDS_2026:
        assert day.weekday() >= 5 and calendar.is_working(day)
    assert len(off - weekends) == 19  # weekdays off in 2026: 13 statutory days and swaps


def test_2026_schedule_agrees_with_chinesecalendar_and_holidays() -> None:
    import chinese_calendar

    calendar = WorkCalendar.of([_schedule_2026()])
    cn = holidays.country_holidays("CN", years=2026)
    for day in _days(D(2026, 1, 1), D(2026, 12, 31)):
        by_holidays = day not in cn and (day.weekday() < 5 or day in cn.weekend_workdays)
        assert calendar.is_working(day) == chinese_calendar.is_workday(day) == by_holidays, day


def test_2026_statutory_days_are_the_thirteen_of_the_regulations() -> None:
    statutory = [d.day for d in _schedule_2026().days if d.kind == "statutory_holiday"]
    # 元旦1, 春节4 (除夕 to 初三), 清明1, 劳动节2, 端午1, 中秋1, 国庆3
    assert len(statutory) == 13
    assert D(2026, 2, 16) in statutory and D(2026, 2, 20) not in statutory


def test_package_years_agree_with_holidays() -> None:
    schedules = package_schedules()
    years = [s.year for s in schedules]
    assert years[0] <= 2010 and 2026 in years
    # 2005-12-31: holidays has it as a working Saturday, chinesecalendar as a rest day.
    # The one day the two packages disagree on; not judged here (2005 matters to no open
    # case), and listed so that any new disagreement fails.
    known_disagreements = {D(2005, 12, 31)}
    for schedule in schedules:
        calendar = WorkCalendar.of([schedule])
        cn = holidays.country_holidays("CN", years=schedule.year)
        for day in _days(D(schedule.year, 1, 1), D(schedule.year, 12, 31)):
            if day in known_disagreements:
                continue
            by_holidays = day not in cn and (day.weekday() < 5 or day in cn.weekend_workdays)
            assert calendar.is_working(day) == by_holidays, day


def test_the_event_day_is_not_counted() -> None:
    calendar = WorkCalendar.of([_schedule_2026()])
    # Monday 2026-03-02: five working days later is Monday 2026-03-09.
    assert calendar.add_working_days(D(2026, 3, 2), 5).day == D(2026, 3, 9)
    assert calendar.add_working_days(D(2026, 3, 2), 1).day == D(2026, 3, 3)
    assert calendar.add_working_days(D(2026, 3, 2), 0).day == D(2026, 3, 2)
    # Received on Saturday: Monday is the first working day.
    assert calendar.add_working_days(D(2026, 3, 7), 1).day == D(2026, 3, 9)


def test_limits_around_2026_holidays() -> None:
    calendar = WorkCalendar.of([_schedule_2026()])
    # Received Thu 2026-09-24: Fri 25 (中秋) and the weekend off, Mon 28, Tue 29, Wed 30
    # work, 1–7 Oct off, Thu 8, Fri 9 work -> the 5th working day is 9 Oct.
    assert calendar.add_working_days(D(2026, 9, 24), 5).day == D(2026, 10, 9)
    # ... and Sat 10 Oct is an adjusted working day: the 6th.
    assert calendar.add_working_days(D(2026, 9, 24), 6).day == D(2026, 10, 10)
    # Received Fri 2026-02-13: Sat 14 is a working day, then 24, 25, 26, 27 Feb.
    assert calendar.add_working_days(D(2026, 2, 13), 5).day == D(2026, 2, 27)
    # Received Thu 2026-04-30: 1–5 May off, Wed 6 .. Fri 8, Sat 9 (working), Mon 11.
    assert calendar.add_working_days(D(2026, 4, 30), 5).day == D(2026, 5, 11)
    # Received Wed 2025-12-31 (2025 not loaded here): 2026-01-04 (Sun) works.
    result = calendar.add_working_days(D(2025, 12, 31), 1)
    assert result.day == D(2026, 1, 4) and result.provisional


def test_a_year_without_data_is_provisional_and_never_raises() -> None:
    calendar = WorkCalendar.of([_schedule_2026()])
    result = calendar.add_working_days(D(2027, 9, 29), 5)
    # 2027-10-01..03 are fixed statutory days (Fri, Sat, Sun): Thu 30 Sep, Mon 4 .. Thu 7.
    assert result == type(result)(D(2027, 10, 7), True)
    assert not calendar.add_working_days(D(2026, 3, 2), 5).provisional
    assert not calendar.is_working(D(2027, 5, 1)) and calendar.is_working(D(2027, 5, 3))


def test_pauses_are_not_counted() -> None:
    calendar = WorkCalendar.of([_schedule_2026()])
    # Accepted Mon 2026-03-02, 10 working days: Mon 16 March.
    assert calendar.add_working_days(D(2026, 3, 2), 10).day == D(2026, 3, 16)
    # Paused Wed 4 (counts) to Mon 9 (does not count): Thu 5, Fri 6, Mon 9 are skipped.
    pauses = [Pause(D(2026, 3, 4), D(2026, 3, 9))]
    assert calendar.add_working_days(D(2026, 3, 2), 10, pauses=pauses).day == D(2026, 3, 19)
    # An open pause runs to the as-of date.
    open_pause = [Pause(D(2026, 3, 4))]
    assert calendar.add_working_days(D(2026, 3, 2), 10, pauses=open_pause,
                                     as_of=D(2026, 3, 9)).day == D(2026, 3, 19)
    # Paused and resumed the same day: nothing lost.
    same_day = [Pause(D(2026, 3, 4), D(2026, 3, 4))]
    assert calendar.add_working_days(D(2026, 3, 2), 10, pauses=same_day).day == D(2026, 3, 16)


def test_working_days_left() -> None:
    calendar = WorkCalendar.of([_schedule_2026()])
    due = D(2026, 10, 9)
    assert working_days_left(calendar, D(2026, 9, 30), due) == (2, False)  # 8, 9 Oct
    assert working_days_left(calendar, due, due) == (0, False)
    assert working_days_left(calendar, D(2026, 10, 10), due) == (-1, False)
    assert working_days_left(calendar, D(2026, 10, 11), due) == (-1, False)  # Sunday
    assert working_days_left(calendar, D(2026, 10, 13), due) == (-3, False)  # 10, 12, 13


def _clock(**changes: object) -> CaseClock:
    base = dict(state="accepted", received_on=D(2026, 9, 21),
                notice_clock_from=D(2026, 9, 21), accepted_on=D(2026, 9, 22),
                decided_on=None, pauses=(), extension_days=0, committed_days=3,
                legal_days=20, yellow_threshold=1)
    base.update(changes)
    return CaseClock(**base)  # type: ignore[arg-type]


def test_lights_of_an_accepted_case() -> None:
    calendar = WorkCalendar.of([_schedule_2026()])
    # Accepted Tue 22 Sep, 3 working days: Wed 23, Thu 24, Mon 28 (25–27 中秋).
    on = {day: case_deadlines(_clock(), calendar, day) for day in
          (D(2026, 9, 23), D(2026, 9, 24), D(2026, 9, 28), D(2026, 9, 29))}
    assert {d.committed_due for d in on.values()} == {D(2026, 9, 28)}
    assert on[D(2026, 9, 23)].light == "green" and on[D(2026, 9, 23)].working_days_left == 2
    assert on[D(2026, 9, 24)].light == "yellow" and on[D(2026, 9, 24)].working_days_left == 1
    assert on[D(2026, 9, 28)].light == "yellow" and on[D(2026, 9, 28)].working_days_left == 0
    assert on[D(2026, 9, 29)].light == "red" and on[D(2026, 9, 29)].working_days_left == -1
    # 20 legal days from 22 Sep: 23,24,28,29,30, 8,9,10(Sat),12..16, 19..23, 26, 27.
    assert on[D(2026, 9, 23)].legal_due == D(2026, 10, 27)


def test_extension_and_pause_shift_both_limits() -> None:
    calendar = WorkCalendar.of([_schedule_2026()])
    extended = case_deadlines(_clock(extension_days=2), calendar, D(2026, 9, 23))
    assert extended.committed_due == D(2026, 9, 30)
    assert extended.legal_due == D(2026, 10, 29)
    paused = case_deadlines(_clock(state="paused", pauses=(Pause(D(2026, 9, 23)),)), calendar,
                            D(2026, 9, 29))
    # 23 Sep counts; 24, 28, 29 are paused: 30 Sep, 8 Oct, 9 Oct -> but only 2 more needed.
    assert paused.committed_due == D(2026, 10, 8) and paused.paused
    assert paused.working_days_left == 2  # frozen while paused


def test_notice_due_and_deemed_acceptance() -> None:
    calendar = WorkCalendar.of([_schedule_2026()])
    clock = _clock(state="prechecked", received_on=D(2026, 9, 24),
                   notice_clock_from=D(2026, 9, 24), accepted_on=None)
    due = case_deadlines(clock, calendar, D(2026, 10, 9))
    assert due.notice_due == D(2026, 10, 9) and due.light == "yellow" and not due.deemed_accepted
    late = case_deadlines(clock, calendar, D(2026, 10, 10))
    assert late.light == "red" and late.deemed_accepted and late.working_days_left == -1


def test_schedule_files_are_checked() -> None:
    good = {"year": 2027, "source": "test notice", "version": "1",
            "days": [{"date": "2027-01-01", "kind": "statutory_holiday", "name": "元旦"}]}
    assert parse_schedule(good).days[0].working is False
    bad_cases = [
        ({"days": [{"date": "2027-01-01", "kind": "holiday"}]}, "kind must be"),
        ({"days": [{"date": "2028-01-01", "kind": "statutory_holiday"}]}, "not in 2027"),
        ({"days": [{"date": "2027-01-04", "kind": "adjusted_working_day"}]}, "weekday"),
        ({"days": [{"date": "2027-01-02", "kind": "adjusted_rest_day"}]}, "already a weekend"),
        ({"days": [{"date": "2027-01-01", "kind": "statutory_holiday", "working": True}]},
         "contradicts"),
        ({"source": ""}, "source"),
        ({"days": [{"date": "01/01/2027", "kind": "statutory_holiday"}]}, "YYYY-MM-DD"),
    ]
    for change, expected in bad_cases:
        with pytest.raises(ScheduleError, match=expected):
            parse_schedule({**good, **change})


def test_a_schedule_file_round_trips(tmp_path: Path) -> None:
    import yaml

    from rules.workdays import schedule_document

    path = tmp_path / "2026.yaml"
    path.write_text(yaml.safe_dump(schedule_document(_schedule_2026()), allow_unicode=True),
                    encoding="utf-8")
    assert load_schedule_file(path) == _schedule_2026()
    (tmp_path / "broken.yaml").write_text("year: [", encoding="utf-8")
    with pytest.raises(ScheduleError, match=r"broken\.yaml"):
        load_schedule_file(tmp_path / "broken.yaml")


def _walked(calendar: WorkCalendar, start: date, end: date, pauses: list[Pause],
            bound: date) -> int:
    """The definition, one day at a time."""
    count, day = 0, start
    while day < end:
        day += timedelta(days=1)
        if not any(p.covers(day, bound) for p in pauses) and calendar.is_working(day):
            count += 1
    return count


def test_counting_agrees_with_walking_day_by_day() -> None:
    import random

    from rules.workdays import working_days_between

    rng = random.Random(13)
    calendar = WorkCalendar.of([s for s in package_schedules() if s.year >= 2024]
                               + [_schedule_2026()])
    for _ in range(400):
        start = D(2023, 6, 1) + timedelta(rng.randrange(1400))  # into 2027, not loaded
        end = start + timedelta(rng.randrange(-5, 400))
        pauses = []
        for _ in range(rng.randrange(3)):
            pause_start = start + timedelta(rng.randrange(-10, 200))
            pause_end = pause_start + timedelta(rng.randrange(0, 40))
            pauses.append(Pause(pause_start, None if rng.random() < 0.2 else pause_end))
        bound = end + timedelta(rng.randrange(0, 30))
        count, provisional = working_days_between(calendar, start, end, pauses=pauses,
                                                  as_of=bound)
        assert count == _walked(calendar, start, end, pauses, bound), (start, end, pauses)
        assert provisional == any(y > 2026 or y < 2024
                                  for y in range(start.year, max(start, end).year + 1))
