"""Notices as records (the case's notices, each one's PDF exactly as issued) and the
applicant's progress query, which alone needs no key."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel

from api.auth import CaseReader
from api.openapi import problem_responses
from api.security import address_rate_limited, rate_limited
from intake.notices import NoticeService
from intake.progress import ProgressService

router = APIRouter(tags=["notices"])


class NoticePublic(BaseModel):
    id: str
    case_id: str
    kind: str
    title: str
    number: str
    issued_at: datetime
    issued_by: str
    sha256: str
    size: int
    content: dict[str, Any]


class ProgressPublic(BaseModel):
    case_number: str
    item_name: str
    state: str
    state_name: str
    next_step: str
    committed_due: str | None
    working_days_left: int | None
    light: str | None
    outstanding: list[str]


def _notices(request: Request) -> NoticeService:
    return NoticeService(request.app.state.runtime)


@router.get("/cases/{case_id}/notices", response_model=list[NoticePublic])
def case_notices(case_id: str, request: Request, principal: CaseReader
                 ) -> list[dict[str, Any]]:
    """Every notice issued in the case, oldest first, with its content and SHA-256."""
    return _notices(request).of_case(case_id, principal=principal)


@router.get("/notices/{notice_id}.pdf", responses={200: {"content": {"application/pdf": {}}}},
            dependencies=[rate_limited("render")])
def notice_pdf(notice_id: str, request: Request, principal: CaseReader) -> Response:
    """The notice's PDF, byte for byte as it was issued."""
    view, data = _notices(request).pdf(notice_id, principal=principal)
    return Response(data, media_type="application/pdf", headers={
        "Content-Disposition": f'inline; filename="notice-{notice_id}.pdf"',
        "ETag": f'"{view["sha256"]}"', "Cache-Control": "no-store"})


@router.get("/progress", response_model=ProgressPublic,
            dependencies=[address_rate_limited("progress")],
            responses=problem_responses(404, 429))
def progress(request: Request,
             number: Annotated[str, Query(min_length=1, max_length=40,
                                          description="the case number (办件编号)")],
             code: Annotated[str, Query(min_length=1, max_length=40,
                                        description="the query code from the acceptance "
                                                    "notice")]) -> dict[str, Any]:
    """The applicant's view of the case: state, next step, deadline and light, outstanding
    materials. No key; wrong codes are throttled per case number and per client."""
    service: ProgressService = request.app.state.progress
    address = request.client.host if request.client else "unknown"
    return service.query(number.strip(), code, address).to_dict()
