"""API keys: generated once, shown once, stored only as a SHA-256 digest.

A key looks like `dik_<prefix>_<secret>`. The prefix is stored in clear so a presented key
finds its row with one indexed lookup; the digest comparison is constant-time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import ApiKey

ROLES = ("clerk", "reviewer", "approver", "admin", "system")
KEY_PREFIX = "dik"


class ApiKeyError(ValueError):
    pass


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def create_api_key(
    session: Session, *, role: str, name: str, scopes: list[str] | None = None
) -> tuple[ApiKey, str]:
    """Create a key and return the row plus the plaintext (which is never stored)."""
    if role not in ROLES:
        raise ApiKeyError(f"unknown role {role!r}; choose one of {', '.join(ROLES)}")
    prefix = secrets.token_hex(4)
    plaintext = f"{KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    row = ApiKey(
        name=name or f"{role} key",
        role=role,
        prefix=prefix,
        key_hash=_digest(plaintext),
        scopes=sorted(set(scopes or [])),
        created_at=datetime.now(UTC),
    )
    session.add(row)
    session.flush()
    return row, plaintext


def authenticate(session: Session, presented: str) -> ApiKey | None:
    """The active key matching `presented`, or None."""
    parts = presented.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX:
        return None
    digest = _digest(presented)
    candidates = session.scalars(
        select(ApiKey).where(ApiKey.prefix == parts[1], ApiKey.revoked_at.is_(None))
    )
    for row in candidates:
        if hmac.compare_digest(row.key_hash, digest):
            return row
    return None


def revoke_api_key(session: Session, key_id: int) -> bool:
    row = session.get(ApiKey, key_id)
    if row is None or row.revoked_at is not None:
        return False
    row.revoked_at = datetime.now(UTC)
    return True
