"""Identifier validation with OCR repairs, and normalisation of dates and widths."""

from __future__ import annotations

from datetime import date

import pytest

from rules.normalize import (
    clean_value,
    compact,
    is_empty_value,
    parse_date,
    parse_range,
    same_text,
    to_halfwidth,
)
from rules.validators import validate_credit_code, validate_id_number


def test_valid_id_numbers_pass_and_lowercase_x_is_uppercased() -> None:
    assert validate_id_number("350102198506121235").valid
    v = validate_id_number("11010519491231002x")
    assert v.valid and v.value == "11010519491231002X" and not v.repaired


def test_full_width_and_spaced_id_is_normalised() -> None:
    v = validate_id_number("３５０１０２ １９８５０６１２ １２３５")
    assert v.valid and v.value == "350102198506121235"


@pytest.mark.parametrize("misread", [
    "3501O2198506121235",  # O for 0
    "35O1O2198506121235",
    "350102l98506121235",  # l for 1
    "350102198506I2I235",  # I for 1
    "35010219850612123S",  # S for 5 in the last position
    "350102198506121Z35",  # Z for 2
    "35010219B506121235",  # B for 8
])
def test_letters_read_for_digits_are_repaired(misread: str) -> None:
    v = validate_id_number(misread)
    assert v.valid and v.repaired
    assert v.value == "350102198506121235"


def test_a_repair_is_not_accepted_unless_the_check_digit_agrees() -> None:
    v = validate_id_number("3501O2198506121236")
    assert not v.valid
    assert v.value == "3501O2198506121236"  # the value as read, not a guess


def test_bad_check_digit_is_reported_as_such() -> None:
    v = validate_id_number("350102198506121236")
    assert not v.valid
    assert v.code == "check_digit"
    assert "校验" in v.problem


def test_wrong_length_and_bad_birth_date() -> None:
    assert validate_id_number("35010219850612123").code == "length"
    # Correct check digit for an impossible birth date (month 13).
    from stdnum.cn import ric
    body = "35010219851312123"
    number = body + ric.calc_check_digit(body + "0")
    assert validate_id_number(number).code == "birth_date"


def test_credit_codes() -> None:
    assert validate_credit_code("91350102MA31ABCD7T").valid
    assert validate_credit_code("91350102ma31abcd7t").value == "91350102MA31ABCD7T"
    bad = validate_credit_code("91350102MA31ABCD7U")
    assert not bad.valid and bad.code == "check_digit"
    repaired = validate_credit_code("9135O1O2MA31ABCD7T")
    assert repaired.valid and repaired.repaired and repaired.value == "91350102MA31ABCD7T"
    assert not validate_credit_code("913501").valid


@pytest.mark.parametrize(("text", "expected"), [
    ("2024年1月2日", date(2024, 1, 2)),
    ("2024年01月02日", date(2024, 1, 2)),
    ("2024.01.02", date(2024, 1, 2)),
    ("2024-1-2", date(2024, 1, 2)),
    ("2024/1/2", date(2024, 1, 2)),
    ("20240102", date(2024, 1, 2)),
    ("２０２４年１月２日", date(2024, 1, 2)),
    ("二〇二四年一月十二日", date(2024, 1, 12)),
    ("2O24年1月2日", date(2024, 1, 2)),
    ("申请日期：2024 年 3 月 1 日", date(2024, 3, 1)),
])
def test_dates_are_parsed_to_iso(text: str, expected: date) -> None:
    assert parse_date(text) == expected


def test_impossible_dates_are_not_dates() -> None:
    assert parse_date("2024年2月30日") is None
    assert parse_date("350102198506121235") is None  # an ID number is not a date


def test_ranges_and_open_ends() -> None:
    start, end = parse_range("2015.03.01-2035.03.01")
    assert start and end and start.value == date(2015, 3, 1) and end.value == date(2035, 3, 1)
    start, end = parse_range("2010.01.01-长期")
    assert start and start.value == date(2010, 1, 1)
    assert end and end.open_ended and end.value is None
    start, end = parse_range("自2024年1月1日起至2026年12月31日止")
    assert start and end and end.value == date(2026, 12, 31)
    start, end = parse_range("长期")
    assert start is None and end and end.open_ended
    start, end = parse_range("至2040年12月31日")
    assert start is None and end and end.value == date(2040, 12, 31)


def test_width_and_empty_values() -> None:
    assert to_halfwidth("ＡＢＣ１２３（）：") == "ABC123():"
    assert compact(" 姓 名 张 三 ") == "姓名张三"
    assert is_empty_value("无") and is_empty_value(" / ") and not is_empty_value("李四")
    assert clean_value("：有限责任公司(自然人投资或控股)") == "有限责任公司(自然人投资或控股)"
    assert clean_value("张三）") == "张三"
    assert same_text("张 三", "张三") and not same_text("张三", "张山")
