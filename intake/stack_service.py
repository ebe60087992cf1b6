"""What a scanner station and the clerks at the window do with stacks: print a case's cover
sheet, upload a stack, follow where its pages went, and empty the inbox by hand. Plain
functions of ids and values, like `intake.service`; the API calls these."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from intake.access import OPERATOR, Principal, case_for, center_of_new_case
from intake.coversheet import ChecklistEntry, render_cover_sheet
from intake.errors import IntakeError
from intake.inputs import clean_content_type, clean_filename
from intake.runtime import Runtime
from intake.stacks import CLOSED_CASE_STATES, cut_stack_page
from intake.uploads import Upload, rejection, store_batch, store_original
from storage.cases import CaseRepository
from storage.models import Stack, StackPage
from storage.stacks import StackRepository

log = logging.getLogger(__name__)


class StackRunner(Protocol):
    def submit_stack(self, stack_id: str) -> None: ...

    def submit_batch(self, batch_id: str) -> None: ...


@dataclass(frozen=True)
class StackFileView:
    filename: str
    outcome: str  # accepted / duplicate / rejected
    sha256: str | None
    status: str | None  # stored / split / failed
    pages: int | None
    error_code: str | None
    error_message: str | None


@dataclass(frozen=True)
class StackPageView:
    """A page of a stack: where it went, or why it waits in the inbox."""

    id: str
    stack_id: str
    sequence: int  # in the stack, 1-based
    filename: str
    page_in_file: int
    kind: str | None  # cover / blank / page / unreadable; None until scanned
    state: str  # pending / scanned / cover / attaching / attached / held
    case_id: str | None
    case_number: str | None
    batch_id: str | None
    reason_code: str | None
    reason_message: str | None
    updated_at: datetime


@dataclass(frozen=True)
class CaseFed:
    case_id: str
    case_number: str
    batch_ids: list[str]
    pages: int


@dataclass(frozen=True)
class StackProgress:
    id: str
    status: str  # received / processing / completed
    created_at: datetime
    finished_at: datetime | None
    files: list[StackFileView]
    pages_total: int
    pages_scanned: int
    cover_sheets: list[StackPageView]
    cases: list[CaseFed]
    inbox: list[StackPageView]

    @property
    def finished(self) -> bool:
        return self.status == "completed"


def _page_view(page: StackPage, numbers: dict[str, str]) -> StackPageView:
    return StackPageView(
        id=page.id, stack_id=page.stack_id, sequence=page.sequence,
        filename=page.file.filename, page_in_file=page.index_in_file, kind=page.kind,
        state=page.state, case_id=page.case_id,
        case_number=numbers.get(page.case_id or ""), batch_id=page.batch_id,
        reason_code=page.reason_code, reason_message=page.reason_message,
        updated_at=page.updated_at)


def _case_numbers(repo: CaseRepository, pages: Sequence[StackPage]) -> dict[str, str]:
    numbers = {}
    for case_id in {p.case_id for p in pages if p.case_id}:
        case = repo.get_case(case_id)
        if case is not None:
            numbers[case_id] = case.number
    return numbers


class StackService:
    def __init__(self, runtime: Runtime, runner: StackRunner) -> None:
        self.runtime = runtime
        self.runner = runner

    # cover sheets -----------------------------------------------------------------------
    def cover_sheet_pdf(self, case_id: str, *, principal: Principal = OPERATOR
                        ) -> tuple[str, bytes]:
        """(case number, the case's cover sheet as a one-page A4 PDF). A sheet adds paper
        to its case, so only who may add paper (its handling clerk, an admin) prints it."""
        with self.runtime.database.session() as session:
            case = case_for(session, principal, case_id, change=True)
            number, item_code, accepted = case.number, case.item_code, case.acceptance_date
        item = self.runtime.catalog.item(item_code)
        checklist = [ChecklistEntry(slot.name, conditional=slot.required_when is not None
                                    or not slot.required,
                                    commitment_allowed=slot.commitment_allowed)
                     for slot in item.slots]
        settings = self.runtime.settings
        return number, render_cover_sheet(
            case_number=number, item_name=item.name, item_code=item.code,
            checklist=checklist, secret=settings.cover_sheet_secret.get_secret_value(),
            center_name=settings.service_center_name, acceptance_date=accepted)

    # stacks -------------------------------------------------------------------------------
    def upload_stack(self, uploads: Sequence[Upload], *, principal: Principal = OPERATOR,
                     idempotency_key: str | None = None) -> StackProgress:
        """Store every file of the stack durably, then hand the stack to the runner. As
        with batches, an empty or oversized file is rejected alone, and a retry with the
        same key (by the same uploader) gets the first stack back. The stack belongs to
        the uploader's center: its cover sheets feed only that center's cases."""
        created_by = principal.key_id
        settings = self.runtime.settings
        if not uploads:
            raise IntakeError("stack.empty")
        if len(uploads) > settings.max_files_per_batch:
            raise IntakeError("stack.too_many_files", limit=settings.max_files_per_batch)
        with self.runtime.database.session() as session:
            repo = StackRepository(session)
            if idempotency_key:
                earlier = repo.find_stack_by_key(created_by, idempotency_key)
                if earlier is not None:
                    return self._progress(session, earlier)
            try:
                stack = repo.create_stack(center_of_new_case(principal), created_by,
                                          idempotency_key)
            except IntegrityError:
                session.rollback()  # the same key in flight in another request
                earlier = repo.find_stack_by_key(created_by, idempotency_key or "")
                if earlier is None:
                    raise
                return self._progress(session, earlier)
            seen: set[str] = set()
            for position, upload in enumerate(uploads, start=1):
                self._accept(repo, stack, position, upload, seen)
            stack_id = stack.id
        log.info("stack received", extra={"stack_id": stack_id})
        self.runner.submit_stack(stack_id)
        return self.stack_progress(stack_id, principal=principal)

    def _accept(self, repo: StackRepository, stack: Stack, position: int, upload: Upload,
                seen: set[str]) -> None:
        name = clean_filename(upload.filename, fallback=f"file-{position}").name
        refused = rejection(upload, self.runtime.settings.max_upload_bytes)
        if refused is not None:
            repo.add_file(stack, position=position, filename=name, outcome="rejected",
                          error_code=refused[0], error_message=refused[1])
            return
        digest = upload.sha256
        if digest in seen:
            repo.add_file(stack, position=position, filename=name, outcome="duplicate",
                          sha256=digest)
            return
        key = store_original(self.runtime, upload)  # durable before the row says it exists
        seen.add(digest)
        repo.add_file(stack, position=position, filename=name, outcome="accepted",
                      sha256=digest, content_type=clean_content_type(upload.content_type),
                      size=upload.size, object_key=key)

    def stack_progress(self, stack_id: str, *, principal: Principal = OPERATOR
                       ) -> StackProgress:
        with self.runtime.database.session() as session:
            stack = StackRepository(session).get_stack(stack_id)
            if stack is None or not _sees(principal, stack.center_id):
                raise IntakeError("stack.not_found", stack_id=stack_id)
            return self._progress(session, stack)

    def _progress(self, session: Session, stack: Stack) -> StackProgress:
        repo, cases = StackRepository(session), CaseRepository(session)
        pages = repo.pages_of_stack(stack.id)
        numbers = _case_numbers(cases, pages)
        fed: dict[str, CaseFed] = {}
        for page in pages:
            if page.state not in ("attaching", "attached") or page.case_id is None:
                continue
            entry = fed.get(page.case_id) or CaseFed(page.case_id, numbers.get(
                page.case_id, ""), [], 0)
            batch_ids = entry.batch_ids + ([page.batch_id] if page.batch_id
                                           and page.batch_id not in entry.batch_ids else [])
            fed[page.case_id] = CaseFed(entry.case_id, entry.case_number, batch_ids,
                                        entry.pages + 1)
        files = [StackFileView(f.filename, f.outcome, f.sha256, f.status, f.page_count,
                               f.error_code, f.error_message)
                 for f in repo.files_of_stack(stack.id)]
        return StackProgress(
            id=stack.id, status=stack.status, created_at=stack.created_at,
            finished_at=stack.finished_at, files=files, pages_total=len(pages),
            pages_scanned=sum(1 for p in pages if p.state != "pending"),
            cover_sheets=[_page_view(p, numbers) for p in pages if p.state == "cover"],
            cases=list(fed.values()),
            inbox=[_page_view(p, numbers) for p in pages if p.state == "held"])

    # inbox --------------------------------------------------------------------------------
    def inbox(self, *, principal: Principal = OPERATOR, limit: int = 100, offset: int = 0
              ) -> tuple[int, list[StackPageView]]:
        """The principal's center's pages no cover sheet could place, oldest first, and
        how many there are."""
        with self.runtime.database.session() as session:
            repo = StackRepository(session)
            pages = repo.inbox(principal.center_id, limit=limit, offset=offset)
            return repo.inbox_count(principal.center_id), [_page_view(p, {}) for p in pages]

    def attach(self, page_id: str, case_id: str, *, principal: Principal = OPERATOR
               ) -> StackPageView:
        """Put a held page into a case by hand, as a batch of its own. Repeating the call
        for the same case returns the same result; a page already attached elsewhere is a
        conflict. Only a page of the principal's center, only to a case it may add paper
        to."""
        with self.runtime.database.session() as session:
            repo, cases = StackRepository(session), CaseRepository(session)
            page = repo.get_page(page_id)
            stack = repo.get_stack(page.stack_id) if page is not None else None
            if page is None or stack is None or not _sees(principal, stack.center_id):
                raise IntakeError("inbox.page_not_found", page_id=page_id)
            case = case_for(session, principal, case_id, change=True)
            if case.center_id != stack.center_id:  # a global admin crossing centers
                raise IntakeError("case.not_found", case_id=case_id)
            if page.state == "attached" and page.case_id == case.id:
                return _page_view(page, {case.id: case.number})
            if case.state in CLOSED_CASE_STATES:
                raise IntakeError("case.closed", case_number=case.number)
            if not repo.claim_for_case(page_id, case.id):
                other = cases.get_case(page.case_id) if page.case_id else None
                raise IntakeError("inbox.page_not_held",
                                  case_number=other.number if other else "")
            session.refresh(page)
            row, index, sequence = page.file, page.index_in_file, page.sequence
        upload = cut_stack_page(self.runtime, row, index, sequence)
        with self.runtime.database.session() as session:
            batch, created = store_batch(self.runtime, CaseRepository(session), case_id,
                                         [upload], f"inbox:{page_id}",
                                         uploaded_by=principal.key_id)
            batch_id = batch.id
            StackRepository(session).set_batch([page_id], batch_id)
        if created:
            log.info("inbox page attached", extra={"page_id": page_id, "case_id": case_id,
                                                   "batch_id": batch_id})
        self.runner.submit_batch(batch_id)
        with self.runtime.database.session() as session:
            page = StackRepository(session).get_page(page_id)
            assert page is not None
            return _page_view(page, _case_numbers(CaseRepository(session), [page]))


def _sees(principal: Principal, center_id: int) -> bool:
    return principal.center_id is None or principal.center_id == center_id
