"""Logging that never writes a raw ID number or credit code.

Every record passes through `MaskingFilter`, which rewrites 18-character resident ID numbers
and unified social credit codes to keep only their first and last characters. Records are
emitted as one JSON object per line so a log shipper can index case and batch ids.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime
from typing import Any

# Resident ID (17 digits + digit/X) and unified social credit code (18 of [0-9A-Z] with
# the first two characters from the registration-authority/type alphabet). Word boundaries
# on ASCII alphanumerics so that longer numbers are not half-masked.
_IDENTIFIER = re.compile(
    r"(?<![0-9A-Za-z])(?:\d{17}[\dXx]|[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10})"
    r"(?![0-9A-Za-z])"
)


def mask_identifiers(text: str) -> str:
    """`110105199001021234` -> `1101**********1234`: enough to tell two apart, not to misuse."""
    return _IDENTIFIER.sub(lambda m: m.group(0)[:4] + "*" * 10 + m.group(0)[-4:], text)


class MaskingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        record.msg = mask_identifiers(message)
        record.args = None
        for key in ("case_id", "batch_id", "page_id", "detail"):
            value = getattr(record, key, None)
            if isinstance(value, str):
                setattr(record, key, mask_identifiers(value))
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
            out["exc"] = mask_identifiers(self.formatException(record.exc_info))
        return json.dumps(out, ensure_ascii=False)


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
