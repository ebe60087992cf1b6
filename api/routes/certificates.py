"""The certificate store: queries by other systems (role `system`, scoped keys, declared
purposes), by staff through a case of theirs, reviewer verification, admin revocation.
Every read is audited by `intake.certificates`, including refused ones, so purpose and
case_ref are checked there rather than by FastAPI's validation (which would refuse before
anything could be written)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import pydantic_core
from fastapi import APIRouter, Query, Request, Response, status
from fastapi.responses import RedirectResponse

from api.auth import Admin, AnyRole, Principal, require
from api.openapi import REQUIRED
from api.schemas_certificates import CertificatePublic, RevokeRequest, VerifyRequest
from api.security import rate_limited
from intake.certificates import CertificateService, CertificateView

router = APIRouter(tags=["certificates"])

Reviewer = Annotated[Principal, require("reviewer", "admin")]
# Lengths and characters of purpose and case_ref are checked by the service, which audits
# a refusal; the document still states the limits and that case_ref is required.
Purpose = Annotated[str | None, Query(
    description="用途: why you ask (system keys: one of the key's declared purposes; staff: "
                "default the case's item); at most 500 characters")]
CaseRef = Annotated[str | None, Query(
    description="关联办件编号 the case you ask for (staff: a case you may open, in which the "
                "holder is a party); at most 200 characters",
    json_schema_extra=REQUIRED)]


def _service(request: Request) -> CertificateService:
    service: CertificateService = request.app.state.certificates
    return service


def _public_json(views: list[CertificateView]) -> Response:
    """`list[CertificatePublic]` as JSON, serialised straight from the views: the same
    fields in the same order and encoding (tests/certificates check it against the model),
    without building and validating a model per certificate on the hottest route."""
    public = []
    for view in views:
        data = dict(view.__dict__)
        del data["stored_status"]
        public.append(data)
    return Response(pydantic_core.to_json(public), media_type="application/json")


@router.get("/certificates", response_model=list[CertificatePublic],
            dependencies=[rate_limited("certificates")])
def search(
    request: Request,
    principal: AnyRole,
    holder_id: Annotated[str | None, Query(
        description="持证主体代码: ID number or credit code; at most 64 characters")] = None,
    type: Annotated[list[str] | None, Query(description="certificate type(s); default: all "
                                                        "the key is scoped to")] = None,
    purpose: Purpose = None,
    case_ref: CaseRef = None,
    as_of: Annotated[date | None, Query(description="status on this date; default today")
                     ] = None,
) -> Response:
    views = _service(request).search(principal, holder_id=holder_id,
                                     types=type or [], purpose=purpose, case_ref=case_ref,
                                     as_of=as_of)
    return _public_json(views)


@router.get("/certificates/{cert_id}", response_model=CertificatePublic,
            dependencies=[rate_limited("certificates")])
def read(cert_id: str, request: Request, principal: AnyRole, purpose: Purpose = None,
         case_ref: CaseRef = None, as_of: date | None = None) -> CertificatePublic:
    return CertificatePublic.of(_service(request).read(
        principal, cert_id, purpose=purpose, case_ref=case_ref, as_of=as_of))


@router.get("/certificates/{cert_id}/file",
            responses={200: {"content": {"application/pdf": {}}},
                       307: {"description": "redirect to a short-lived presigned URL"}},
            dependencies=[rate_limited("certificates")])
def scan(cert_id: str, request: Request, principal: AnyRole, purpose: Purpose = None,
         case_ref: CaseRef = None) -> Response:
    access = _service(request).scan(principal, cert_id, purpose=purpose,
                                    case_ref=case_ref)
    if access.url is not None:
        return RedirectResponse(access.url, status_code=status.HTTP_307_TEMPORARY_REDIRECT,
                                headers={"Cache-Control": "no-store"})
    return Response(access.data or b"", media_type="application/pdf", headers={
        "Content-Disposition": f'inline; filename="{access.filename}"',
        "Cache-Control": "no-store"})


@router.post("/certificates/{cert_id}/revoke", response_model=CertificatePublic)
def revoke(cert_id: str, body: RevokeRequest, request: Request, principal: AnyRole
           ) -> CertificatePublic:
    # Any role reaches the service so that a refused attempt is audited too.
    return CertificatePublic.of(_service(request).revoke(principal, cert_id, body.reason))


@router.post("/certificates/expire")
def expire(request: Request, principal: Admin, on: date | None = None) -> dict[str, int]:
    """Mark valid certificates whose end date has passed as expired (e.g. nightly). `on`:
    today (default) or a day of the last month, for a missed sweep; audited."""
    return {"expired": _service(request).expire_due(on, principal=principal)}


@router.post("/cases/{case_id}/documents/{document_id}/verify",
             response_model=CertificatePublic,
             responses={201: {"description": "a new certificate entered the store"}})
def verify(case_id: str, document_id: str, request: Request, response: Response,
           principal: Reviewer, body: VerifyRequest | None = None) -> CertificatePublic:
    """A reviewer confirms a certificate document of the case (its `id` in the report)."""
    body = body or VerifyRequest()
    view, created = _service(request).verify_document(
        case_id, document_id, principal, holder_id=body.holder_id, pages=body.pages)
    response.status_code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
    return CertificatePublic.of(view)
