"""The batch pipeline: an ordered list of stages, each a function of ids.

    split   original file -> page rows (one per page; a bad file fails alone)
    read    page row -> OCR or text-layer lines (a bad page fails alone)
    assess  all pages of the case -> a stored assessment (`intake.assessments`)

Each stage reloads what it needs by id and is idempotent: running it twice changes nothing
the second time, so a runner may retry or redeliver freely. Several processes may run stages
of one batch at once (Celery workers): a page's result is written once (the first writer
wins), and exactly one `assess` of a batch commits (it locks the batch row first).

A page goes pending -> prepared (its image decoded or rendered from the original) -> done,
blank or failed; the last three are final.
"""

from __future__ import annotations

import itertools
import logging
import random
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from intake import metrics
from intake.access import actor_of_key
from intake.assessments import BATCH_COMPLETED, CERTIFICATE_VERIFIED, reassess_case
from intake.certificates import CertificateService
from intake.errors import message
from intake.lifecycle import Lifecycle
from intake.runtime import Runtime
from ocr.reader import read_page
from ocr.sources import Source, SourceError, open_source
from ocr.types import OcrPage
from storage.cases import FINISHED_PAGE_STATES, CaseRepository
from storage.certificates import CertificateRegistry
from storage.models import SourceFile
from storage.objects import ObjectStoreError

log = logging.getLogger(__name__)

def archive_key(batch_id: str) -> str:
    """Object-store key of a batch's searchable archive PDF (`ocr.archive`)."""
    return f"derived/archives/{batch_id}.pdf"


TERMINAL_PAGE_STATES = frozenset(FINISHED_PAGE_STATES)
OPEN_SOURCES = 4
OPEN_SOURCES_BYTES = 256 * 1024 * 1024


def _transient_errors() -> tuple[type[Exception], ...]:
    from sqlalchemy.exc import InterfaceError, OperationalError

    errors: list[type[Exception]] = [OperationalError, InterfaceError, ObjectStoreError,
                                     ConnectionError, TimeoutError]
    try:  # the S3 client's transport; absent when only the local store is installed
        from urllib3.exceptions import HTTPError
    except ImportError:  # pragma: no cover
        pass
    else:
        errors.append(HTTPError)
    return tuple(errors)


# Failures of the infrastructure rather than of the page: the database or the object store
# briefly unreachable. A runner that can retry later (Celery) asks the pipeline to raise
# them instead of marking the page failed.
TRANSIENT_ERRORS = _transient_errors()

# Codes of the registry (`intake.errors`) for a page that failed for want of storage, or
# because the engine could not read it.
STORE_UNAVAILABLE = "page.store_unavailable"
READ_FAILED = "page.read_failed"

# Slot states a certificate from the store could still change.
UNSETTLED = ("missing", "invalid", "reused")


T = TypeVar("T")


def backoff(retries: int, *, base: float = 2.0, cap: float = 60.0) -> float:
    """Exponential backoff with full jitter: 2, 4, 8 … seconds, at most `cap` (it must
    stay below the broker's visibility timeout, which delayed retries wait within)."""
    return random.uniform(base, min(cap, base * 2 ** retries))


def case_page_message(error: SourceError, sequence: int) -> str:
    """The message of a page that failed, worded with the page's number in the case: the
    reader numbers pages within their file, the clerk sees them numbered across the case
    (batch view, archive PDF, report)."""
    if error.page is None:
        return error.message
    return message(error.code, **{**error.fields, "page": sequence})


def read_through(repo: CaseRepository, batch_id: str) -> bool:
    """Every file of the batch split and every page of it finished: nothing is left to
    read before it can be assessed."""
    return (all(f.status != "stored" for f in repo.files_of_batch(batch_id))
            and all(p.status in TERMINAL_PAGE_STATES for p in repo.pages_of_batch(batch_id)))


@dataclass(frozen=True)
class Stage:
    name: str
    description: str


STAGES = (
    Stage("split", "open each original and create its pages"),
    Stage("read", "read every page: text layer or OCR"),
    Stage("assess", "classify, extract and check the case's materials"),
)


class Pipeline:
    """The stages over one runtime. With `raise_transient`, `TRANSIENT_ERRORS` propagate to
    the caller (which retries) instead of failing the page."""

    def __init__(self, runtime: Runtime, *, raise_transient: bool = False,
                 sleep: Callable[[float], object] = time.sleep) -> None:
        self.runtime = runtime
        self.raise_transient = raise_transient
        self.sleep = sleep  # between in-process retries; a test passes a recorder
        # Originals opened lately, by file id, most recent last: pages of several batches
        # are read in turn (`ThreadRunner`), and reopening means fetching the original.
        self._open: OrderedDict[str, tuple[Source, int]] = OrderedDict()

    # split ---------------------------------------------------------------------------
    def split(self, batch_id: str, *, only_new: bool = False) -> list[str]:
        """Create page rows for every accepted file not split yet; return the ids of the
        batch's pages to read — with `only_new`, only of the pages this call created (the
        others were handed out by the split that created them). A batch still receiving
        its upload is split as far as its files have arrived."""
        to_read: list[str] = []
        created: set[str] = set()
        started = time.perf_counter()
        with self.runtime.database.session() as session:
            repo = CaseRepository(session)
            # Page sequence numbers are per case: two batches of one case split by two
            # workers at once must not number their pages alike.
            repo.lock_case_of_batch(batch_id)
            batch = repo.get_batch(batch_id)
            if batch is None:
                raise LookupError(f"batch {batch_id} not found")
            if batch.status == "received":
                repo.set_batch_status(batch, "processing")
            for row in repo.files_of_batch(batch_id):
                if row.status == "failed":
                    continue
                if row.status == "stored":
                    try:
                        source = self._source(row)
                    except SourceError as exc:
                        repo.mark_file_failed(row, exc.code, exc.message)
                        log.warning("file rejected: %s", exc.code,
                                    extra={"batch_id": batch_id, "file_id": row.id,
                                           "code": exc.code})
                        continue
                    created.update(p.id for p in repo.create_pages(
                        row, source.format, source.page_count))
            to_read = [p.id for p in repo.pages_of_batch(batch_id)
                       if p.status not in TERMINAL_PAGE_STATES
                       and (not only_new or p.id in created)]
        metrics.STAGE_SECONDS.labels("split").observe(time.perf_counter() - started)
        return to_read

    def _source(self, row: SourceFile) -> Source:
        cached = self._open.get(row.id)
        if cached is not None:
            self._open.move_to_end(row.id)
            return cached[0]
        data = self.runtime.objects.get(row.object_key)
        source = open_source(data, row.filename, limits=self.runtime.limits,
                             dpi=self.runtime.settings.pdf_dpi)
        self._open[row.id] = (source, len(data))
        # Image sources keep their bytes: hold a few originals, never much memory.
        while len(self._open) > 1 and (
                len(self._open) > OPEN_SOURCES
                or sum(size for _, size in self._open.values()) > OPEN_SOURCES_BYTES):
            _, (oldest, _) = self._open.popitem(last=False)
            oldest.close()
        return source

    def close_source(self) -> None:
        """Release the cached originals (PDFium keeps native memory per open document)."""
        while self._open:
            _, (source, _) = self._open.popitem(last=False)
            source.close()

    # cancel --------------------------------------------------------------------------
    def cancel(self, batch_id: str) -> int:
        """Fail every unfinished page of the batch, and every file not yet split, with
        `batch.cancelled`; return how many pages were cancelled. A page being read at the
        same time keeps whichever result is written first. The batch is then assessed
        with what it has (`assess`)."""
        cancelled = 0
        with self.runtime.database.session() as session:
            repo = CaseRepository(session)
            repo.lock_case_of_batch(batch_id)
            for row in repo.files_of_batch(batch_id):
                if row.status == "stored":  # not split yet: it will have no pages
                    repo.mark_file_failed(row, "batch.cancelled", message("batch.cancelled"))
            for page in repo.pages_of_batch(batch_id):
                if page.status not in TERMINAL_PAGE_STATES and repo.save_page_result(
                        page, status="failed", error_code="batch.cancelled",
                        error_message=message("batch.cancelled", page=page.sequence)):
                    cancelled += 1
        metrics.FAILURES.labels("batch.cancelled").inc(cancelled)
        log.warning("batch cancelled: %d pages not read", cancelled,
                    extra={"batch_id": batch_id, "stage": "cancel", "code": "batch.cancelled"})
        return cancelled

    # read ----------------------------------------------------------------------------
    def read(self, page_id: str) -> str | None:
        """Read one page and store its result; return the status written, or None when the
        page was already finished (by an earlier run or by another worker)."""
        started = time.perf_counter()
        with self.runtime.database.session() as session:
            page = CaseRepository(session).get_page(page_id)
            if page is None or page.status in TERMINAL_PAGE_STATES:
                return None
            file_row, index, batch_id = page.file, page.index_in_file, page.batch_id
            number = page.sequence
        context = {"batch_id": batch_id, "page_id": page_id, "stage": "read"}

        try:
            raw = self._source(file_row).read_page(index - 1)
        except SourceError as exc:
            return self._finish(page_id, context, started, status="failed",
                                error_code=exc.code, error_message=case_page_message(exc, number))
        except Exception as exc:
            return self._failed(page_id, number, context, started, exc, STORE_UNAVAILABLE
                                if isinstance(exc, TRANSIENT_ERRORS) else READ_FAILED)
        if isinstance(raw, OcrPage):  # text layer: nothing to recognise
            return self._finish(page_id, context, started, result=raw)

        with self.runtime.database.session() as session:
            if not CaseRepository(session).mark_page(page_id, "prepared"):
                return None
        try:
            ocr_started = time.perf_counter()
            result = read_page(raw, self.runtime.engine)
            metrics.STAGE_SECONDS.labels("ocr").observe(time.perf_counter() - ocr_started)
        except SourceError as exc:
            return self._finish(page_id, context, started, status="failed",
                                error_code=exc.code, error_message=case_page_message(exc, number))
        except Exception as exc:
            return self._failed(page_id, number, context, started, exc, READ_FAILED)
        return self._finish(page_id, context, started, result=result)

    def _failed(self, page_id: str, number: int, context: dict[str, str], started: float,
                exc: Exception, code: str) -> str | None:
        if self.raise_transient and isinstance(exc, TRANSIENT_ERRORS):
            raise exc
        # An engine crash on one page must not take the batch down with it; the page is
        # kept, marked, and visible to the clerk, who can rescan it.
        log.error("page could not be read", exc_info=exc, extra={**context, "code": code})
        return self._finish(page_id, context, started, status="failed", error_code=code,
                            error_message=message(code, page=number))

    def read_or_fail(self, page_id: str) -> str | None:
        """`read`, except that an error that retrying cannot mend (a bug, a write the
        database refuses) fails the page, with a message for the clerk, instead of
        leaving it unread and its batch never finished. Transient errors propagate, for
        the runner to retry."""
        try:
            return self.read(page_id)
        except TRANSIENT_ERRORS:
            raise
        except Exception:
            log.exception("page result could not be stored; failing the page",
                          extra={"page_id": page_id, "stage": "read"})
            return self.fail_page(page_id, READ_FAILED)

    def fail_page(self, page_id: str, code: str) -> str | None:
        """Mark a page failed for good with a registered code (a runner gave up retrying);
        no-op once finished."""
        with self.runtime.database.session() as session:
            page = CaseRepository(session).get_page(page_id)
            batch_id = page.batch_id if page is not None else ""
            number = page.sequence if page is not None else None
        return self._finish(page_id, {"batch_id": batch_id, "page_id": page_id,
                                      "stage": "read"}, time.perf_counter(),
                            status="failed", error_code=code,
                            error_message=message(code, page=number))

    def _finish(self, page_id: str, context: dict[str, str], started: float, *,
                result: OcrPage | None = None, status: str = "failed",
                error_code: str | None = None, error_message: str | None = None) -> str | None:
        with self.runtime.database.session() as session:
            repo = CaseRepository(session)
            page = repo.get_page(page_id)
            if page is None:
                return None
            if result is not None:
                status = "blank" if result.blank else "done"
                written = repo.save_page_result(
                    page, status=status, ocr=result.to_dict(), method=result.method,
                    rotation=result.rotation, engine=result.engine or None)
            else:
                written = repo.save_page_result(page, status=status, error_code=error_code,
                                                error_message=error_message)
        if not written:
            log.info("page already finished elsewhere", extra=context)
            return None
        metrics.PAGES.labels(status).inc()
        metrics.STAGE_SECONDS.labels("read").observe(time.perf_counter() - started)
        if status == "failed":
            metrics.FAILURES.labels(error_code or "unknown").inc()
            log.warning("page failed: %s", error_code, extra={**context, "code": error_code})
        return status

    # assess --------------------------------------------------------------------------
    def assess(self, batch_id: str, *, only_when_read: bool = False) -> bool:
        """Assess the batch's case and mark the batch completed. Runs once: a completed
        batch is left alone, and of several concurrent callers one commits and the others
        find the batch completed. A batch still receiving its upload is never assessed.
        With `only_when_read`, nothing happens while any file of the batch is unsplit or
        any page unfinished. Returns whether this call completed the batch."""
        started = time.perf_counter()
        with self.runtime.database.session() as session:
            batch = CaseRepository(session).get_batch(batch_id)
            if batch is None:
                raise LookupError(f"batch {batch_id} not found")
            already_completed = batch.status == "completed"
        if already_completed:
            # A worker killed between the assessment and its archive copy leaves the copy
            # missing; the redelivered task makes it now.
            if not self.runtime.objects.exists(archive_key(batch_id)):
                self._archive(batch_id)
            return False
        with self.runtime.database.session() as session:
            repo = CaseRepository(session)
            repo.lock_case_of_batch(batch_id)  # writes first: they take the locks
            if not repo.lock_open_batch(batch_id):  # another caller completed it meanwhile
                return False
            if only_when_read and not read_through(repo, batch_id):
                return False
            batch = repo.get_batch(batch_id)
            assert batch is not None
            case = batch.case
            case_id = case.id
            # The key that uploaded the batch caused this assessment and its lookups.
            actor = actor_of_key(session, batch.uploaded_by or case.handler_key_id)
            stored = reassess_case(self.runtime, session, case_id, reason=BATCH_COMPLETED,
                                   actor=actor)
            verified = CertificateService(self.runtime).auto_verify(session, case, stored.report)
            if self._new_certificates_matter(session, case.item_code, stored.report, verified):
                reassess_case(self.runtime, session, case_id, reason=CERTIFICATE_VERIFIED,
                              actor=actor)
            Lifecycle(self.runtime).record_precheck(repo, case)
            repo.set_batch_status(batch, "completed")
        metrics.STAGE_SECONDS.labels("assess").observe(time.perf_counter() - started)
        log.info("batch assessed", extra={"case_id": case_id, "batch_id": batch_id,
                                          "stage": "assess"})
        self._archive(batch_id)
        return True

    def _new_certificates_matter(self, session: Session, item_code: str,
                                 report: dict[str, Any], certificate_ids: list[str]) -> bool:
        """Whether certificates just stored from the case's own materials are an input
        that can change its report: only a reusable slot that paper did not settle can
        use one (the documents stored come from slots their paper settled)."""
        if not certificate_ids:
            return False
        registry = CertificateRegistry(session)
        types = {row.material_type for row in map(registry.get, certificate_ids) if row}
        item = self.runtime.catalog.item(item_code)
        reusable = {s.code for s in item.slots if s.reusable and types & set(s.accepts)}
        return any(slot.get("code") in reusable and slot.get("state") in UNSETTLED
                   for slot in report.get("slots", []))

    def _archive(self, batch_id: str) -> None:
        """The batch's searchable archive copy (originals + invisible OCR text) at
        `archive_key`. Failing to fetch the originals or to store the copy is transient
        and raised, for the runner to retry (a redelivered or retried `assess` finds the
        batch completed and makes only the copy): it is never silently missing. Failing
        to build it (an original the writer cannot embed) cannot be mended by retrying;
        the assessment stands and the failure is logged and counted."""
        from ocr.archive import ArchiveFile, build_archive

        with self.runtime.database.session() as session:
            repo = CaseRepository(session)
            by_file: dict[str, dict[int, OcrPage]] = {}
            for page in repo.pages_of_batch(batch_id):
                if page.ocr is not None:
                    by_file.setdefault(page.file_id, {})[page.index_in_file] = \
                        OcrPage.from_dict(page.ocr)
            files = [(row.object_key, row.page_count or 0, by_file.get(row.id, {}))
                     for row in repo.files_of_batch(batch_id) if row.status != "failed"]
        originals = [ArchiveFile(self.runtime.objects.get(key),
                                 [pages.get(i) for i in range(1, count + 1)])
                     for key, count, pages in files]
        try:
            archive = build_archive(originals)
        except Exception:
            metrics.FAILURES.labels("archive.build_failed").inc()
            log.exception("archive copy could not be built", extra={
                "batch_id": batch_id, "stage": "archive", "code": "archive.build_failed"})
            return
        del originals
        self.runtime.objects.put(archive_key(batch_id), archive)

    # all stages, in-process ----------------------------------------------------------
    def retrying(self, action: Callable[[], T], *, what: str, context: dict[str, str]) -> T:
        """`action`, retried after a transient failure (database or object store away)
        with exponential backoff, up to `task_max_retries` times; then the error
        propagates. What Celery's retries do for the workers, for the in-process runners."""
        for attempt in itertools.count():
            try:
                return action()
            except TRANSIENT_ERRORS as exc:
                if attempt >= self.runtime.settings.task_max_retries:
                    raise
                delay = backoff(attempt)
                metrics.TASK_RETRIES.labels(what).inc()
                log.warning("%s: transient failure, retrying in %.0f s: %s", what, delay,
                            type(exc).__name__, extra={**context, "stage": what})
                self.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    def run_batch(self, batch_id: str,
                  on_progress: Callable[[str, int, int], None] | None = None) -> None:
        context = {"batch_id": batch_id}
        page_ids = self.retrying(lambda: self.split(batch_id), what="split", context=context)
        for done, page_id in enumerate(page_ids, start=1):
            self.retrying(lambda: self.read_or_fail(page_id),  # noqa: B023 - called at once
                          what="read", context={**context, "page_id": page_id})
            if on_progress:
                on_progress("read", done, len(page_ids))
        self.retrying(lambda: self.assess(batch_id, only_when_read=True), what="assess",
                      context=context)
        self.close_source()
