"""People and their browser sessions: the queries the sign-in needs, and no others."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from storage.models import User, WebSession


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


class UserDirectory:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, *, username: str, password_hash: str, key_id: int, now: datetime) -> User:
        user = User(username=username, password_hash=password_hash, key_id=key_id,
                    created_at=now, failed_attempts=0)
        self.session.add(user)
        self.session.flush()
        return user

    def by_name(self, username: str) -> User | None:
        return self.session.scalar(select(User).where(User.username == username))

    def get(self, user_id: int) -> User | None:
        return self.session.get(User, user_id)

    def all(self) -> list[User]:
        return list(self.session.scalars(select(User).order_by(User.username)))

    # sessions --------------------------------------------------------------------------
    def open_session(self, user: User, *, token: str, csrf_token: str, now: datetime,
                     expires_at: datetime) -> WebSession:
        row = WebSession(token_hash=token_digest(token), user_id=user.id,
                         csrf_token=csrf_token, created_at=now, last_seen_at=now,
                         expires_at=expires_at)
        self.session.add(row)
        self.session.flush()
        return row

    def session_of(self, token: str) -> WebSession | None:
        row = self.session.get(WebSession, token_digest(token))
        if row is not None:
            row.created_at = _utc(row.created_at) or row.created_at
            row.last_seen_at = _utc(row.last_seen_at) or row.last_seen_at
            row.expires_at = _utc(row.expires_at) or row.expires_at
        return row

    def end_sessions_of(self, user_id: int, now: datetime) -> None:
        self.session.execute(
            update(WebSession).where(WebSession.user_id == user_id,
                                     WebSession.ended_at.is_(None))
            .values(ended_at=now).execution_options(synchronize_session=False))
