"""The append-only audit log of certificate use: who (key, name, role) did what to which
certificate, for which purpose and case, when, and with what result.

There is deliberately no update or delete here, and the database refuses both with a
trigger (see migration 0002). The holder's ID is stored in full in this table so a holder
can ask "who used my certificates"; it is never written to application logs, and list
views mask it.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from storage.models import AuditEntry

RESULTS = ("ok", "denied", "invalid", "not_found")


@dataclass(frozen=True)
class Actor:
    """Who acts: an API key, or the service itself (`key_id` None, role `service`)."""

    key_id: int | None
    name: str
    role: str
    scopes: tuple[str, ...] = ()


SERVICE = Actor(None, "docintake", "service")


class AuditLog:
    def __init__(self, session: Session) -> None:
        self.session = session

    def append(self, actor: Actor, action: str, *, result: str, target: str | None = None,
               holder_id: str | None = None, purpose: str | None = None,
               case_ref: str | None = None, detail: dict[str, Any] | None = None
               ) -> AuditEntry:
        if result not in RESULTS:
            raise ValueError(f"unknown audit result {result!r}")
        entry = AuditEntry(
            at=datetime.now(UTC), key_id=actor.key_id, actor=actor.name[:200],
            role=actor.role, action=action, target=target, holder_id=holder_id,
            purpose=(purpose or None) and purpose[:500],
            case_ref=(case_ref or None) and case_ref[:200], result=result, detail=detail)
        self.session.add(entry)
        self.session.flush()
        return entry

    def defer_flush(self) -> None:
        """Let this transaction's commit return before its WAL record is on disk
        (PostgreSQL `synchronous_commit = off`, this transaction only). A database crash
        may then lose the last fraction of a second of entries, never corrupt them; an
        application crash loses nothing. No-op elsewhere."""
        if self.session.get_bind().dialect.name == "postgresql":
            self.session.execute(text("SET LOCAL synchronous_commit TO OFF"))

    def entries(self, *, holder_id: str | None = None, key_id: int | None = None,
                since: datetime | None = None, actions: Collection[str] | None = None,
                before_id: int | None = None, limit: int = 100) -> list[AuditEntry]:
        """Newest first; `before_id` pages backwards."""
        query = select(AuditEntry)
        if holder_id is not None:
            query = query.where(AuditEntry.holder_id == holder_id)
        if key_id is not None:
            query = query.where(AuditEntry.key_id == key_id)
        if since is not None:
            query = query.where(AuditEntry.at >= since)
        if actions:
            query = query.where(AuditEntry.action.in_(list(actions)))
        if before_id is not None:
            query = query.where(AuditEntry.id < before_id)
        return list(self.session.scalars(query.order_by(AuditEntry.id.desc()).limit(limit)))

    def seen(self, action: str, target: str, case_ref: str) -> bool:
        """Whether this action on this target for this case was already recorded."""
        return self.session.scalar(
            select(AuditEntry.id).where(AuditEntry.action == action,
                                        AuditEntry.target == target,
                                        AuditEntry.case_ref == case_ref).limit(1)) is not None
