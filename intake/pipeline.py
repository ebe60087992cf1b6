"""The batch pipeline: an ordered list of stages, each a function of ids.

    split   original file -> page rows (one per page; a bad file fails alone)
    read    page row -> OCR or text-layer lines (a bad page fails alone)
    assess  all pages of the case -> documents + completeness report

Each stage reloads what it needs by id and is idempotent: running it twice changes nothing
the second time, so a runner may retry or redeliver freely.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from intake.assess import Assessment, Unreadable, assess
from intake.runtime import Runtime
from ocr.reader import read_page
from ocr.sources import Source, SourceError, open_source
from ocr.types import OcrPage
from rules.types import ReusableCertificate
from storage.cases import CaseRepository
from storage.models import Case, Page, SourceFile

log = logging.getLogger(__name__)

TERMINAL_PAGE_STATES = frozenset({"done", "blank", "failed"})


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
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._open: tuple[str, Source] | None = None  # last opened original, reused per page

    # split ---------------------------------------------------------------------------
    def split(self, batch_id: str) -> list[str]:
        """Create page rows for every accepted file; return the ids of pages to read."""
        to_read: list[str] = []
        with self.runtime.database.session() as session:
            repo = CaseRepository(session)
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
                    repo.create_pages(row, source.format, source.page_count)
            to_read = [p.id for p in repo.pages_of_batch(batch_id)
                       if p.status not in TERMINAL_PAGE_STATES]
        return to_read

    def _source(self, row: SourceFile) -> Source:
        if self._open is not None and self._open[0] == row.id:
            return self._open[1]
        data = self.runtime.objects.get(row.object_key)
        source = open_source(data, row.filename, limits=self.runtime.limits,
                             dpi=self.runtime.settings.pdf_dpi)
        self._open = (row.id, source)
        return source

    # read ----------------------------------------------------------------------------
    def read(self, page_id: str) -> None:
        with self.runtime.database.session() as session:
            repo = CaseRepository(session)
            page = repo.get_page(page_id)
            if page is None or page.status in TERMINAL_PAGE_STATES:
                return
            self._read_into(repo, page)

    def _read_into(self, repo: CaseRepository, page: Page) -> None:
        context = {"batch_id": page.batch_id, "page_id": page.id, "stage": "read"}
        try:
            source = self._source(page.file)
            raw = source.read_page(page.index_in_file - 1)
            result = read_page(raw, self.runtime.engine) if not isinstance(raw, OcrPage) else raw
        except SourceError as exc:
            repo.save_page_result(page, status="failed", error_code=exc.code,
                                  error_message=exc.message)
            log.warning("page failed: %s", exc.code, extra={**context, "code": exc.code})
            return
        except Exception:
            # An engine crash on one page must not take the batch down with it; the page is
            # kept, marked, and visible to the clerk, who can rescan it.
            log.exception("page could not be read", extra=context)
            repo.save_page_result(
                page, status="failed", error_code="page.read_failed",
                error_message="本页无法识别，请重新扫描本页后上传。"
                              "(This page could not be read; please rescan it.)")
            return
        repo.save_page_result(
            page, status="blank" if result.blank else "done", ocr=result.to_dict(),
            method=result.method, rotation=result.rotation, engine=result.engine or None)

    # assess --------------------------------------------------------------------------
    def assess(self, batch_id: str) -> None:
        with self.runtime.database.session() as session:
            repo = CaseRepository(session)
            batch = repo.get_batch(batch_id)
            if batch is None:
                raise LookupError(f"batch {batch_id} not found")
            case = batch.case
            result = assess_stored_case(self.runtime, repo, case)
            repo.replace_documents(case.id, result.documents())
            for cls in result.assessment.analysis.classifications:
                row = result.pages[cls.page - 1]
                row.material_type, row.class_confidence = cls.material_type, cls.confidence
            repo.save_report(case, result.report_dict(), result.applicant_name)
            if batch.status != "completed":
                repo.set_batch_status(batch, "completed")
        log.info("batch assessed", extra={"batch_id": batch_id, "stage": "assess"})

    # all stages, in-process ----------------------------------------------------------
    def run_batch(self, batch_id: str,
                  on_progress: Callable[[str, int, int], None] | None = None) -> None:
        page_ids = self.split(batch_id)
        for done, page_id in enumerate(page_ids, start=1):
            self.read(page_id)
            if on_progress:
                on_progress("read", done, len(page_ids))
        self.assess(batch_id)
        self._open = None


@dataclass(frozen=True)
class CaseAssessment:
    """An assessment of a stored case, with the rules' page numbers (1..n over the pages it
    was given) mapped back to the case's page sequence numbers."""

    assessment: Assessment
    pages: list[Page]

    def _sequence(self, number: int) -> int:
        return self.pages[number - 1].sequence

    def documents(self) -> list[dict[str, Any]]:
        out = []
        for doc in self.assessment.report.documents:
            data = doc.to_dict()
            data["pages"] = [self._sequence(n) for n in doc.pages]
            out.append(data)
        return out

    def report_dict(self) -> dict[str, Any]:
        report = self.assessment.to_dict()
        report["documents"] = self.documents()
        for doc in report["documents"]:
            for fld in doc["fields"].values():
                if fld.get("page") is not None:
                    fld["page"] = self._sequence(fld["page"])
        report["unassigned_pages"] = [self._sequence(n) for n in report["unassigned_pages"]]
        return report

    @property
    def applicant_name(self) -> str | None:
        return next((d.field_value("applicant_name")
                     for d in self.assessment.report.documents
                     if d.material_type == "application_form"), None)


def assess_stored_case(runtime: Runtime, repo: CaseRepository, case: Case,
                       certificates: Sequence[ReusableCertificate] = ()) -> CaseAssessment:
    """Run the rules over every page of the case read so far. Pure apart from the loads:
    no OCR runs here, so it is cheap enough to do on every request."""
    all_pages = repo.pages_of_case(case.id)
    pages = [p for p in all_pages if p.status in ("done", "blank") and p.ocr is not None]
    unreadable = [
        Unreadable(p.file.filename, p.index_in_file, p.error_code or "page.failed",
                   p.error_message or "") for p in all_pages if p.status == "failed"
    ] + [
        Unreadable(f.filename, None, f.error_code or "file.failed", f.error_message or "")
        for f in repo.files_of_case(case.id) if f.status == "failed"
    ]
    item = runtime.catalog.item(case.item_code)
    result = assess([OcrPage.from_dict(p.ocr) for p in pages if p.ocr is not None], item,
                    runtime.catalog, case.acceptance_date, facts=case.facts,
                    certificates=certificates, unreadable=unreadable)
    return CaseAssessment(assessment=result, pages=pages)
