"""Logging that never writes a raw ID number or credit code.

`mask_identifiers` rewrites resident ID numbers (18-character, and the 15-digit first
generation), also when written in spaced or hyphenated groups or run into other words
(`身份证110105…`), and unified social credit codes, to keep only their first and last
characters. Log lines get more: `mask_log_text` also looks through percent-encoding (an
ID in a logged URL, `purpose=%E8%BA%AB…110105…`). Every record passes through
`MaskingFilter`, and `JsonFormatter` masks the whole line it writes (message, context,
exception text, database errors), one JSON object per line so a log shipper can index case
and batch ids. Engines never log bound parameters (`storage.db`).
"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote_plus

# A digit may be followed by one space or hyphen inside a number written in groups
# (`110105 19900102 1234`, `1101-0519-9001-0212-34`). Resident IDs are bounded by
# non-digits only, so one run into letters or Chinese text is still found; a longer digit
# run is not an ID and stays whole.
_GAP = r"[ \-]?"
_RESIDENT_18 = rf"\d(?:{_GAP}\d){{16}}{_GAP}[\dXx]"
_RESIDENT_15 = rf"\d(?:{_GAP}\d){{14}}"
# Unified social credit code: 18 of [0-9A-Z] without I, O, S, V, Z, the registration
# authority and type first; bounded by ASCII alphanumerics (it is made of them).
_CREDIT_CODE = r"[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}"
_IDENTIFIER = re.compile(
    rf"(?<!\d)(?:{_RESIDENT_18}|{_RESIDENT_15})(?!\d)"
    rf"|(?<![0-9A-Za-z]){_CREDIT_CODE}(?![0-9A-Za-z])"
)
_KEEP = 4


def _mask(match: re.Match[str]) -> str:
    """Keep the first and last four characters of the number, star the rest; the gaps of
    a grouped number stay where they were."""
    text = match.group(0)
    positions = [i for i, c in enumerate(text) if c not in " -"]
    hidden = set(positions[_KEEP:-_KEEP])
    return "".join("*" if i in hidden else c for i, c in enumerate(text))


def mask_identifiers(text: str) -> str:
    """`110105199001021234` -> `1101**********1234`: enough to tell two apart, not to misuse."""
    return _IDENTIFIER.sub(_mask, text)


def mask_log_text(text: str) -> str:
    """`mask_identifiers`, and where percent-decoding (twice, for double encoding) reveals an
    identifier, the decoded text masked instead."""
    masked = mask_identifiers(text)
    decoded = text
    for _ in range(2):
        if "%" not in decoded and "+" not in decoded:
            break
        decoded = unquote_plus(decoded)
        if _IDENTIFIER.search(decoded):
            return mask_identifiers(decoded)
    return masked


class MaskingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        record.msg = mask_log_text(message)
        record.args = None
        for key in ("case_id", "batch_id", "page_id", "detail"):
            value = getattr(record, key, None)
            if isinstance(value, str):
                setattr(record, key, mask_log_text(value))
        return True


class JsonFormatter(logging.Formatter):
    CONTEXT = ("case_id", "batch_id", "page_id", "file_id", "stage", "code")

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key in self.CONTEXT:
            value = getattr(record, key, None)
            if value is not None:
                out[key] = value
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        # The whole line, whatever field or exception text carries a number.
        return mask_log_text(json.dumps(out, ensure_ascii=False))


def configure_logging(level: str = "INFO") -> None:
    """Install the JSON handler with masking on the root logger (idempotent)."""
    root = logging.getLogger()
    for handler in root.handlers:
        if getattr(handler, "_docintake", False):
            return
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    handler.addFilter(MaskingFilter())
    handler._docintake = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
