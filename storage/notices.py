"""Notices the center issued, kept as records: numbered per center and year, their content
as JSON, their PDF in the object store under a key that is never reused, and its SHA-256."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from storage.models import Notice, NoticeCounter


class NoticeRegistry:
    def __init__(self, session: Session) -> None:
        self.session = session

    def next_number(self, center: str, year: int) -> int:
        """The center's next notice number of the year: one atomic upsert, so concurrent
        issuers (several API processes) never draw the same number."""
        dialect = self.session.get_bind().dialect.name
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        statement = (insert(NoticeCounter).values(center=center, year=year, last_number=1)
                     .on_conflict_do_update(
                         index_elements=["center", "year"],
                         set_={"last_number": NoticeCounter.last_number + 1})
                     .returning(NoticeCounter.last_number))
        return int(self.session.execute(statement).scalar_one())

    def add(self, *, notice_id: str, case_id: str, kind: str, center: str, year: int,
            number: int, label: str, issued_at: datetime, issued_by_key: int | None,
            issued_by: str, content: dict[str, Any], pdf_key: str, sha256: str,
            size: int) -> Notice:
        row = Notice(id=notice_id, case_id=case_id, kind=kind, center=center, year=year,
                     number=number, label=label, issued_at=issued_at,
                     issued_by_key=issued_by_key, issued_by=issued_by[:200], content=content,
                     pdf_key=pdf_key, sha256=sha256, size=size)
        self.session.add(row)
        self.session.flush()
        return row

    def get(self, notice_id: str) -> Notice | None:
        return self.session.get(Notice, notice_id)

    def of_case(self, case_id: str) -> list[Notice]:
        return list(self.session.scalars(
            select(Notice).where(Notice.case_id == case_id)
            .order_by(Notice.issued_at, Notice.number)))
