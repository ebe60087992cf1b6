"""The outbox: events for other systems, written in the same transaction as the change they
describe, and delivered later by a sender that may fail, retry and run in several processes.

Delivery is at least once and in order per case: a case's next event is offered only after
all its earlier events were delivered, so a receiver never sees "closed" before "accepted".
Several senders (API processes, worker nodes) may run at once; each batch of due events is
claimed under a lock (PostgreSQL `FOR UPDATE SKIP LOCKED` on the events, a plain
transaction on SQLite), so two senders never post the same event at the same moment — a
sender that dies after posting and before marking posts it again later, which is what "at
least once" allows and why every event carries a stable id for the receiver to drop
duplicates.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, select, update
from sqlalchemy.orm import Session, aliased

from storage.models import OutboxEvent


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


class Outbox:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, *, case_id: str, kind: str, payload: dict[str, Any],
            now: datetime) -> OutboxEvent:
        """Record an event in the caller's transaction; it is sent once that commits."""
        event = OutboxEvent(id=str(uuid.uuid4()), case_id=case_id, kind=kind, payload=payload,
                            created_at=now, next_attempt_at=now, attempts=0)
        self.session.add(event)
        self.session.flush()
        return event

    def claim_due(self, now: datetime, limit: int = 50) -> list[OutboxEvent]:
        """Undelivered events that are due and have no undelivered event of the same case
        before them, oldest first. On PostgreSQL the rows stay locked (skipped by other
        senders) until the caller's transaction ends."""
        earlier = aliased(OutboxEvent)
        blocked = exists().where(and_(earlier.case_id == OutboxEvent.case_id,
                                      earlier.delivered_at.is_(None),
                                      earlier.seq < OutboxEvent.seq))
        query = (select(OutboxEvent)
                 .where(OutboxEvent.delivered_at.is_(None),
                        OutboxEvent.next_attempt_at <= now, ~blocked)
                 .order_by(OutboxEvent.seq).limit(limit))
        if self.session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True, of=OutboxEvent)
        return list(self.session.scalars(query))

    def delivered(self, event: OutboxEvent, now: datetime) -> None:
        event.delivered_at, event.attempts, event.last_error = now, event.attempts + 1, None

    def failed(self, event: OutboxEvent, now: datetime, error: str, retry_in: timedelta
               ) -> None:
        event.attempts += 1
        event.last_error = error[:500]
        event.next_attempt_at = now + retry_in

    def pending_count(self) -> int:
        return len(self.session.scalars(
            select(OutboxEvent.id).where(OutboxEvent.delivered_at.is_(None))).all())

    def of_case(self, case_id: str) -> list[OutboxEvent]:
        return list(self.session.scalars(
            select(OutboxEvent).where(OutboxEvent.case_id == case_id)
            .order_by(OutboxEvent.seq)))

    def retry_now(self, now: datetime) -> int:
        """Make every undelivered event due at once (an operator after fixing the
        receiver)."""
        result = self.session.execute(
            update(OutboxEvent).where(OutboxEvent.delivered_at.is_(None))
            .values(next_attempt_at=now).execution_options(synchronize_session=False))
        return int(getattr(result, "rowcount", 0) or 0)
