"""Text that arrives from outside (a request, a file name, a header), made safe to store
and to show before it reaches the database.

PostgreSQL refuses NUL in text and every column has a length, so a string that skipped
these checks fails a whole request with a database error; and a file name carrying a
right-to-left override or control characters shows a clerk a different name from the one
stored. Names are therefore normalised (NFC, no control or bidi-control characters, a
bounded length that keeps the extension) and the original is kept escaped for display.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

FILENAME_LENGTH = 255
"""Characters kept of an uploaded file's name (the common file system limit)."""
ORIGINAL_NAME_LENGTH = 1000
"""Characters kept of the escaped original name, when it differs."""
CONTENT_TYPE_LENGTH = 100
MAX_ROW_ID = 2**31 - 1
"""Integer ids (keys, centers, users) are 32-bit in the database: a larger one from a
request is refused before it is sent."""
PLAIN_TEXT = r"^[^\x00-\x1f\x7f-\x9f\u200e\u200f\u061c\u202a-\u202e\u2066-\u2069]*$"
"""A pattern for one-line text fields of a request (pydantic/FastAPI `pattern=`): no
control or bidi-control characters."""

# Bidi embeddings/overrides (U+202A-202E) and isolates (U+2066-2069) reorder what follows
# them on screen; the marks U+200E/200F and U+061C do too, invisibly.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
                           "\u200e\u200f\u061c")
_MEDIA_TYPE = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]{0,63}/[a-z0-9][a-z0-9!#$&^_.+-]{0,63}")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def _unsafe(char: str) -> bool:
    """Characters no file name or free-text field needs, some of which disguise text:
    controls (`Cc`), format characters (`Cf`: the bidi controls, zero-width characters)
    and lone surrogates (`Cs`)."""
    return char in _BIDI_CONTROLS or unicodedata.category(char) in ("Cc", "Cf", "Cs")


def has_unsafe_characters(text: str, *, allow_newlines: bool = False) -> bool:
    """Whether `text` holds a control, format or bidi character (or a lone surrogate);
    with `allow_newlines`, tab, CR and LF are fine (free text)."""
    allowed = "\t\r\n" if allow_newlines else ""
    return any(_unsafe(c) and c not in allowed for c in text)


def escape_for_display(text: str) -> str:
    """Every unsafe character as a visible escape (`\\u202e`, `\\x00`), the rest as is."""
    out = []
    for char in text:
        if _unsafe(char):
            code = ord(char)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
        else:
            out.append(char)
    return "".join(out)


@dataclass(frozen=True)
class CleanName:
    name: str
    """Safe to store, show and use: NFC, no unsafe characters, at most FILENAME_LENGTH."""
    original: str | None
    """The name as sent, escaped for display and bounded, when it differs from `name`."""


def clean_filename(raw: str, *, fallback: str) -> CleanName:
    """Normalise an uploaded file's name. Path separators go (a name is never a path); an
    over-long name keeps its extension."""
    text = unicodedata.normalize("NFC", raw)
    text = "".join(c for c in text if not _unsafe(c))
    text = text.replace("/", "_").replace("\\", "_").strip().strip(".") or fallback
    if len(text) > FILENAME_LENGTH:
        stem, dot, ext = text.rpartition(".")
        if dot and stem and 0 < len(ext) <= 16:
            text = stem[:FILENAME_LENGTH - len(ext) - 2] + "…." + ext
        else:
            text = text[:FILENAME_LENGTH - 1] + "…"
    original = None
    if text != raw:
        original = escape_for_display(raw)
        if len(original) > ORIGINAL_NAME_LENGTH:
            original = original[:ORIGINAL_NAME_LENGTH - 1] + "…"
    return CleanName(text, original)


def clean_content_type(raw: str | None) -> str | None:
    """The media type of a declared Content-Type (`type/subtype`, lower case, parameters
    dropped), or None when it is missing or not a media type. Only a hint: the format is
    always sniffed from the bytes."""
    if not raw:
        return None
    media = raw.split(";", 1)[0].strip().lower()
    if len(media) > CONTENT_TYPE_LENGTH or not _MEDIA_TYPE.fullmatch(media):
        return None
    return media


def is_uuid(value: str) -> bool:
    """Whether `value` has the shape of the ids this service hands out (checked before a
    query, so a malformed id is a plain "not found" and never reaches the database)."""
    return _UUID.fullmatch(value) is not None


def bounded(text: str | None, length: int) -> str | None:
    """`text` escaped for display and cut to `length` characters, for storing what a
    refused request sent (an audit entry) without failing on it."""
    if text is None:
        return None
    safe = escape_for_display(text)
    return safe if len(safe) <= length else safe[:length - 1] + "…"
