"""Cases, their batches, reports and one-time notifications."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Header, Request, Response, UploadFile, status

from api.auth import CaseReader, CaseWriter, Principal, require
from api.schemas import BatchPublic, CaseCreate, CasePublic
from intake.errors import IntakeError
from intake.lifecycle import Actor
from intake.service import IntakeService, Upload

router = APIRouter(tags=["cases"])
BatchCanceller = Annotated[Principal, require("admin")]


def _service(request: Request) -> IntakeService:
    service: IntakeService = request.app.state.service
    return service


@router.post("/cases", status_code=status.HTTP_201_CREATED, response_model=CasePublic)
def create_case(body: CaseCreate, request: Request, principal: CaseWriter) -> CasePublic:
    view = _service(request).create_case(
        body.item_code, acceptance_date=body.acceptance_date, facts=body.facts,
        created_by=principal.key_id,
        actor=Actor(principal.key_id, principal.name, principal.role))
    return CasePublic.of(view)


@router.get("/cases/{case_id}", response_model=CasePublic)
def get_case(case_id: str, request: Request, _: CaseReader) -> CasePublic:
    return CasePublic.of(_service(request).get_case(case_id))


@router.post("/cases/{case_id}/batches", status_code=status.HTTP_202_ACCEPTED,
             response_model=BatchPublic)
async def upload_batch(
    case_id: str,
    request: Request,
    _: CaseWriter,
    files: Annotated[list[UploadFile], File(description="Scans: PDF, TIFF, JPEG or PNG")],
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> BatchPublic:
    service = _service(request)
    limit = service.runtime.settings.max_upload_bytes
    uploads = []
    for upload in files:
        # Read one byte past the limit: enough to know a file is too big without holding
        # an arbitrarily large body in memory.
        data = await upload.read(limit + 1)
        uploads.append(Upload(upload.filename or "", data, upload.content_type))
    progress = service.upload_batch(case_id, uploads, idempotency_key=idempotency_key)
    return BatchPublic.of(progress)


@router.get("/batches/{batch_id}", response_model=BatchPublic)
def batch_progress(batch_id: str, request: Request, _: CaseReader) -> BatchPublic:
    return BatchPublic.of(_service(request).batch_progress(batch_id))


@router.post("/batches/{batch_id}/cancel", response_model=BatchPublic)
def cancel_batch(batch_id: str, request: Request, _: BatchCanceller) -> BatchPublic:
    """Admin only: unread pages fail with `batch.cancelled`; the batch completes with
    what it has."""
    return BatchPublic.of(_service(request).cancel_batch(batch_id))


@router.get("/cases/{case_id}/report")
def case_report(case_id: str, request: Request, _: CaseReader) -> dict[str, Any]:
    return _service(request).case_report(case_id)


@router.get("/cases/{case_id}/notification.pdf",
            responses={200: {"content": {"application/pdf": {}}}})
def notification(case_id: str, request: Request, _: CaseReader) -> Response:
    service = _service(request)
    case = service.get_case(case_id)
    if any(service.batch_progress(b).status != "completed" for b in case.batch_ids):
        raise IntakeError("case.processing", action_zh="打印告知书",
                          action_en="print the notice")
    pdf = service.notification_pdf(case_id)
    return Response(pdf, media_type="application/pdf", headers={
        "Content-Disposition": f'inline; filename="notification-{case.number}.pdf"'})
