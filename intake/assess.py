"""From read pages to a completeness report: the step shared by the batch pipeline and the
server-less `docintake check`."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from ocr.types import OcrPage
from rules.analysis import Analysis, analyse_pages
from rules.catalog import Catalog, Item
from rules.completeness import check_completeness
from rules.corrections import apply_corrections
from rules.types import (
    CompletenessReport,
    FieldCorrection,
    PageText,
    ReusableCertificate,
    TextLine,
)


@dataclass(frozen=True)
class Unreadable:
    """A file or page that could not be read: it may hold a material we cannot see.
    `page` is the page's number in the case (None: the whole file failed), `source_page`
    its place in the uploaded file."""

    source: str
    page: int | None
    code: str
    message: str
    source_page: int | None = None

    def to_dict(self) -> dict[str, object]:
        return {"source": self.source, "page": self.page, "source_page": self.source_page,
                "code": self.code, "message": self.message}


@dataclass(frozen=True)
class Assessment:
    analysis: Analysis
    report: CompletenessReport
    unreadable: tuple[Unreadable, ...] = ()
    certificates: tuple[ReusableCertificate, ...] = ()  # those the reusable slots considered

    @property
    def status(self) -> str:
        """The report's status, except that a case with unreadable input is never called
        complete: the missing page may be exactly what a reviewer has to see."""
        status = self.report.status.value
        if self.unreadable and status == "complete":
            return "needs_review"
        return status

    def to_dict(self) -> dict[str, Any]:
        data = self.report.to_dict()
        data["status"] = self.status
        data["unreadable"] = [u.to_dict() for u in self.unreadable]
        return data


def to_page_text(number: int, page: OcrPage) -> PageText:
    return PageText(
        number=number,
        lines=tuple(TextLine(ln.text, ln.confidence, ln.box) for ln in page.lines),
        source=page.source,
        source_page=page.page,
        blank=page.blank,
    )


def assess(
    pages: Sequence[OcrPage],
    item: Item,
    catalog: Catalog,
    acceptance_date: date,
    *,
    facts: Mapping[str, object] | None = None,
    certificates: Sequence[ReusableCertificate]
    | Callable[[Analysis], Sequence[ReusableCertificate]] = (),
    unreadable: Sequence[Unreadable] = (),
    numbers: Sequence[int] | None = None,
    corrections: Sequence[FieldCorrection] = (),
) -> Assessment:
    """Classify, extract and check. `numbers` are the pages' numbers, the ones every page
    reference of the report (documents, fields, findings and their evidence) uses: a
    case passes its own page numbers (`Page.sequence`, with gaps where a page failed);
    without them pages are numbered 1.. in the order given.

    `corrections` (a reviewer's, oldest first) replace extracted fields before the check.
    `certificates` may be a function of the analysis (after the corrections): the
    certificates of the holders the extracted materials name, looked up before the one
    completeness run."""
    if numbers is None:
        numbers = range(1, len(pages) + 1)
    if len(numbers) != len(pages) or len(set(numbers)) != len(numbers):
        raise ValueError("one distinct page number per page is required")
    texts = [to_page_text(number, page) for number, page in zip(numbers, pages, strict=True)]
    analysis = analyse_pages(texts, catalog)
    if corrections:
        analysis = replace(analysis, documents=apply_corrections(
            analysis.documents, corrections, catalog))
    found = tuple(certificates(analysis) if callable(certificates) else certificates)
    report = check_completeness(
        item, analysis.documents, acceptance_date, catalog=catalog, facts=facts,
        certificates=found, classifications=analysis.classifications,
    )
    return Assessment(analysis=analysis, report=report, unreadable=tuple(unreadable),
                      certificates=found)
