"""What the scanner-station routes accept and return (`api.routes.stacks`)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from intake.stack_service import StackPageView, StackProgress


class StackFilePublic(BaseModel):
    filename: str
    outcome: str = Field(description="accepted / duplicate / rejected")
    sha256: str | None
    status: str | None = Field(description="stored / split / failed")
    pages: int | None
    error_code: str | None
    error_message: str | None


class StackPagePublic(BaseModel):
    id: str
    stack_id: str
    sequence: int = Field(description="position in the stack, 1-based")
    filename: str
    page_in_file: int
    kind: str | None = Field(description="cover / blank / page / unreadable")
    state: str = Field(description="pending / scanned / cover / attaching / attached / held")
    case_id: str | None
    case_number: str | None
    batch_id: str | None
    reason_code: str | None = Field(description="why the page is in the inbox")
    reason_message: str | None
    updated_at: datetime

    @classmethod
    def of(cls, view: StackPageView) -> StackPagePublic:
        return cls(**view.__dict__)


class CaseFedPublic(BaseModel):
    case_id: str
    case_number: str
    batch_ids: list[str]
    pages: int


class StackPublic(BaseModel):
    id: str
    status: str = Field(description="received / processing / completed")
    created_at: datetime
    finished_at: datetime | None
    files: list[StackFilePublic]
    pages_total: int
    pages_scanned: int
    cover_sheets: list[StackPagePublic]
    cases: list[CaseFedPublic] = Field(description="the cases this stack fed, in order")
    inbox: list[StackPagePublic] = Field(description="this stack's pages in the inbox")

    @classmethod
    def of(cls, progress: StackProgress) -> StackPublic:
        return cls(
            id=progress.id, status=progress.status, created_at=progress.created_at,
            finished_at=progress.finished_at,
            files=[StackFilePublic(**f.__dict__) for f in progress.files],
            pages_total=progress.pages_total, pages_scanned=progress.pages_scanned,
            cover_sheets=[StackPagePublic.of(p) for p in progress.cover_sheets],
            cases=[CaseFedPublic(**c.__dict__) for c in progress.cases],
            inbox=[StackPagePublic.of(p) for p in progress.inbox])


class InboxPublic(BaseModel):
    total: int
    pages: list[StackPagePublic]


class AttachRequest(BaseModel):
    case_id: str = Field(min_length=1, max_length=36)
