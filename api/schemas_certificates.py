"""What the certificate and audit routes accept and return (never ORM rows)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field

from intake.certificates import CertificateView


class CertificatePublic(BaseModel):
    """GB/T 36903-style metadata, the extracted fields with provenance, and the status on
    `as_of` (a certificate past its end date is `expired` even if not yet swept)."""

    id: str
    type: str = Field(description="证照类型代码 (material type)")
    type_name: str = Field(description="证照类型名称")
    number: str = Field(description="证照编号 (masked for roles that do not need it)")
    holder_name: str = Field(description="持证主体")
    holder_id: str = Field(description="持证主体代码 (masked for roles that do not need it)")
    holder_id_type: str
    issuer: str | None = Field(description="颁发机构")
    issue_date: date | None = Field(description="颁证日期")
    valid_from: date | None
    valid_until: date | None = Field(description="有效期截止; null: 长期")
    status: str = Field(description="valid / expired / revoked, on as_of")
    as_of: date
    verification: str = Field(description="reviewer / auto")
    verified_by: str
    verified_at: datetime
    revoked_at: datetime | None
    revoke_reason: str | None
    source_case_id: str | None
    source_pages: list[int]
    has_scan: bool
    fields: dict[str, Any]

    @classmethod
    def of(cls, view: CertificateView) -> CertificatePublic:
        data = dict(view.__dict__)
        data.pop("stored_status")
        return cls(**data)


class VerifyRequest(BaseModel):
    holder_id: str | None = Field(
        default=None, max_length=64,
        description="持证主体代码, for certificates that do not print it (不动产权证书)")
    pages: list[Annotated[int, Field(ge=1, le=100_000)]] | None = Field(
        default=None, max_length=10_000,
        description="The document's pages as the reviewer saw them; a mismatch (a new batch "
                    "changed the case) is a 409.")


class RevokeRequest(BaseModel):
    reason: str = Field(min_length=1, max_length=1000)


class AuditPublic(BaseModel):
    id: int
    at: datetime
    key_id: int | None
    actor: str
    role: str
    action: str
    target: str | None
    holder_id: str | None
    purpose: str | None
    case_ref: str | None
    result: str
    detail: dict[str, Any] | None
