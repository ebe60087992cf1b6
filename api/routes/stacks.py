"""Scanner stations: cover sheets, scanned stacks split by case, and the inbox of pages no
cover sheet could place."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, Response, status
from starlette.concurrency import run_in_threadpool

from api.auth import CaseWriter
from api.guard import streamed_upload
from api.schemas_stacks import AttachRequest, InboxPublic, StackPagePublic, StackPublic
from api.uploads import multipart_body, received_files
from intake.stack_service import StackService

router = APIRouter(tags=["scanner stations"])


def _service(request: Request) -> StackService:
    service: StackService = request.app.state.stacks
    return service


@router.get("/cases/{case_id}/cover-sheet.pdf",
            responses={200: {"content": {"application/pdf": {}}}})
def cover_sheet(case_id: str, request: Request, principal: CaseWriter) -> Response:
    number, pdf = _service(request).cover_sheet_pdf(case_id, principal=principal)
    return Response(pdf, media_type="application/pdf", headers={
        "Content-Disposition": f'inline; filename="cover-{number}.pdf"'})


@router.post("/stacks", status_code=status.HTTP_202_ACCEPTED, response_model=StackPublic,
             openapi_extra=multipart_body(
                 "Scans of several cases, each behind its cover sheet, in order"))
@streamed_upload
async def upload_stack(
    request: Request,
    principal: CaseWriter,
    idempotency_key: Annotated[str | None, Header(max_length=200,
                                                  pattern=r"^[\x21-\x7e]+$")] = None,
) -> StackPublic:
    """Streamed like a batch upload (`api.uploads`); storing runs off the event loop."""
    service = _service(request)
    settings = service.runtime.settings
    async with received_files(request, max_parts=settings.max_files_per_batch,
                              max_file_bytes=settings.max_upload_bytes) as uploads:
        progress = await run_in_threadpool(
            lambda: service.upload_stack(uploads, principal=principal,
                                         idempotency_key=idempotency_key))
    return StackPublic.of(progress)


@router.get("/stacks/{stack_id}", response_model=StackPublic)
def stack_progress(stack_id: str, request: Request, principal: CaseWriter) -> StackPublic:
    return StackPublic.of(_service(request).stack_progress(stack_id, principal=principal))


@router.get("/inbox", response_model=InboxPublic)
def inbox(request: Request, principal: CaseWriter,
          limit: Annotated[int, Query(ge=1, le=500)] = 100,
          offset: Annotated[int, Query(ge=0)] = 0) -> InboxPublic:
    total, pages = _service(request).inbox(principal=principal, limit=limit, offset=offset)
    return InboxPublic(total=total, pages=[StackPagePublic.of(p) for p in pages])


@router.post("/inbox/{page_id}/attach", response_model=StackPagePublic)
def attach(page_id: str, body: AttachRequest, request: Request,
           principal: CaseWriter) -> StackPagePublic:
    return StackPagePublic.of(_service(request).attach(page_id, body.case_id,
                                                       principal=principal))
