"""Cases, batches, files, pages and assessments: the queries intake needs, and no others."""

from __future__ import annotations

import secrets
import uuid
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from storage.models import (
    DEFAULT_CENTER_ID,
    ENGINE_LABEL_LENGTH,
    Assessment,
    Batch,
    BatchFile,
    Case,
    CaseEvent,
    Page,
    SourceFile,
)

# A page in one of these states is never read again.
FINISHED_PAGE_STATES = ("done", "blank", "failed")


def _now() -> datetime:
    return datetime.now(UTC)


def _new_id() -> str:
    return str(uuid.uuid4())


class CaseRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    # cases ---------------------------------------------------------------------------
    def create_case(
        self,
        *,
        item_code: str,
        acceptance_date: date,
        facts: dict[str, Any] | None = None,
        created_by: int | None = None,
        received_on: date | None = None,
        center_id: int = DEFAULT_CENTER_ID,
    ) -> Case:
        # Readable at the window, unique without a shared counter (several API processes).
        number = f"SQ{acceptance_date:%Y%m%d}-{secrets.token_hex(3).upper()}"
        received_on = received_on or acceptance_date
        case = Case(
            id=_new_id(), number=number, item_code=item_code,
            acceptance_date=acceptance_date, facts=dict(facts or {}), created_at=_now(),
            created_by=created_by, status="open", state="received",
            received_on=received_on, notice_clock_from=received_on, pauses=[],
            extension_days=0, outstanding=[], center_id=center_id,
            handler_key_id=created_by,
        )
        self.session.add(case)
        self.session.flush()
        return case

    def get_case(self, case_id: str) -> Case | None:
        return self.session.get(Case, case_id)

    def recent_cases(self, *, limit: int, center_id: int | None = None) -> list[Case]:
        """The newest cases first, of one center or (None) of all."""
        query = select(Case).order_by(Case.created_at.desc()).limit(limit)
        if center_id is not None:
            query = query.where(Case.center_id == center_id)
        return list(self.session.scalars(query))

    def case_by_number(self, number: str) -> Case | None:
        return self.session.scalar(select(Case).where(Case.number == number))

    def lock_case(self, case_id: str) -> Case | None:
        """The case, with its row write-locked until the transaction ends: transitions of one
        case are serialised across processes (PostgreSQL waits on the row; SQLite serialises
        writers), so two clerks cannot both accept it."""
        self.session.execute(
            update(Case).where(Case.id == case_id).values(state=Case.state)
            .execution_options(synchronize_session=False))
        case = self.session.get(Case, case_id)
        if case is not None:
            self.session.refresh(case)
        return case

    def cases_in_states(self, states: Iterable[str]) -> list[Case]:
        return list(self.session.scalars(
            select(Case).where(Case.state.in_(tuple(states))).order_by(Case.received_on)))

    def cases_received_by(self, day: date) -> list[Case]:
        return list(self.session.scalars(
            select(Case).where(Case.received_on <= day).order_by(Case.received_on)))

    def events_of_cases(self, case_ids: Sequence[str]) -> dict[str, list[CaseEvent]]:
        """The events of several cases, each case's in order, in one query per 500 cases."""
        found: dict[str, list[CaseEvent]] = {case_id: [] for case_id in case_ids}
        ids = list(case_ids)
        for start in range(0, len(ids), 500):
            for event in self.session.scalars(
                    select(CaseEvent).where(CaseEvent.case_id.in_(ids[start:start + 500]))
                    .order_by(CaseEvent.id)):
                found[event.case_id].append(event)
        return found

    def add_event(
        self, case: Case, *, action: str, from_state: str, to_state: str, on_date: date,
        key_id: int | None, actor: str, role: str, reason: str | None,
        payload: dict[str, Any] | None = None, at: datetime | None = None,
    ) -> CaseEvent:
        event = CaseEvent(case_id=case.id, at=at or _now(), on_date=on_date, action=action,
                          from_state=from_state, to_state=to_state, key_id=key_id,
                          actor=actor[:200], role=role, reason=reason,
                          payload=dict(payload or {}))
        self.session.add(event)
        self.session.flush()
        return event

    def events_of_case(self, case_id: str) -> list[CaseEvent]:
        return list(self.session.scalars(
            select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id)))

    def get_case_by_number(self, number: str) -> Case | None:
        return self.session.scalar(select(Case).where(Case.number == number))


    # batches -------------------------------------------------------------------------
    def create_batch(self, case: Case, idempotency_key: str | None = None,
                     uploaded_by: int | None = None) -> Batch:
        batch = Batch(id=_new_id(), case_id=case.id, status="received",
                      idempotency_key=idempotency_key, created_at=_now(),
                      uploaded_by=uploaded_by)
        self.session.add(batch)
        self.session.flush()
        return batch

    def find_batch_by_key(self, case_id: str, idempotency_key: str) -> Batch | None:
        return self.session.scalar(
            select(Batch).where(Batch.case_id == case_id,
                                Batch.idempotency_key == idempotency_key)
        )

    def get_batch(self, batch_id: str) -> Batch | None:
        return self.session.get(Batch, batch_id)

    def lock_open_batch(self, batch_id: str) -> bool:
        """Take the write lock on an unfinished batch for the rest of this transaction;
        False if it is finished (or unknown). Several workers may race to finish a batch:
        the statement is a write, so PostgreSQL makes the losers wait for the row and then
        re-check `status`, and SQLite serialises it; whoever reads on after True sees every
        page committed before it, and exactly one of them sees the batch still open."""
        result = self.session.execute(
            update(Batch).where(Batch.id == batch_id,
                                Batch.status.in_(("received", "processing")))
            .values(status=Batch.status).execution_options(synchronize_session=False))
        return bool(getattr(result, "rowcount", 0))

    def lock_case_of_batch(self, batch_id: str) -> None:
        """Serialise work on one case's pages and documents (splits numbering pages, assessments
        replacing documents) across processes, until the transaction ends. Take it before
        the batch's own row (`lock_open_batch`): one order everywhere, so no deadlock."""
        case_id = select(Batch.case_id).where(Batch.id == batch_id).scalar_subquery()
        self.session.execute(
            update(Case).where(Case.id == case_id).values(status=Case.status)
            .execution_options(synchronize_session=False))

    def discard_batch(self, batch_id: str) -> bool:
        """Remove a batch whose upload broke off, with its entries, files and pages; False
        (and nothing removed) when another batch's entry points at one of its files."""
        own_files = select(SourceFile.id).where(SourceFile.batch_id == batch_id)
        if self.session.scalar(select(func.count()).select_from(BatchFile).where(
                BatchFile.batch_id != batch_id, BatchFile.file_id.in_(own_files))):
            return False
        for statement in (delete(Page).where(Page.batch_id == batch_id),
                          delete(BatchFile).where(BatchFile.batch_id == batch_id),
                          delete(SourceFile).where(SourceFile.batch_id == batch_id),
                          delete(Batch).where(Batch.id == batch_id)):
            self.session.execute(statement.execution_options(synchronize_session=False))
        self.session.expire_all()
        return True

    def set_batch_status(self, batch: Batch, status: str) -> None:
        batch.status = status
        if status in ("completed", "failed"):
            batch.finished_at = _now()

    # files ---------------------------------------------------------------------------
    def find_file(self, case_id: str, sha256: str) -> SourceFile | None:
        return self.session.scalar(
            select(SourceFile).where(SourceFile.case_id == case_id, SourceFile.sha256 == sha256)
        )

    def add_file(
        self, batch: Batch, *, sha256: str, filename: str, content_type: str | None,
        size: int, object_key: str,
    ) -> SourceFile:
        row = SourceFile(
            id=_new_id(), case_id=batch.case_id, batch_id=batch.id, sha256=sha256,
            filename=filename, content_type=content_type, size=size, object_key=object_key,
            status="stored", created_at=_now(),
        )
        self.session.add(row)
        self.session.flush()
        return row

    def get_file(self, file_id: str) -> SourceFile | None:
        return self.session.get(SourceFile, file_id)

    def add_batch_entry(
        self, batch: Batch, *, position: int, filename: str, outcome: str,
        sha256: str | None = None, file_id: str | None = None,
        error_code: str | None = None, error_message: str | None = None,
        original_filename: str | None = None,
    ) -> BatchFile:
        entry = BatchFile(batch_id=batch.id, position=position, filename=filename,
                          original_filename=original_filename, sha256=sha256,
                          file_id=file_id, outcome=outcome, error_code=error_code,
                          error_message=error_message)
        self.session.add(entry)
        self.session.flush()
        return entry

    def files_of_batch(self, batch_id: str) -> list[SourceFile]:
        return list(self.session.scalars(
            select(SourceFile).where(SourceFile.batch_id == batch_id)
            .order_by(SourceFile.created_at, SourceFile.filename)
        ))

    def files_of_case(self, case_id: str) -> list[SourceFile]:
        return list(self.session.scalars(
            select(SourceFile).where(SourceFile.case_id == case_id)
            .order_by(SourceFile.created_at, SourceFile.filename)
        ))

    def mark_file_failed(self, row: SourceFile, code: str, message: str) -> None:
        row.status, row.error_code, row.error_message = "failed", code, message

    # pages ---------------------------------------------------------------------------
    def create_pages(self, row: SourceFile, fmt: str, page_count: int) -> list[Page]:
        """Create the file's page rows once; a second call returns the existing ones."""
        existing = {p.index_in_file: p for p in self.session.scalars(
            select(Page).where(Page.file_id == row.id))}
        next_sequence = (self.session.scalar(
            select(func.max(Page.sequence)).where(Page.case_id == row.case_id)) or 0) + 1
        pages: list[Page] = []
        for index in range(1, page_count + 1):
            page = existing.get(index)
            if page is None:
                page = Page(
                    id=_new_id(), case_id=row.case_id, batch_id=row.batch_id, file_id=row.id,
                    index_in_file=index, sequence=next_sequence, status="pending",
                    rotation=0, updated_at=_now(),
                )
                next_sequence += 1
                self.session.add(page)
            pages.append(page)
        row.format, row.page_count, row.status = fmt, page_count, "split"
        self.session.flush()
        return pages

    def get_page(self, page_id: str) -> Page | None:
        return self.session.get(Page, page_id)

    def pages_of_batch(self, batch_id: str) -> list[Page]:
        return list(self.session.scalars(
            select(Page).where(Page.batch_id == batch_id).order_by(Page.sequence)))

    def pages_of_case(self, case_id: str) -> list[Page]:
        return list(self.session.scalars(
            select(Page).where(Page.case_id == case_id).order_by(Page.sequence)))

    def page_status_counts(self, batch_id: str) -> Counter[str]:
        rows = self.session.execute(
            select(Page.status, func.count()).where(Page.batch_id == batch_id)
            .group_by(Page.status))
        return Counter({status: count for status, count in rows})

    def page_progress(self, batch_id: str) -> Counter[str]:
        """Page counts by status, plus `classified`: pages the rules have typed."""
        counts = self.page_status_counts(batch_id)
        counts["classified"] = self.session.scalar(
            select(func.count()).select_from(Page).where(
                Page.batch_id == batch_id, Page.material_type.is_not(None))) or 0
        return counts

    def mark_page(self, page_id: str, status: str) -> bool:
        """Move an unfinished page to an intermediate `status`; False if it is finished."""
        result = self.session.execute(
            update(Page).where(Page.id == page_id, Page.status.not_in(FINISHED_PAGE_STATES))
            .values(status=status, updated_at=_now())
            .execution_options(synchronize_session=False))
        return bool(getattr(result, "rowcount", 0))

    def save_page_result(
        self, page: Page, *, status: str, ocr: dict[str, Any] | None = None,
        method: str | None = None, rotation: int = 0, engine: str | None = None,
        error_code: str | None = None, error_message: str | None = None,
    ) -> bool:
        """Write a page's result once: if another worker finished the page first (a
        redelivered task ran twice at the same time), nothing is written and False is
        returned. An engine label longer than its column is clipped (the OCR result
        keeps it whole): a too-long label must never make a read page unwritable."""
        if engine is not None:
            engine = engine[:ENGINE_LABEL_LENGTH]
        result = self.session.execute(
            update(Page).where(Page.id == page.id, Page.status.not_in(FINISHED_PAGE_STATES))
            .values(status=status, ocr=ocr, method=method, rotation=rotation, engine=engine,
                    error_code=error_code, error_message=error_message, updated_at=_now())
            .execution_options(synchronize_session=False))
        written = bool(getattr(result, "rowcount", 0))
        if written:
            self.session.expire(page)
        return written

    # assessments ---------------------------------------------------------------------
    def add_assessment(
        self, case: Case, *, report: dict[str, Any], catalog_version: str,
        inputs: dict[str, Any], inputs_digest: str, reason: str, actor: str,
        applicant_name: str | None, summarise: bool = True,
    ) -> Assessment:
        """Store a new assessment: from now on it is the case's report. The case's status
        and applicant name summarise it for lists (with `summarise`; a case nothing was
        submitted to yet stays `open`)."""
        row = Assessment(case_id=case.id, report=report, status=str(report["status"]),
                         catalog_version=catalog_version, inputs=inputs,
                         inputs_digest=inputs_digest, reason=reason, actor=actor[:200],
                         created_at=_now())
        self.session.add(row)
        if summarise:
            case.status = row.status
        if applicant_name:
            case.applicant_name = applicant_name
        self.session.flush()
        self.session.expire(case, ["current_assessment"])  # `case.report` is this one now
        return row

    def current_assessment(self, case_id: str) -> Assessment | None:
        return self.session.scalar(
            select(Assessment).where(Assessment.case_id == case_id)
            .order_by(Assessment.id.desc()).limit(1))

    def assessments_of_case(self, case_id: str) -> list[Assessment]:
        return list(self.session.scalars(
            select(Assessment).where(Assessment.case_id == case_id).order_by(Assessment.id)))

    def cases_not_assessed_with(self, catalog_version: str) -> list[str]:
        """Ids of cases whose current assessment ran with another catalog, or that have
        none."""
        newest = (select(func.max(Assessment.id)).where(Assessment.case_id == Case.id)
                  .correlate(Case).scalar_subquery())
        current = (select(Assessment.catalog_version).where(Assessment.id == newest)
                   .scalar_subquery())
        return list(self.session.scalars(
            select(Case.id).where(func.coalesce(current, "") != catalog_version)
            .order_by(Case.created_at)))
