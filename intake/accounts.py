"""People who sign in to the pages: accounts, passwords, sessions, lock-out.

* **Passwords** are hashed with argon2id (`argon2-cffi`'s defaults), never stored or logged;
  an unknown user name costs the same hash as a wrong password, so timing tells nothing.
* **Lock-out.** `MAX_FAILURES` wrong passwords in a row lock the account for `LOCKOUT`;
  a locked account refuses even the right password until then. Every sign-in, failed or not,
  is audited (without the password).
* **Sessions.** A random token in an HttpOnly, SameSite=Strict cookie (Secure outside
  development); the database keeps its SHA-256. A session ends after `IDLE` without a
  request, at the latest `ABSOLUTE` after sign-in, at sign-out, and when the account is
  disabled. Each session has its own CSRF token, which every state-changing request must
  carry (`check_csrf`).
* **One principal.** A person acts through an API-key row created with the account (its
  secret is thrown away at once): audit entries, separation of duties and service centers
  treat people and systems alike.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from intake.access import Principal
from intake.errors import IntakeError
from intake.runtime import Runtime
from storage.apikeys import DEFAULT_CENTER_ID, ROLES, center_by_code, create_api_key
from storage.audit import Actor, AuditLog
from storage.models import ApiKey, User
from storage.users import UserDirectory

IDLE: Final = timedelta(minutes=30)
ABSOLUTE: Final = timedelta(hours=8)
MAX_FAILURES: Final = 5
LOCKOUT: Final = timedelta(minutes=15)
MIN_PASSWORD: Final = 10
USERNAME_CHARS: Final = frozenset("abcdefghijklmnopqrstuvwxyz0123456789._-")

_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash("docintake: a password nobody has")


class AccountError(ValueError):
    """A user cannot be created or changed as asked (the CLI prints it)."""


@dataclass(frozen=True)
class SignedIn:
    token: str
    csrf_token: str
    expires_at: datetime


@dataclass(frozen=True)
class WebPrincipal:
    """The person behind a browser session, as the services see any caller."""

    key_id: int
    name: str
    role: str
    username: str
    csrf_token: str
    center_id: int | None = None

    @property
    def actor(self) -> Actor:
        return Actor(self.key_id, self.name, self.role)

    @property
    def principal(self) -> Principal:
        """The same principal an API key of this role and center would be."""
        return Principal(self.key_id, self.name, self.role, (), self.center_id, ())


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


class Accounts:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def _now(self) -> datetime:
        return self.runtime.clock.now().astimezone(UTC)

    # accounts --------------------------------------------------------------------------
    def create_user(self, username: str, password: str, role: str,
                    center: str | None = None) -> User:
        """An account in `center` (a center code; default: the default center)."""
        username = username.strip().lower()
        if not 2 <= len(username) <= 64 or not set(username) <= USERNAME_CHARS:
            raise AccountError("user names are 2-64 characters: a-z, 0-9, '.', '_', '-'")
        if role not in ROLES or role == "system":
            raise AccountError(f"people take one of the roles "
                               f"{', '.join(r for r in ROLES if r != 'system')}")
        if len(password) < MIN_PASSWORD:
            raise AccountError(f"passwords have at least {MIN_PASSWORD} characters")
        now = self._now()
        with self.runtime.database.session() as session:
            directory = UserDirectory(session)
            if directory.by_name(username) is not None:
                raise AccountError(f"user {username} exists already")
            center_id = DEFAULT_CENTER_ID
            if center is not None:
                row = center_by_code(session, center)
                if row is None:
                    raise AccountError(f"no service center {center}")
                center_id = row.id
            key, _secret = create_api_key(session, role=role, name=f"user:{username}",
                                          center_id=center_id)
            user = directory.add(username=username, password_hash=_hasher.hash(password),
                                 key_id=key.id, now=now)
            AuditLog(session).append(Actor(None, "docintake (cli)", "admin"), "user.create",
                                     result="ok", target=username, detail={"role": role})
            session.expunge(user)
            return user

    def disable(self, username: str) -> None:
        now = self._now()
        with self.runtime.database.session() as session:
            directory = UserDirectory(session)
            user = directory.by_name(username.strip().lower())
            if user is None:
                raise AccountError(f"no user {username}")
            user.disabled_at = user.disabled_at or now
            key = session.get(ApiKey, user.key_id)
            if key is not None and key.revoked_at is None:
                key.revoked_at = now
            directory.end_sessions_of(user.id, now)
            AuditLog(session).append(Actor(None, "docintake (cli)", "admin"), "user.disable",
                                     result="ok", target=user.username)

    # signing in ------------------------------------------------------------------------
    def sign_in(self, username: str, password: str, *, client: str) -> SignedIn:
        """A new session for the right password of an enabled, unlocked account; else
        `auth.sign_in_failed` (the same answer for an unknown user and a wrong password) or
        `auth.locked`."""
        now = self._now()
        name = username.strip().lower()[:64]
        with self.runtime.database.session() as session:
            directory = UserDirectory(session)
            user = directory.by_name(name)
            if user is None or user.disabled_at is not None:
                _verify(_DUMMY_HASH, password)
                self._audit(session, None, name, "denied", client, "unknown_or_disabled")
                failure: IntakeError = IntakeError("auth.sign_in_failed")
            elif (until := _utc(user.locked_until)) is not None and until > now:
                _verify(_DUMMY_HASH, password)
                self._audit(session, user, name, "denied", client, "locked")
                wait = int((until - now).total_seconds()) + 1
                failure = IntakeError("auth.locked", minutes=max(1, wait // 60),
                                      headers={"Retry-After": str(wait)})
            elif not _verify(user.password_hash, password):
                user.failed_attempts += 1
                if user.failed_attempts >= MAX_FAILURES:
                    user.locked_until, user.failed_attempts = now + LOCKOUT, 0
                self._audit(session, user, name, "denied", client, "wrong_password")
                failure = IntakeError("auth.sign_in_failed")
            else:
                if _hasher.check_needs_rehash(user.password_hash):
                    user.password_hash = _hasher.hash(password)
                user.failed_attempts, user.locked_until, user.last_login_at = 0, None, now
                token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
                expires = now + ABSOLUTE
                directory.open_session(user, token=token, csrf_token=csrf, now=now,
                                       expires_at=expires)
                self._audit(session, user, name, "ok", client, None)
                return SignedIn(token, csrf, expires)
        raise failure

    def _audit(self, session: object, user: User | None, name: str, result: str,
               client: str, why: str | None) -> None:
        from sqlalchemy.orm import Session

        assert isinstance(session, Session)
        role = "unknown"
        key_id = None
        if user is not None:
            key = session.get(ApiKey, user.key_id)
            role, key_id = (key.role if key else "unknown"), user.key_id
        AuditLog(session).append(Actor(key_id, f"user:{name}", role), "user.sign_in",
                                 result=result, target=name,
                                 detail={"reason": why, "client": client} if why
                                 else {"client": client})

    def principal(self, token: str | None) -> WebPrincipal | None:
        """The signed-in person of a session token, or None when there is no live session
        (unknown, ended, idle too long, past its absolute end, account disabled). A live
        session's idle clock restarts."""
        if not token or len(token) > 100:
            return None
        now = self._now()
        with self.runtime.database.session() as session:
            directory = UserDirectory(session)
            row = directory.session_of(token)
            if row is None or row.ended_at is not None:
                return None
            if now >= row.expires_at or now - row.last_seen_at >= IDLE:
                row.ended_at = now
                return None
            user = directory.get(row.user_id)
            key = session.get(ApiKey, user.key_id) if user else None
            if user is None or user.disabled_at is not None or key is None \
                    or key.revoked_at is not None:
                row.ended_at = now
                return None
            row.last_seen_at = now
            return WebPrincipal(key.id, key.name, key.role, user.username, row.csrf_token,
                                key.center_id)

    def sign_out(self, token: str) -> None:
        now = self._now()
        with self.runtime.database.session() as session:
            row = UserDirectory(session).session_of(token)
            if row is not None and row.ended_at is None:
                row.ended_at = now


def check_csrf(principal: WebPrincipal, presented: str | None) -> None:
    if not presented or not hmac.compare_digest(presented, principal.csrf_token):
        raise IntakeError("auth.csrf")


def _verify(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False
