"""The audit log of certificate use, for admins (a center's admin sees its center's keys);
and a holder's own "who used my certificates" listing. Both masked by the one policy."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request

from api.auth import Admin
from api.schemas_certificates import AuditPublic
from intake.certificates import CertificateService

router = APIRouter(tags=["audit"])


def _service(request: Request) -> CertificateService:
    service: CertificateService = request.app.state.certificates
    return service


@router.get("/audit", response_model=list[AuditPublic])
def audit(
    request: Request,
    principal: Admin,
    holder_id: Annotated[str | None, Query(max_length=64)] = None,
    key: Annotated[int | None, Query(description="API key id")] = None,
    since: datetime | None = None,
    action: Annotated[list[str] | None, Query()] = None,
    before_id: Annotated[int | None, Query(description="page backwards from this id")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[AuditPublic]:
    """Newest first. Holder IDs are masked in this list; filter with the full one."""
    entries = _service(request).audit_entries(principal, holder_id=holder_id, key_id=key,
                                              since=since, actions=action,
                                              before_id=before_id, limit=limit)
    return [AuditPublic(**e) for e in entries]


@router.get("/audit/holders/{holder_id}", response_model=list[AuditPublic])
def holder_usage(holder_id: str, request: Request, principal: Admin,
                 limit: Annotated[int, Query(ge=1, le=1000)] = 200) -> list[AuditPublic]:
    """Who used this holder's certificates (searches, reads, downloads, reuse in cases),
    printed for the holder at the window on request."""
    return [AuditPublic(**e) for e in _service(request).holder_usage(principal, holder_id,
                                                                     limit=limit)]
