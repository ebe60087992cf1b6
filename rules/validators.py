"""Validation of the identifiers found on materials: the 18-digit resident ID number
(GB 11643, `stdnum.cn.ric`) and the unified social credit code (GB 32100, `stdnum.cn.uscc`).

Before a check digit is declared bad we try the OCR repairs in `normalize.DIGIT_REPAIRS`
(letters read in place of digits, only in positions that must be digits), and accept a
repaired value only if it then validates: a repair never turns an invalid number into a
different valid-looking one unless the check digit agrees.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from stdnum.cn import ric, uscc
from stdnum.exceptions import ValidationError

from rules.normalize import DIGIT_REPAIRS, compact, repair_digits


@dataclass(frozen=True)
class Validation:
    """The outcome of validating one identifier as read by OCR."""

    value: str  # canonical form (repaired if a repair made it valid)
    valid: bool
    code: str = ""  # "", "format", "length", "check_digit", "birth_date"
    problem: str = ""  # plain Chinese, empty when valid
    repaired: bool = False


_ID_CHARS = re.compile(r"[^0-9A-Za-z|×]")


def _id_valid(number: str) -> tuple[bool, str, str]:
    if len(number) != 18:
        return False, "length", f"号码应为18位，识别到{len(number)}位"
    if not number[:17].isdigit() or not (number[17].isdigit() or number[17] == "X"):
        return False, "format", "号码含有非数字字符"
    if ric.calc_check_digit(number) != number[17]:
        return False, "check_digit", "校验位错误"
    try:
        born = ric.get_birth_date(number)
    except ValidationError:
        return False, "birth_date", "号码中的出生日期无效"
    if not 1900 <= born.year <= 2100:
        # "91210102870104313B" repaired to digits is no resident born in the year 287.
        return False, "birth_date", "号码中的出生日期无效"
    # The region code is not checked: new county codes appear every year and stdnum's
    # table lags behind, so an unknown region is not evidence of a bad number.
    return True, "", ""


def validate_id_number(raw: str) -> Validation:
    """Validate a resident ID number, repairing letters OCR put in digit positions."""
    text = _ID_CHARS.sub("", compact(raw).replace("×", "X"))
    if len(text) > 18:
        # A label or a neighbouring value glued on: look for an 18-character run.
        m = re.search(r"[0-9OoDQIl|iZzSsB]{17}[0-9XxOoDQIl|iZzSsB]", text)
        if m:
            text = m.group(0)
    plain = text.upper()
    ok, code, problem = _id_valid(plain)
    if ok:
        return Validation(plain, True)
    if len(text) == 18:
        last = text[17]
        last = "X" if last in "xX" else DIGIT_REPAIRS.get(last, last)
        fixed = repair_digits(text[:17]) + last
        if fixed != plain:
            ok2, _, _ = _id_valid(fixed)
            if ok2:
                return Validation(fixed, True, repaired=True)
    return Validation(plain, False, code, problem)


_USCC_ALPHABET = set("0123456789ABCDEFGHJKLMNPQRTUWXY")
# Letters that cannot occur anywhere in a credit code and the digit OCR mistook them for.
_USCC_ILLEGAL = {"O": "0", "I": "1", "Z": "2", "S": "5"}


def _uscc_valid(code: str) -> tuple[bool, str, str]:
    if len(code) != 18:
        return False, "length", f"代码应为18位，识别到{len(code)}位"
    if not code[:8].isdigit() or any(c not in _USCC_ALPHABET for c in code[8:]):
        return False, "format", "代码含有不允许的字符"
    if uscc.calc_check_digit(code[:17]) != code[17]:
        return False, "check_digit", "校验码错误"
    return True, "", ""


def validate_credit_code(raw: str) -> Validation:
    """Validate a unified social credit code, repairing letters in digit positions (the
    first eight) and letters that are never part of a code (I, O, S, Z)."""
    text = re.sub(r"[^0-9A-Za-z|]", "", compact(raw))
    if len(text) > 18:
        m = re.search(r"(?<![0-9A-Za-z])[0-9A-Za-z]{18}", text) or re.search(
            r"[0-9OoIlZSB]{8}[0-9A-Za-z]{10}", text
        )
        if m:
            text = m.group(0)
    plain = text.upper()
    ok, code, problem = _uscc_valid(plain)
    if ok:
        return Validation(plain, True)
    if len(text) == 18:
        head = repair_digits(text[:8]).upper()
        tail = "".join(_USCC_ILLEGAL.get(c, c) for c in text[8:].upper().replace("|", "1"))
        fixed = head + tail
        if fixed != plain and _uscc_valid(fixed)[0]:
            return Validation(fixed, True, repaired=True)
    return Validation(plain, False, code, problem)


def is_valid_id_number(raw: str) -> bool:
    return validate_id_number(raw).valid


def is_valid_credit_code(raw: str) -> bool:
    return validate_credit_code(raw).valid
