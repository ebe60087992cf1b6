"""API keys: generated once, shown once, stored only as a SHA-256 digest.

A key looks like `dik_<prefix>_<secret>`. The prefix is stored in clear so a presented key
finds its row with one indexed lookup; the digest comparison is constant-time. A key is
refused from the moment it is revoked or its `expires_at` passes (checked on every request,
nothing cached). Rotation creates a successor with the same role, center, scopes and
purposes and lets the old key live for an overlap window.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, bindparam, select, update
from sqlalchemy.orm import Session

from storage.models import DEFAULT_CENTER_ID, ApiKey, ServiceCenter, UtcDateTime

ROLES = ("clerk", "reviewer", "approver", "admin", "system")
KEY_PREFIX = "dik"
LAST_USED_RESOLUTION = timedelta(minutes=1)
"""`last_used_at` is written at most this often per key, not on every request."""


class ApiKeyError(ValueError):
    pass


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def _aware(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes; every stored one is UTC.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def create_api_key(
    session: Session, *, role: str, name: str, scopes: Sequence[str] | None = None,
    center_id: int | None = DEFAULT_CENTER_ID, purposes: Sequence[str] | None = None,
    expires_at: datetime | None = None, now: datetime | None = None,
) -> tuple[ApiKey, str]:
    """Create a key and return the row plus the plaintext (which is never stored).
    `center_id=None` makes a global key, which only admins may be."""
    if role not in ROLES:
        raise ApiKeyError(f"unknown role {role!r}; choose one of {', '.join(ROLES)}")
    if center_id is None and role != "admin":
        raise ApiKeyError("only admin keys may be global (without a center)")
    now = now or datetime.now(UTC)
    if expires_at is not None and _aware(expires_at) <= now:
        raise ApiKeyError("the expiry must lie in the future")
    prefix = secrets.token_hex(4)
    plaintext = f"{KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    row = ApiKey(
        name=name or f"{role} key",
        role=role,
        prefix=prefix,
        key_hash=_digest(plaintext),
        scopes=sorted(set(scopes or [])),
        created_at=now,
        center_id=center_id,
        purposes=sorted({p.strip() for p in purposes or [] if p.strip()}),
        expires_at=expires_at,
    )
    session.add(row)
    session.flush()
    return row, plaintext


def find_key(session: Session, presented: str) -> ApiKey | None:
    """The key row matching `presented` whatever its state, or None."""
    parts = presented.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX:
        return None
    digest = _digest(presented)
    for row in session.scalars(select(ApiKey).where(ApiKey.prefix == parts[1])):
        if hmac.compare_digest(row.key_hash, digest):
            return row
    return None


@dataclass(frozen=True)
class KeyCheck:
    """What a request needs of the key it presented (read without the ORM: every request
    does this once)."""

    id: int
    name: str
    role: str
    scopes: tuple[str, ...]
    center_id: int | None
    purposes: tuple[str, ...]
    revoked_at: datetime | None
    expires_at: datetime | None
    last_used_at: datetime | None


_KEYS_BY_PREFIX = select(
    ApiKey.key_hash, ApiKey.id, ApiKey.name, ApiKey.role, ApiKey.scopes, ApiKey.center_id,
    ApiKey.purposes, ApiKey.revoked_at, ApiKey.expires_at, ApiKey.last_used_at,
).where(ApiKey.prefix == bindparam("prefix"))
_NOTE_USE = (update(ApiKey)
             .where(ApiKey.id == bindparam("key_id"),
                    (ApiKey.last_used_at.is_(None)) | (ApiKey.last_used_at <= bindparam("due")))
             .values(last_used_at=bindparam("now", type_=UtcDateTime())))


def check_key(conn: Connection, presented: str) -> KeyCheck | None:
    """`find_key` on a plain connection: the key matching `presented`, whatever its
    state, or None."""
    parts = presented.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX:
        return None
    digest = _digest(presented)
    for row in conn.execute(_KEYS_BY_PREFIX, {"prefix": parts[1]}):
        if hmac.compare_digest(row.key_hash, digest):
            return KeyCheck(row.id, row.name, row.role, tuple(row.scopes or ()),
                            row.center_id, tuple(row.purposes or ()), row.revoked_at,
                            row.expires_at, row.last_used_at)
    return None


def note_use_of(conn: Connection, key: KeyCheck, now: datetime) -> None:
    """`note_use` for a `check_key` result: one UPDATE, only when the last one is older
    than `LAST_USED_RESOLUTION` (and still is in the database)."""
    if key.last_used_at is None or now - _aware(key.last_used_at) >= LAST_USED_RESOLUTION:
        params: dict[str, Any] = {"key_id": key.id, "now": now,
                                  "due": now - LAST_USED_RESOLUTION}
        conn.execute(_NOTE_USE, params)


def is_active(row: ApiKey | KeyCheck, now: datetime) -> bool:
    return row.revoked_at is None and (row.expires_at is None
                                       or _aware(row.expires_at) > now)


def authenticate(session: Session, presented: str, now: datetime | None = None
                 ) -> ApiKey | None:
    """The active key matching `presented` (not revoked, not expired), or None. Notes the
    use in `last_used_at`."""
    now = now or datetime.now(UTC)
    row = find_key(session, presented)
    if row is None or not is_active(row, now):
        return None
    note_use(row, now)
    return row


def note_use(row: ApiKey, now: datetime) -> None:
    if row.last_used_at is None or now - _aware(row.last_used_at) >= LAST_USED_RESOLUTION:
        row.last_used_at = now


def list_api_keys(session: Session, *, center_id: int | None = None,
                  include_revoked: bool = False) -> list[ApiKey]:
    query = select(ApiKey).order_by(ApiKey.id)
    if center_id is not None:
        query = query.where(ApiKey.center_id == center_id)
    if not include_revoked:
        query = query.where(ApiKey.revoked_at.is_(None))
    return list(session.scalars(query))


def revoke_api_key(session: Session, key_id: int, now: datetime | None = None) -> bool:
    row = session.get(ApiKey, key_id)
    if row is None or row.revoked_at is not None:
        return False
    row.revoked_at = now or datetime.now(UTC)
    return True


def rotate_api_key(session: Session, key_id: int, *, overlap: timedelta,
                   now: datetime | None = None) -> tuple[ApiKey, str, ApiKey]:
    """A successor key with the old one's role, center, scopes and purposes; the old key
    keeps working for `overlap` (so deployments can switch) and then expires."""
    now = now or datetime.now(UTC)
    old = session.get(ApiKey, key_id)
    if old is None or not is_active(old, now):
        raise ApiKeyError(f"no active key {key_id}")
    new, plaintext = create_api_key(
        session, role=old.role, name=old.name, scopes=list(old.scopes or []),
        center_id=old.center_id, purposes=list(old.purposes or []),
        expires_at=old.expires_at, now=now)
    ends = now + overlap
    if old.expires_at is None or _aware(old.expires_at) > ends:
        old.expires_at = ends
    old.replaced_by = new.id
    return new, plaintext, old


# centers ----------------------------------------------------------------------------------
def create_center(session: Session, *, code: str, name: str, region_code: str | None = None
                  ) -> ServiceCenter:
    row = ServiceCenter(code=code, name=name, region_code=region_code,
                        created_at=datetime.now(UTC))
    session.add(row)
    session.flush()
    return row


def center_by_code(session: Session, code: str) -> ServiceCenter | None:
    return session.scalar(select(ServiceCenter).where(ServiceCenter.code == code))


def list_centers(session: Session) -> list[ServiceCenter]:
    return list(session.scalars(select(ServiceCenter).order_by(ServiceCenter.id)))
