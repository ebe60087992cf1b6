"""The applicant's query code: drawn once at acceptance, printed on the acceptance notice,
kept only as a salted scrypt digest (`intake.progress` checks it)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from typing import Final

ALPHABET: Final = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # no 0/O, 1/I/L: read aloud, typed
CODE_LENGTH: Final = 8
_SCRYPT: Final = {"n": 2**14, "r": 8, "p": 1, "dklen": 32}


def normalise_code(code: str) -> str:
    return "".join(ch for ch in code.upper() if ch.isalnum())


def new_query_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def code_digest(code: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(normalise_code(code).encode(), salt=salt, **_SCRYPT)
    return "scrypt$" + base64.b64encode(salt).decode() + "$" + base64.b64encode(digest).decode()


def code_matches(stored: str | None, code: str) -> bool:
    if not stored or not stored.startswith("scrypt$"):
        # Spend the same time as a real check: an unknown case looks like a wrong code.
        hashlib.scrypt(b"x", salt=b"0" * 16, **_SCRYPT)
        return False
    _, salt, digest = stored.split("$")
    candidate = hashlib.scrypt(normalise_code(code).encode(), salt=base64.b64decode(salt),
                               **_SCRYPT)
    return hmac.compare_digest(candidate, base64.b64decode(digest))
