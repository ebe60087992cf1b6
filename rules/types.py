"""The data the rules package consumes and produces.

Inputs are plain text pages (the intake layer converts OCR output into `PageText`), outputs
are documents with extracted fields and a `CompletenessReport`. Everything here is
immutable and serialisable with `to_dict()` so reports can be stored and returned as JSON.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any

Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class TextLine:
    text: str
    confidence: float
    box: Box


@dataclass(frozen=True)
class PageText:
    """One page as the rules see it. `number` is the page's number in the case (its
    `Page.sequence`: global across files, with gaps where a page could not be read), and
    every page reference the rules produce uses it; `source`/`source_page` say where it
    came from."""

    number: int
    lines: tuple[TextLine, ...]
    source: str = ""
    source_page: int = 1
    blank: bool = False

    @property
    def text(self) -> str:
        return "\n".join(line.text for line in self.lines)


@dataclass(frozen=True)
class PageClassification:
    page: int  # PageText.number
    material_type: str  # a material-type code, or "unknown"
    confidence: float  # 0..1
    side: str | None = None  # for two-sided materials, e.g. "front" / "back" of an id_card
    needs_review: bool = False
    reason: str = ""


@dataclass(frozen=True)
class FieldCorrection:
    """A reviewer's correction of one extracted field of one document, with a reason.

    The document is named as the analysis names it (`document`, e.g. "d2") together with
    its material type and pages: a later batch may renumber documents, and a correction
    then applies only to the same material on the same pages, never to another one."""

    document: str
    material_type: str
    pages: tuple[int, ...]
    field: str
    value: str
    old_value: str | None
    reason: str
    by: str  # who corrected it (the account's or key's name)
    at: str  # when, ISO 8601 UTC

    def to_dict(self) -> dict[str, Any]:
        # `field` + `value` (the old value) let the masking policy treat the old value as
        # the field it was (an ID number stays masked for a clerk).
        return {"field": self.field, "value": self.old_value, "by": self.by, "at": self.at,
                "reason": self.reason}


@dataclass(frozen=True)
class ExtractedField:
    """A value with provenance: a reviewer can always see where it came from."""

    value: str | None  # normalised: ISO dates, half-width, "长期" -> None with open_ended
    confidence: float
    page: int | None = None
    box: Box | None = None
    raw: str = ""
    valid: bool | None = None  # None: no validator applies; False: failed (e.g. check digit)
    problem: str = ""  # why it is not valid, plain Chinese
    # Added by rules: an end date written as 长期 has value None and open_ended True.
    open_ended: bool = False
    problem_code: str = ""  # stable code for `problem`: "check_digit", "format", "date", ...
    repaired: bool = False  # the value validated only after OCR character repairs
    # Set when a reviewer corrected the value (`rules.corrections`); page and box stay
    # those of the original reading, so the reviewer can still see where it was read.
    correction: FieldCorrection | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "value": self.value,
            "confidence": round(self.confidence, 4),
            "page": self.page,
            "box": [round(v, 1) for v in self.box] if self.box else None,
            "valid": self.valid,
        }
        if self.open_ended:
            out["open_ended"] = True
        if self.problem:
            out["problem"] = self.problem
        if self.correction is not None:
            out["corrected"] = self.correction.to_dict()
        return out


@dataclass(frozen=True)
class Document:
    """Consecutive pages of one material, with its fields."""

    id: str  # "d1", "d2", ... stable within one analysis
    material_type: str
    pages: tuple[int, ...]
    confidence: float
    fields: dict[str, ExtractedField] = field(default_factory=dict)
    sides: tuple[str, ...] = ()  # which sides were seen, for two-sided materials
    needs_review: bool = False

    def field_value(self, name: str) -> str | None:
        f = self.fields.get(name)
        return f.value if f else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": self.material_type,
            "pages": list(self.pages),
            "confidence": round(self.confidence, 4),
            "sides": list(self.sides),
            "needs_review": self.needs_review,
            "fields": {name: f.to_dict() for name, f in self.fields.items()},
        }


class SlotState(StrEnum):
    PRESENT = "present"
    REUSED = "reused"
    COMMITTED = "committed"
    NOT_REQUIRED = "not_required"
    MISSING = "missing"
    INVALID = "invalid"


class ReportStatus(StrEnum):
    COMPLETE = "complete"
    INCOMPLETE = "incomplete"
    NEEDS_REVIEW = "needs_review"


@dataclass(frozen=True)
class Finding:
    """A stable code, a plain-Chinese message, and the evidence behind it."""

    code: str  # e.g. "missing", "id_number.check_digit", "expired", "mismatch"
    message: str
    field_name: str | None = None
    evidence: dict[str, Any] = field(default_factory=dict)
    needs_review: bool = False  # the finding rests on a value read with low confidence

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.field_name:
            out["field"] = self.field_name
        if self.evidence:
            out["evidence"] = self.evidence
        if self.needs_review:
            out["needs_review"] = True
        return out


@dataclass(frozen=True)
class ReusableCertificate:
    """A verified certificate from the shared store that a slot may reuse."""

    id: str
    material_type: str
    holder_id: str  # resident ID number or unified social credit code
    holder_name: str
    number: str
    valid_until: date | None  # None: no end date (长期)
    status: str = "valid"  # valid / expired / revoked
    fields: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SlotResult:
    code: str
    name: str
    state: SlotState
    required: bool
    documents: tuple[str, ...] = ()  # Document.id values
    certificate: str | None = None  # ReusableCertificate.id when reused
    findings: tuple[Finding, ...] = ()
    needs_review: bool = False
    commitment_allowed: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "name": self.name,
            "state": self.state.value,
            "required": self.required,
            "documents": list(self.documents),
            "certificate": self.certificate,
            "commitment_allowed": self.commitment_allowed,
            "needs_review": self.needs_review,
            "findings": [f.to_dict() for f in self.findings],
        }


@dataclass(frozen=True)
class CompletenessReport:
    item: str
    item_name: str
    acceptance_date: date
    status: ReportStatus
    slots: tuple[SlotResult, ...]
    documents: tuple[Document, ...]
    unassigned_pages: tuple[int, ...] = ()  # pages not in any slot (unknown / surplus)
    findings: tuple[Finding, ...] = ()  # case-level findings (e.g. unclassified pages)

    @property
    def to_bring(self) -> tuple[SlotResult, ...]:
        """Slots the applicant must still provide or replace: the one-time notification."""
        return tuple(s for s in self.slots if s.state in (SlotState.MISSING, SlotState.INVALID))

    def to_dict(self) -> dict[str, Any]:
        return {
            "item": self.item,
            "item_name": self.item_name,
            "acceptance_date": self.acceptance_date.isoformat(),
            "status": self.status.value,
            "slots": [s.to_dict() for s in self.slots],
            "documents": [d.to_dict() for d in self.documents],
            "unassigned_pages": list(self.unassigned_pages),
            "findings": [f.to_dict() for f in self.findings],
        }
