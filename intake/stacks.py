"""Scanned stacks: scans of several cases one after another, split by their cover sheets.

    split   each stored file -> stack page rows (a file that cannot be opened becomes one
            held page: never dropped)
    scan    each page -> cover sheet (QR code of `intake.coversheet`), blank, or a page
    route   all pages, in order -> every page after a cover sheet goes to that sheet's
            case, until the next cover sheet; cover sheets stay in the stack (they are not
            materials); pages before the first cover sheet, and behind a sheet whose MAC
            fails, whose case is unknown or closed, or whose code cannot be read, are held
            in the inbox with the reason
    attach  each run of pages behind one valid cover sheet -> one batch of that case (the
            pages cut out of the stack's files losslessly), handed to the batch pipeline

Like `intake.pipeline`, each stage reloads what it needs by id and may run twice, or twice
at once: page rows are unique per file and index, a page's scan is written once, routing
happens once under the stack's row lock, and a segment's batch has the idempotency key
`stack:<stack id>:<segment>`, so a redelivered run finds it instead of making another.

Blank pages (the empty backs of a duplex scan, separator sheets) are not cover sheets:
they never change which case the following pages go to, they go with their neighbours, and
the batch pipeline keeps them as blank pages that never form or split a document.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any

import numpy as np

from intake.coversheet import parse_cover_code
from intake.errors import message
from intake.lifecycle import TERMINAL_STATES
from intake.runtime import Runtime
from intake.uploads import Upload, store_batch
from ocr.barcodes import scan_qr_codes
from ocr.errors import SourceError
from ocr.pagecut import cut_page
from ocr.prepare import is_blank
from ocr.sources import Source, open_source
from storage.cases import CaseRepository
from storage.models import StackFile
from storage.stacks import StackRepository

log = logging.getLogger(__name__)

CLOSED_CASE_STATES = TERMINAL_STATES
"""Case states (`intake.lifecycle`) that take no more materials: refused, closed, withdrawn.
A cover sheet for such a case holds its pages in the inbox."""

SCAN_DPI = 200
"""PDF pages are rendered at this resolution to look for cover sheets: a 45 mm QR code is
then ~10 px per module, read reliably through skew and photocopy blur."""

UNREADABLE_COVER_MM = 30.0
"""A QR symbol at least this wide that cannot be decoded is taken for a damaged cover sheet
(theirs are 45 mm; e-licence codes on certificates are about 20 mm), so the pages behind
it wait in the inbox instead of joining the case before it."""


# -- scan: one page -------------------------------------------------------------------------

@dataclass(frozen=True)
class PageScan:
    kind: str  # cover / blank / page
    cover_text: str | None = None  # the cover sheet's QR text; None: unreadable code


def scan_page(image: np.ndarray, dpi: float) -> PageScan:
    """What one page of a stack is. Pure: pixels in, verdict out."""
    if is_blank(image):
        return PageScan("blank")
    found = scan_qr_codes(image)
    claims = [c.text for c in found.codes if parse_cover_code(c.text) is not None]
    if claims:
        # Both codes of one sheet say the same; two that differ are a doctored sheet, and
        # the mismatch fails verification like any other edit.
        text = claims[0] if len(set(claims)) == 1 else "DOCINTAKE:COVER:MISMATCH"
        return PageScan("cover", text[:200])
    px_per_mm = dpi / 25.4
    if not found.codes and any(d.side >= UNREADABLE_COVER_MM * px_per_mm
                               for d in found.damaged):
        return PageScan("cover", None)
    return PageScan("page")


# -- route: the whole stack (pure) ----------------------------------------------------------

@dataclass(frozen=True)
class ScannedPage:
    id: str
    sequence: int
    kind: str  # cover / blank / page / unreadable
    cover_text: str | None = None
    reason_code: str | None = None  # an unreadable page's own failure


@dataclass(frozen=True)
class CoverVerdict:
    """A cover sheet checked against the secret and the cases: its case, or why not."""

    case_id: str | None
    reason_code: str | None = None
    fields: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Routing:
    page_id: str
    state: str  # cover / attaching / held
    case_id: str | None = None
    segment: int | None = None
    reason_code: str | None = None
    reason_fields: dict[str, Any] = field(default_factory=dict)


def route_pages(pages: Sequence[ScannedPage],
                check_cover: Callable[[str | None, int], CoverVerdict]) -> list[Routing]:
    """Where each page of a stack goes, in stack order. A cover sheet opens a segment
    (numbered by its own sequence) for its case, or a held run with the reason its case
    was refused; every other page, blank ones included, follows the latest cover sheet."""
    out: list[Routing] = []
    target = CoverVerdict(None, "stack.no_cover_sheet")
    segment: int | None = None
    for page in sorted(pages, key=lambda p: p.sequence):
        if page.kind == "cover":
            target = check_cover(page.cover_text, page.sequence)
            segment = page.sequence
            # A sheet whose code could not be read might be no cover sheet at all: it
            # waits in the inbox with the pages behind it, so nothing is lost either way.
            state = "held" if page.cover_text is None else "cover"
            out.append(Routing(page.id, state, target.case_id, segment,
                               target.reason_code, target.fields))
        elif page.kind == "unreadable":
            out.append(Routing(page.id, "held", None, segment,
                               page.reason_code or "page.render_failed", {}))
        elif target.case_id is not None:
            out.append(Routing(page.id, "attaching", target.case_id, segment))
        else:
            out.append(Routing(page.id, "held", None, segment, target.reason_code,
                               target.fields))
    return out


# -- the stages -------------------------------------------------------------------------------

class StackPipeline:
    """The stack stages over one runtime. `submit_batch` hands a stored batch to the batch
    pipeline (the runner's `submit_batch`)."""

    def __init__(self, runtime: Runtime, submit_batch: Callable[[str], None]) -> None:
        self.runtime = runtime
        self.submit_batch = submit_batch
        self._open: tuple[str, Source, bytes] | None = None

    def run(self, stack_id: str) -> None:
        try:
            if not self.split(stack_id):
                return
            for page_id in self.pages_to_scan(stack_id):
                self.scan(page_id)
            self.route(stack_id)
            self.attach(stack_id)
        finally:
            self._close()

    # split ------------------------------------------------------------------------------
    def split(self, stack_id: str) -> bool:
        """Page rows for every stored file; False when the stack is already completed."""
        with self.runtime.database.session() as session:
            repo = StackRepository(session)
            locked = repo.lock_open_stack(stack_id)
            stack = repo.get_stack(stack_id)
            if stack is None:
                raise LookupError(f"stack {stack_id} not found")
            if not locked:
                return False
            if stack.status == "received":
                repo.set_stack_status(stack, "processing")
            for row in repo.files_of_stack(stack_id):
                if row.outcome != "accepted" or row.status != "stored":
                    continue
                try:
                    source = self._source(row)
                except SourceError as exc:
                    repo.mark_file_failed(row, exc.code, exc.message)
                    repo.add_failed_file_page(row)
                    log.warning("stack file unreadable: %s", exc.code,
                                extra={"stack_id": stack_id, "file_id": row.id,
                                       "code": exc.code})
                    continue
                repo.create_pages(row, source.format, source.page_count)
        return True

    def pages_to_scan(self, stack_id: str) -> list[str]:
        with self.runtime.database.session() as session:
            return [p.id for p in StackRepository(session).pages_of_stack(stack_id)
                    if p.state == "pending"]

    # scan -------------------------------------------------------------------------------
    def scan(self, page_id: str) -> str | None:
        """Look for a cover sheet on one page; returns the kind written, or None when the
        page was scanned already."""
        with self.runtime.database.session() as session:
            page = StackRepository(session).get_page(page_id)
            if page is None or page.state != "pending":
                return None
            row, index = page.file, page.index_in_file
        code = text = None
        try:
            raster = self._source(row).render_page(index - 1)
            found = scan_page(raster.image, raster.dpi)
        except SourceError as exc:
            found, code, text = PageScan("unreadable"), exc.code, exc.message
        with self.runtime.database.session() as session:
            written = StackRepository(session).save_scan(
                page_id, kind=found.kind, cover_text=found.cover_text, reason_code=code,
                reason_message=text)
        return found.kind if written else None

    # route ------------------------------------------------------------------------------
    def route(self, stack_id: str) -> None:
        """Decide every page's destination, once all pages are scanned (under the stack's
        lock: of two runs at once, the second finds nothing left to route)."""
        secret = self.runtime.settings.cover_sheet_secret.get_secret_value()
        with self.runtime.database.session() as session:
            repo = StackRepository(session)
            if not repo.lock_open_stack(stack_id):
                return
            pages = repo.pages_of_stack(stack_id)
            if any(p.state == "pending" for p in pages):
                return  # a scan failed for good; the next run scans it
            scanned = [p for p in pages if p.state == "scanned"]
            if not scanned:
                return

            stack = repo.get_stack(stack_id)
            assert stack is not None
            center_id = stack.center_id

            def check(text: str | None, sequence: int) -> CoverVerdict:
                return self._check_cover(repo, text, sequence, secret, center_id)

            by_id = {p.id: p for p in pages}
            listed = [ScannedPage(p.id, p.sequence, p.kind or "page", p.cover_text,
                                  p.reason_code) for p in pages]
            for decision in route_pages(listed, check):
                page = by_id[decision.page_id]
                if page.state != "scanned":
                    continue
                repo.route(page, state=decision.state, case_id=decision.case_id,
                           segment=decision.segment, reason_code=decision.reason_code,
                           reason_message=(message(decision.reason_code,
                                                   **decision.reason_fields)
                                           if decision.reason_code else None))
        log.info("stack routed", extra={"stack_id": stack_id, "stage": "route"})

    def _check_cover(self, repo: StackRepository, text: str | None, sequence: int,
                     secret: str, center_id: int) -> CoverVerdict:
        if text is None:
            return CoverVerdict(None, "cover.unreadable", {"cover_page": sequence})
        claim = parse_cover_code(text)
        if claim is None or not claim.verify(secret):
            return CoverVerdict(None, "cover.forged", {"cover_page": sequence})
        case = repo.case_by_number(claim.case_number)
        fields = {"cover_page": sequence, "case_number": claim.case_number}
        if case is None or case.center_id != center_id:
            # Another center's case is answered like one that does not exist: a stack
            # never learns, or feeds, what lies behind another center's wall.
            return CoverVerdict(None, "cover.unknown_case", fields)
        if case.state in CLOSED_CASE_STATES:
            return CoverVerdict(None, "cover.case_closed", fields)
        return CoverVerdict(case.id)

    # attach -----------------------------------------------------------------------------
    def attach(self, stack_id: str) -> list[str]:
        """Store each segment's pages as a batch of its case and submit it; then the stack
        is completed. Returns the batch ids (also those an earlier run stored)."""
        with self.runtime.database.session() as session:
            pages = StackRepository(session).pages_of_stack(stack_id)
            if any(p.state in ("pending", "scanned") for p in pages):
                return []
            stack = StackRepository(session).get_stack(stack_id)
            uploader = stack.created_by if stack is not None else None
            segments: dict[tuple[int, str], list[tuple[str, StackFile, int, int]]] = {}
            for p in pages:
                if p.state == "attaching" and p.segment is not None and p.case_id:
                    segments.setdefault((p.segment, p.case_id), []).append(
                        (p.id, p.file, p.index_in_file, p.sequence))
        batch_ids = []
        for (segment, case_id), members in sorted(segments.items()):
            uploads = [self._cut(row, index, sequence) for _, row, index, sequence in members]
            batch_id = self._store(case_id, uploads, f"stack:{stack_id}:{segment}",
                                   [page_id for page_id, *_ in members], uploader)
            batch_ids.append(batch_id)
            self.submit_batch(batch_id)
        with self.runtime.database.session() as session:
            repo = StackRepository(session)
            if repo.lock_open_stack(stack_id):
                stack = repo.get_stack(stack_id)
                assert stack is not None
                repo.set_stack_status(stack, "completed")
        log.info("stack completed: %d batches", len(batch_ids),
                 extra={"stack_id": stack_id, "stage": "attach"})
        return batch_ids

    def _store(self, case_id: str, uploads: Sequence[Upload], key: str,
               page_ids: Sequence[str], uploaded_by: int | None) -> str:
        with self.runtime.database.session() as session:
            batch, _ = store_batch(self.runtime, CaseRepository(session), case_id, uploads,
                                   key, uploaded_by=uploaded_by)
            batch_id = batch.id
            StackRepository(session).set_batch(page_ids, batch_id)
        return batch_id

    def _cut(self, row: StackFile, index: int, sequence: int) -> Upload:
        return cut_stack_page(self.runtime, row, index, sequence)

    # sources ----------------------------------------------------------------------------
    def _source(self, row: StackFile) -> Source:
        if self._open is not None and self._open[0] == row.id:
            return self._open[1]
        self._close()
        assert row.object_key is not None
        data = self.runtime.objects.get(row.object_key)
        source = open_source(data, row.filename, limits=self.runtime.limits, dpi=SCAN_DPI)
        self._open = (row.id, source, data)
        return source

    def _close(self) -> None:
        if self._open is not None:
            self._open[1].close()
            self._open = None


def cut_stack_page(runtime: Runtime, row: StackFile, index: int, sequence: int) -> Upload:
    """Page `index` of a stack file as an upload of its own, named so that a case's files
    sort in stack order. A file that could not be opened at all is passed on whole: the
    batch pipeline then reports it unreadable in the case, where the clerk put it."""
    assert row.object_key is not None
    data = runtime.objects.get(row.object_key)
    stem = PurePath(row.filename).stem or "scan"
    if row.status == "failed" or row.format is None:
        return Upload.from_bytes(f"{sequence:04d}-{row.filename}", data, row.content_type)
    try:
        page, suffix = cut_page(data, row.format, index - 1)
    except SourceError:
        return Upload.from_bytes(f"{sequence:04d}-{row.filename}", data, row.content_type)
    return Upload.from_bytes(f"{sequence:04d}-{stem}-p{index}{suffix}", page, None)

