"""The audit log of certificate use, for admins (a center's admin sees its center's keys);
and a holder's own "who used my certificates" listing. Both masked by the one policy."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from pydantic import StringConstraints

from api.auth import Admin
from api.schemas_certificates import AuditPublic
from intake.certificates import CertificateService
from intake.inputs import PLAIN_TEXT

MAX_KEY_ID, MAX_ENTRY_ID = 2**31 - 1, 2**63 - 1
"""Key ids are 32-bit and entry ids 64-bit in the database: a larger number is refused
rather than sent to it."""

ActionName = Annotated[str, StringConstraints(max_length=50, pattern=PLAIN_TEXT)]

router = APIRouter(tags=["audit"])


def _service(request: Request) -> CertificateService:
    service: CertificateService = request.app.state.certificates
    return service


@router.get("/audit", response_model=list[AuditPublic])
def audit(
    request: Request,
    principal: Admin,
    holder_id: Annotated[str | None, Query(max_length=64, pattern=PLAIN_TEXT)] = None,
    key: Annotated[int | None, Query(ge=1, le=MAX_KEY_ID, description="API key id")] = None,
    since: datetime | None = None,
    action: Annotated[list[ActionName] | None, Query()] = None,
    before_id: Annotated[int | None, Query(ge=1, le=MAX_ENTRY_ID,
                                           description="page backwards from this id")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[AuditPublic]:
    """Newest first. Holder IDs are masked in this list; filter with the full one."""
    entries = _service(request).audit_entries(principal, holder_id=holder_id, key_id=key,
                                              since=since, actions=action,
                                              before_id=before_id, limit=limit)
    return [AuditPublic(**e) for e in entries]


@router.get("/audit/holders/{holder_id}", response_model=list[AuditPublic])
def holder_usage(holder_id: Annotated[str, Path(max_length=64, pattern=PLAIN_TEXT)],
                 request: Request, principal: Admin,
                 limit: Annotated[int, Query(ge=1, le=1000)] = 200) -> list[AuditPublic]:
    """Who used this holder's certificates (searches, reads, downloads, reuse in cases),
    printed for the holder at the window on request."""
    return [AuditPublic(**e) for e in _service(request).holder_usage(principal, holder_id,
                                                                     limit=limit)]
