"""Reviewers' corrections of extracted fields, as the assessment reads them.

A correction is stored (`storage.corrections`) and never changed; every assessment of the
case applies the case's corrections, oldest first, over what the rules extracted
(`rules.corrections`), so the report, the checklist and the notices follow them. Making one
is `IntakeService.correct_field`.
"""

from __future__ import annotations

from datetime import UTC

from sqlalchemy.orm import Session

from rules.types import FieldCorrection
from storage.corrections import FieldCorrections
from storage.models import FieldCorrectionRow

REASON_LIMIT = 500
VALUE_LIMIT = 500
# States in which the materials are still being judged; after a decision (or a refusal,
# a withdrawal) the record is what it was.
CORRECTABLE_STATES = frozenset({"received", "prechecked", "returned", "accepted",
                                "accepted_tolerant", "under_review", "paused"})
REVIEWER_CORRECTION = "reviewer_correction"  # why the case was assessed again
CONFIRMED = "人工核对，确认识别无误"  # the reason of a confirmation (the value as read)


def as_rule(row: FieldCorrectionRow) -> FieldCorrection:
    at = row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=UTC)
    return FieldCorrection(
        document=row.document_id, material_type=row.material_type,
        pages=tuple(int(p) for p in row.pages), field=row.field, value=row.new_value,
        old_value=row.old_value, reason=row.reason, by=row.actor,
        at=at.astimezone(UTC).isoformat(timespec="seconds"))


def corrections_of_case(session: Session, case_id: str) -> list[FieldCorrection]:
    """The case's corrections as the rules apply them, oldest first."""
    return [as_rule(row) for row in FieldCorrections(session).rows_of_case(case_id)]
