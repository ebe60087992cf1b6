"""Cases, their batches, reports and one-time notifications."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Request, Response, status

from api.auth import CaseReader, CaseWriter, Principal, require
from api.guard import streamed_upload
from api.schemas import (
    BatchPublic,
    CaseAssignment,
    CaseCreate,
    CasePublic,
    FieldCorrectionRequest,
)
from api.security import rate_limited
from api.uploads import multipart_body, upload_batch_streamed
from intake.errors import IntakeError
from intake.service import IntakeService

router = APIRouter(tags=["cases"])
BatchCanceller = Annotated[Principal, require("admin")]
Corrector = Annotated[Principal, require("reviewer", "approver", "admin")]


def _service(request: Request) -> IntakeService:
    service: IntakeService = request.app.state.service
    return service


@router.post("/cases", status_code=status.HTTP_201_CREATED, response_model=CasePublic)
def create_case(body: CaseCreate, request: Request, principal: CaseWriter) -> CasePublic:
    view = _service(request).create_case(
        body.item_code, acceptance_date=body.acceptance_date, facts=body.facts,
        principal=principal)
    return CasePublic.of(view)


@router.get("/cases/{case_id}", response_model=CasePublic)
def get_case(case_id: str, request: Request, principal: CaseReader) -> CasePublic:
    return CasePublic.of(_service(request).get_case(case_id, principal=principal))


@router.post("/cases/{case_id}/assignment", response_model=CasePublic)
def assign_case(case_id: str, body: CaseAssignment, request: Request,
                principal: CaseWriter) -> CasePublic:
    """Hand the case to another clerk of its center (admins) or route it to one reviewer
    of its center (admins and the clerk handling it); `unroute` returns it to the whole
    center's review queue."""
    return CasePublic.of(_service(request).assign_case(
        case_id, principal=principal, handler_key_id=body.handler_key_id,
        reviewer_key_id=body.reviewer_key_id, unroute=body.unroute))


UPLOAD_BODY = multipart_body("Scans: PDF, TIFF, JPEG or PNG")


@router.post("/cases/{case_id}/batches", status_code=status.HTTP_202_ACCEPTED,
             response_model=BatchPublic, openapi_extra=UPLOAD_BODY)
@streamed_upload
async def upload_batch(
    case_id: str,
    request: Request,
    principal: CaseWriter,
    idempotency_key: Annotated[str | None, Header(max_length=200,
                                                  pattern=r"^[\x21-\x7e]+$")] = None,
) -> BatchPublic:
    """Files arrive streamed (see `api.uploads`): each is stored and its pages start being
    read as soon as it has arrived; storing, the database and the hand-over to the
    workers run in a worker thread, never on the event loop. A case the key may not see
    (404) or change (403) is refused before the body is read."""
    return BatchPublic.of(await upload_batch_streamed(
        request, _service(request), case_id, principal=principal,
        idempotency_key=idempotency_key))


@router.get("/batches/{batch_id}", response_model=BatchPublic)
def batch_progress(batch_id: str, request: Request, principal: CaseReader) -> BatchPublic:
    return BatchPublic.of(_service(request).batch_progress(batch_id, principal=principal))


@router.post("/batches/{batch_id}/cancel", response_model=BatchPublic)
def cancel_batch(batch_id: str, request: Request, principal: BatchCanceller) -> BatchPublic:
    """Admin only: unread pages fail with `batch.cancelled`; the batch completes with
    what it has."""
    return BatchPublic.of(_service(request).cancel_batch(batch_id, principal=principal))


@router.get("/cases/{case_id}/report")
def case_report(case_id: str, request: Request, principal: CaseReader) -> dict[str, Any]:
    return _service(request).case_report(case_id, principal=principal)


@router.post("/cases/{case_id}/documents/{document_id}/fields/{field}/correction")
def correct_field(case_id: str, document_id: str, field: str, body: FieldCorrectionRequest,
                  request: Request, principal: Corrector) -> dict[str, Any]:
    """A reviewer corrects an extracted field of a material (its `id` in the report) with
    a reason; the old value is kept, the change audited, and the case assessed again at
    once. Returns the new report."""
    return _service(request).correct_field(case_id, document_id, field, body.value,
                                           body.reason, principal=principal)


@router.get("/cases/{case_id}/notification.pdf",
            responses={200: {"content": {"application/pdf": {}}}},
            dependencies=[rate_limited("render")])
def notification(case_id: str, request: Request, principal: CaseReader) -> Response:
    service = _service(request)
    case = service.get_case(case_id, principal=principal)
    if any(service.batch_progress(b, principal=principal).status != "completed"
           for b in case.batch_ids):
        raise IntakeError("case.processing", action_zh="打印告知书",
                          action_en="print the notice")
    pdf = service.notification_pdf(case_id, principal=principal)
    return Response(pdf, media_type="application/pdf", headers={
        "Content-Disposition": f'inline; filename="notification-{case.number}.pdf"'})
