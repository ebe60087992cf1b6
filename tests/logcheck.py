"""Finding full ID numbers in log text, independently of `intake.logs`: a check-digit-valid
resident ID (18 characters, or 15 digits with a valid birth date) or credit code, after
NFKC normalisation and percent-decoding, in groups separated by any one non-alphanumeric
character. Used by the session-wide log capture in tests/conftest.py and by the masking
tests."""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from urllib.parse import unquote_plus

from stdnum.cn import ric, uscc

_GROUPED_18 = re.compile(r"(?<!\d)\d(?:[^0-9A-Za-z*]?\d){16}[^0-9A-Za-z*]?[\dXx](?!\d)")
_GROUPED_15 = re.compile(r"(?<!\d)\d(?:[^0-9A-Za-z*]?\d){14}(?!\d)")
# A credit code is made of ASCII letters and digits, so only a whole alphanumeric word can
# be one (18 zeros inside a longer run are not).
_CREDIT = re.compile(r"(?<![0-9A-Za-z])[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}"
                     r"(?![0-9A-Za-z])")


def _first_generation(digits: str) -> bool:
    try:
        date(1900 + int(digits[6:8]), int(digits[8:10]), int(digits[10:12]))
    except ValueError:
        return False
    return digits[:2] in {"11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33",
                          "34", "35", "36", "37", "41", "42", "43", "44", "45", "46", "50",
                          "51", "52", "53", "54", "61", "62", "63", "64", "65"}


def full_identifiers(text: str) -> set[str]:
    """Every full ID number or credit code written anywhere in `text`."""
    views = {text, unicodedata.normalize("NFKC", text)}
    for view in list(views):
        decoded = view
        for _ in range(2):
            decoded = unquote_plus(decoded)
            views.add(decoded)
    found: set[str] = set()
    for view in views:
        for match in _GROUPED_18.finditer(view):
            digits = re.sub(r"[^0-9Xx]", "", match.group(0)).upper()
            if ric.is_valid(digits):
                found.add(digits)
        for match in _GROUPED_15.finditer(view):
            digits = re.sub(r"\D", "", match.group(0))
            if _first_generation(digits):
                found.add(digits)
        for match in _CREDIT.finditer(view):
            if uscc.is_valid(match.group(0)):
                found.add(match.group(0))
    return found
