"""Reviewers' field corrections as rows: added once, read by case, oldest first."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import FieldCorrectionRow


class FieldCorrections:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, *, case_id: str, document_id: str, material_type: str,
            pages: Sequence[int], field: str, old_value: str | None, new_value: str,
            reason: str, key_id: int | None, actor: str) -> FieldCorrectionRow:
        row = FieldCorrectionRow(
            id=str(uuid.uuid4()), case_id=case_id, document_id=document_id,
            material_type=material_type, pages=list(pages), field=field,
            old_value=old_value, new_value=new_value, reason=reason, key_id=key_id,
            actor=actor[:200], created_at=datetime.now(UTC))
        self.session.add(row)
        self.session.flush()
        return row

    def rows_of_case(self, case_id: str) -> list[FieldCorrectionRow]:
        return list(self.session.scalars(
            select(FieldCorrectionRow).where(FieldCorrectionRow.case_id == case_id)
            .order_by(FieldCorrectionRow.created_at, FieldCorrectionRow.id)))
