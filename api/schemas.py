"""What the API accepts and returns. Never an ORM row: every response is one of these."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, Field

from api.schemas_lifecycle import DeadlinesPublic
from intake.inputs import MAX_ROW_ID
from intake.service import BatchProgress, CaseView


class CaseCreate(BaseModel):
    item_code: str = Field(examples=["company-establishment"])
    acceptance_date: date | None = Field(
        default=None, description="受理日期; time-dependent checks use it. Default: today.")
    facts: dict[str, Any] = Field(default_factory=dict,
                                  description="Facts about the case that conditions may use.")


class CaseAssignment(BaseModel):
    handler_key_id: int | None = Field(default=None, ge=1, le=MAX_ROW_ID,
                                       description="hand the case to this clerk key (admins)")
    reviewer_key_id: int | None = Field(default=None, ge=1, le=MAX_ROW_ID,
                                        description="route the case to this reviewer key")
    unroute: bool = Field(default=False,
                          description="return the case to the center's review queue")


class FieldCorrectionRequest(BaseModel):
    value: str = Field(max_length=500, description="the field's value as it should read")
    reason: str = Field(default="", max_length=500,
                        description="更正原因 why the reading was wrong (required)")


class CasePublic(BaseModel):
    id: str
    number: str
    item_code: str
    item_name: str
    acceptance_date: date
    status: str
    applicant_name: str | None
    created_at: datetime
    batch_ids: list[str]
    state: str = Field(description="Where the case stands in its life (intake.lifecycle); "
                                   "`status` is its completeness report's")
    received_on: date
    accepted_on: date | None
    deadlines: DeadlinesPublic

    @classmethod
    def of(cls, view: CaseView) -> CasePublic:
        fields = {k: v for k, v in view.__dict__.items() if k != "life"}
        life = view.life
        assert life is not None, "a case view for the API carries its life"
        return cls(**fields, state=life.state, received_on=life.received_on,
                   accepted_on=life.accepted_on, deadlines=DeadlinesPublic.of(life.deadlines))


class FilePublic(BaseModel):
    filename: str = Field(description="The name as stored: NFC, without control, NUL or "
                                      "bidi-override characters, at most 255 characters")
    original_filename: str | None = Field(
        default=None, description="The name exactly as sent, with unsafe characters "
                                  "escaped (\\uXXXX), when it differs from `filename`")
    outcome: str
    sha256: str | None
    file_id: str | None
    status: str | None
    pages: int | None
    error_code: str | None
    error_message: str | None


class BatchPublic(BaseModel):
    id: str
    case_id: str
    status: str
    created_at: datetime
    finished_at: datetime | None
    files: list[FilePublic]
    pages_total: int
    pages_read: int
    pages_blank: int
    pages_failed: int
    pages_pending: int
    # the stages, in order; each count includes the pages counted by the later ones
    pages_received: int = Field(description="pages found in the accepted files")
    pages_preprocessed: int = Field(description="pages decoded or rendered for reading")
    pages_ocred: int = Field(description="pages read (OCR or text layer); = pages_read")
    pages_classified: int = Field(description="pages typed by the rules (at assessment)")

    @classmethod
    def of(cls, progress: BatchProgress) -> BatchPublic:
        return cls(
            **{k: v for k, v in progress.__dict__.items() if k != "files"},
            files=[FilePublic(**f.__dict__) for f in progress.files],
            pages_pending=progress.pages_pending, pages_received=progress.pages_received,
            pages_ocred=progress.pages_ocred,
        )
