"""Stacks, their files and pages, and the inbox: the queries the stack pipeline needs.

Every write that a redelivered task could repeat is conditional on the state it moves
from, so running a stage twice (or twice at once) writes once."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, func, select, update
from sqlalchemy.orm import Session

from storage.models import Case, Stack, StackFile, StackPage

# States a stack page never leaves by itself (a held page leaves only by a clerk's hand).
ROUTED_STATES = ("cover", "attached", "held", "attaching")


def _now() -> datetime:
    return datetime.now(UTC)


def _new_id() -> str:
    return str(uuid.uuid4())


class StackRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    # stacks --------------------------------------------------------------------------
    def create_stack(self, center_id: int, created_by: int | None,
                     idempotency_key: str | None) -> Stack:
        stack = Stack(id=_new_id(), idempotency_key=idempotency_key, status="received",
                      center_id=center_id, created_by=created_by, created_at=_now())
        self.session.add(stack)
        self.session.flush()
        return stack

    def find_stack_by_key(self, created_by: int | None, idempotency_key: str) -> Stack | None:
        return self.session.scalar(select(Stack).where(
            Stack.created_by == created_by, Stack.idempotency_key == idempotency_key))

    def get_stack(self, stack_id: str) -> Stack | None:
        return self.session.get(Stack, stack_id)

    def lock_open_stack(self, stack_id: str) -> bool:
        """Take the stack's row lock for this transaction; False when it is completed."""
        result = self.session.execute(
            update(Stack).where(Stack.id == stack_id,
                                Stack.status.in_(("received", "processing")))
            .values(status=Stack.status).execution_options(synchronize_session=False))
        return bool(getattr(result, "rowcount", 0))

    def set_stack_status(self, stack: Stack, status: str) -> None:
        stack.status = status
        if status == "completed":
            stack.finished_at = _now()

    def unfinished_stacks(self, *, stalled_before: datetime | None = None) -> list[str]:
        """Stacks not completed; with `stalled_before`, only those none of whose pages
        moved since then (work may be under way elsewhere)."""
        query = select(Stack.id).where(Stack.status.in_(("received", "processing")))
        if stalled_before is not None:
            last_move = (select(func.max(StackPage.updated_at))
                         .where(StackPage.stack_id == Stack.id)
                         .correlate(Stack).scalar_subquery())
            query = query.where(func.coalesce(last_move, Stack.created_at) < stalled_before)
        return list(self.session.scalars(query.order_by(Stack.created_at)))

    # files ---------------------------------------------------------------------------
    def add_file(self, stack: Stack, *, position: int, filename: str, outcome: str,
                 sha256: str | None = None, content_type: str | None = None,
                 size: int | None = None, object_key: str | None = None,
                 error_code: str | None = None, error_message: str | None = None) -> StackFile:
        row = StackFile(
            id=_new_id(), stack_id=stack.id, position=position, filename=filename,
            outcome=outcome, sha256=sha256, content_type=content_type, size=size,
            object_key=object_key, status="stored" if outcome == "accepted" else None,
            error_code=error_code, error_message=error_message)
        self.session.add(row)
        self.session.flush()
        return row

    def files_of_stack(self, stack_id: str) -> list[StackFile]:
        return list(self.session.scalars(
            select(StackFile).where(StackFile.stack_id == stack_id)
            .order_by(StackFile.position)))

    def mark_file_failed(self, row: StackFile, code: str, message: str) -> None:
        row.status, row.error_code, row.error_message = "failed", code, message

    # pages ---------------------------------------------------------------------------
    def create_pages(self, row: StackFile, fmt: str, page_count: int) -> None:
        """The file's page rows, once; stack sequence numbers continue after the pages
        of the files before it (the caller splits files in position order)."""
        existing = set(self.session.scalars(
            select(StackPage.index_in_file).where(StackPage.file_id == row.id)))
        sequence = (self.session.scalar(
            select(func.max(StackPage.sequence)).where(StackPage.stack_id == row.stack_id))
            or 0) + 1
        for index in range(1, page_count + 1):
            if index in existing:
                continue
            self.session.add(StackPage(
                id=_new_id(), stack_id=row.stack_id, file_id=row.id, index_in_file=index,
                sequence=sequence, state="pending", updated_at=_now()))
            sequence += 1
        row.format, row.page_count, row.status = fmt, page_count, "split"
        self.session.flush()

    def add_failed_file_page(self, row: StackFile) -> None:
        """A file that cannot be opened still takes its place in the stack as one held
        page, so the clerk sees it in the inbox (never dropped)."""
        if self.session.scalar(select(StackPage.id).where(StackPage.file_id == row.id)):
            return
        sequence = (self.session.scalar(
            select(func.max(StackPage.sequence)).where(StackPage.stack_id == row.stack_id))
            or 0) + 1
        self.session.add(StackPage(
            id=_new_id(), stack_id=row.stack_id, file_id=row.id, index_in_file=1,
            sequence=sequence, kind="unreadable", state="held", reason_code=row.error_code,
            reason_message=row.error_message, updated_at=_now()))
        self.session.flush()

    def pages_of_stack(self, stack_id: str) -> list[StackPage]:
        return list(self.session.scalars(
            select(StackPage).where(StackPage.stack_id == stack_id)
            .order_by(StackPage.sequence)))

    def get_page(self, page_id: str) -> StackPage | None:
        return self.session.get(StackPage, page_id)

    def save_scan(self, page_id: str, *, kind: str, cover_text: str | None = None,
                  reason_code: str | None = None, reason_message: str | None = None) -> bool:
        """What the scan found, written once (False when the page was scanned already)."""
        result = self.session.execute(
            update(StackPage).where(StackPage.id == page_id, StackPage.state == "pending")
            .values(kind=kind, state="scanned", cover_text=cover_text,
                    reason_code=reason_code, reason_message=reason_message,
                    updated_at=_now())
            .execution_options(synchronize_session=False))
        return bool(getattr(result, "rowcount", 0))

    def route(self, page: StackPage, *, state: str, case_id: str | None,
              segment: int | None, reason_code: str | None = None,
              reason_message: str | None = None) -> None:
        page.state, page.case_id, page.segment = state, case_id, segment
        if reason_code is not None:
            page.reason_code, page.reason_message = reason_code, reason_message
        page.updated_at = _now()

    def set_batch(self, page_ids: Sequence[str], batch_id: str) -> None:
        self.session.execute(
            update(StackPage).where(StackPage.id.in_(list(page_ids)))
            .values(batch_id=batch_id, state="attached", updated_at=_now())
            .execution_options(synchronize_session=False))

    # inbox ---------------------------------------------------------------------------
    def inbox(self, center_id: int | None, *, limit: int, offset: int = 0) -> list[StackPage]:
        """Held pages of the center's stacks (every center's for None), oldest first."""
        return list(self.session.scalars(
            self._held(center_id)
            .order_by(StackPage.updated_at, StackPage.stack_id, StackPage.sequence)
            .limit(limit).offset(offset)))

    def inbox_count(self, center_id: int | None) -> int:
        return self.session.scalar(
            select(func.count()).select_from(self._held(center_id).subquery())) or 0

    @staticmethod
    def _held(center_id: int | None) -> Select[Any]:
        query = select(StackPage).where(StackPage.state == "held")
        if center_id is not None:
            query = query.join(Stack, Stack.id == StackPage.stack_id).where(
                Stack.center_id == center_id)
        return query

    def claim_for_case(self, page_id: str, case_id: str) -> bool:
        """Move a held page to `attaching` for `case_id`. True also when an earlier call
        for the same case got that far (a retry finishes what it started)."""
        result = self.session.execute(
            update(StackPage).where(StackPage.id == page_id, StackPage.state == "held")
            .values(state="attaching", case_id=case_id, updated_at=_now())
            .execution_options(synchronize_session=False))
        if getattr(result, "rowcount", 0):
            return True
        page = self.get_page(page_id)
        return page is not None and page.state == "attaching" and page.case_id == case_id

    # cases ---------------------------------------------------------------------------
    def case_by_number(self, number: str) -> Case | None:
        return self.session.scalar(select(Case).where(Case.number == number))
