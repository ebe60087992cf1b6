"""The certificate registry: verified certificates (证照) that later cases and other systems
may rely on. SQL stays here; callers get rows and plain values.

Status is stored (`valid`, `expired`, `revoked`) and also evaluated against a date:
`status_on` says what a certificate is on a case's acceptance date, whatever the stored
status, so a certificate past its end date is never presented as valid even before the
nightly `expire_due` has run.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, NamedTuple

from sqlalchemy import Connection, Row, and_, bindparam, or_, select, update
from sqlalchemy.orm import Session, aliased

from storage.models import Case, Certificate

STATUSES = ("valid", "expired", "revoked")


@dataclass(frozen=True)
class NewCertificate:
    """What a verification knows about a certificate (GB/T 36903 names in comments)."""

    material_type: str  # 证照类型代码 (our material-type code)
    type_name: str  # 证照类型名称
    number: str  # 证照编号
    holder_name: str  # 持证主体
    holder_id: str  # 持证主体代码: resident ID number or unified social credit code
    holder_id_type: str  # id_number / credit_code
    verification: str  # reviewer / auto
    verified_by: str
    issuer: str | None = None  # 颁发机构
    issue_date: date | None = None  # 颁证日期
    valid_from: date | None = None  # 有效期起始
    valid_until: date | None = None  # 有效期截止; None: 长期
    fields: dict[str, Any] = field(default_factory=dict)  # value, confidence, page, box
    source_case_id: str | None = None
    source_pages: Sequence[int] = ()
    scan_key: str | None = None
    scan_sha256: str | None = None
    verified_by_key: int | None = None


_SHOWN = (Certificate.id, Certificate.material_type, Certificate.type_name,
          Certificate.number, Certificate.holder_name, Certificate.holder_id,
          Certificate.holder_id_type, Certificate.issuer, Certificate.issue_date,
          Certificate.valid_from, Certificate.valid_until, Certificate.status,
          Certificate.fields, Certificate.source_case_id, Certificate.source_pages,
          Certificate.scan_key, Certificate.verification, Certificate.verified_by,
          Certificate.verified_at, Certificate.revoked_at, Certificate.revoke_reason)
"""The columns a query answers with (named as the model's attributes)."""
_BY_HOLDER = (select(*_SHOWN)
              .where(Certificate.holder_id == bindparam("holder"),
                     Certificate.material_type.in_(bindparam("types", expanding=True)))
              .order_by(Certificate.valid_until.desc().nulls_first(),
                        Certificate.verified_at.desc())
              .limit(bindparam("limit")))
_BINDING = (Case.id, Case.number, Case.center_id, Case.item_code, Case.reviewer_key_id)
_CASE_ID_BY_REF = (select(Case.id).where(or_(Case.number == bindparam("ref"),
                                             Case.id == bindparam("ref")))
                   .limit(1).scalar_subquery())
_CASE_BY_REF = select(*_BINDING).where(Case.id == _CASE_ID_BY_REF)
_CASES_BY_ID = select(*_BINDING).where(Case.id.in_(bindparam("ids", expanding=True)))
_BOUND = aliased(Case, name="bound")
_BOUND_BY_HOLDER = (
    select(*(getattr(_BOUND, c.key).label(f"case_{c.key}") for c in _BINDING), *_SHOWN)
    .select_from(_BOUND)
    .outerjoin(Certificate, and_(
        Certificate.holder_id == bindparam("holder"),
        Certificate.material_type.in_(bindparam("types", expanding=True))))
    .where(_BOUND.id == _CASE_ID_BY_REF)
    .order_by(Certificate.valid_until.desc().nulls_first(), Certificate.verified_at.desc())
    .limit(bindparam("limit")))


class BoundCase(NamedTuple):
    """A case as a query binds to it: the columns naming it and deciding who may open it
    (`intake.access.may_open` reads these), never its report (which can be large)."""

    id: str
    number: str
    center_id: int
    item_code: str
    reviewer_key_id: int | None


def lookup(conn: Connection, holder_id: str, types: Collection[str], *, limit: int = 200
           ) -> Sequence[Row[Any]]:
    """`CertificateRegistry.search` for one holder as rows of the columns a query shows
    (no ORM objects: this is the hot path of other systems' queries). A prepared statement
    on the (holder_id, material_type) index."""
    if not types:
        return []
    return conn.execute(_BY_HOLDER, {"holder": holder_id, "types": sorted(types),
                                     "limit": limit}).all()


def bound_lookup(conn: Connection, case_ref: str, holder_id: str, types: Collection[str],
                 *, limit: int = 200) -> tuple[BoundCase | None, Sequence[Row[Any]]]:
    """`case_binding` and `lookup` in one statement (one round trip): the case `case_ref`
    names, if any, and the holder's certificates of these types (none without a case)."""
    rows = conn.execute(_BOUND_BY_HOLDER, {"ref": case_ref, "holder": holder_id,
                                           "types": sorted(types), "limit": limit}).all()
    if not rows:
        return None, []
    first = rows[0]
    case = BoundCase(first.case_id, first.case_number, first.case_center_id,
                     first.case_item_code, first.case_reviewer_key_id)
    certificates: Sequence[Row[Any]] = [row for row in rows if row.id is not None]  # type: ignore[misc]
    return case, certificates


def case_binding(conn: Connection, ref: str) -> BoundCase | None:
    """The case a query names by its number or id."""
    row = conn.execute(_CASE_BY_REF, {"ref": ref}).first()
    return None if row is None else BoundCase(*row)


def case_bindings(conn: Connection, ids: Collection[str]) -> dict[str, BoundCase]:
    """`case_binding` for several case ids at once (certificates' source cases)."""
    if not ids:
        return {}
    return {row.id: BoundCase(*row)
            for row in conn.execute(_CASES_BY_ID, {"ids": sorted(ids)})}


def status_on(cert: Certificate | Row[Any], day: date) -> str:
    """The certificate's status on `day`: revoked wins, then expiry by date."""
    if cert.status == "revoked":
        return "revoked"
    if cert.status == "expired" or (cert.valid_until is not None and cert.valid_until < day):
        return "expired"
    return "valid"


class CertificateRegistry:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, new: NewCertificate) -> tuple[Certificate, bool]:
        """Store a certificate; returns (row, created). Verifying the same certificate again
        (same type, holder, number and end date, still valid) returns the existing row."""
        existing = self.session.scalar(
            select(Certificate).where(
                Certificate.holder_id == new.holder_id,
                Certificate.material_type == new.material_type,
                Certificate.number == new.number,
                Certificate.valid_until.is_(None) if new.valid_until is None
                else Certificate.valid_until == new.valid_until,
                Certificate.status == "valid",
            ).limit(1))
        if existing is not None:
            return existing, False
        row = Certificate(
            id=str(uuid.uuid4()), material_type=new.material_type, type_name=new.type_name,
            number=new.number, holder_name=new.holder_name, holder_id=new.holder_id,
            holder_id_type=new.holder_id_type, issuer=new.issuer, issue_date=new.issue_date,
            valid_from=new.valid_from, valid_until=new.valid_until, status="valid",
            fields=dict(new.fields), source_case_id=new.source_case_id,
            source_pages=list(new.source_pages), scan_key=new.scan_key,
            scan_sha256=new.scan_sha256, verification=new.verification,
            verified_by=new.verified_by, verified_by_key=new.verified_by_key,
            verified_at=datetime.now(UTC),
        )
        self.session.add(row)
        self.session.flush()
        return row, True

    def get(self, cert_id: str) -> Certificate | None:
        return self.session.get(Certificate, cert_id)

    def search(self, holder_ids: Collection[str], types: Collection[str] | None = None,
               *, limit: int = 200) -> list[Certificate]:
        """Certificates of these holders (and types, when given), newest end date first.
        Served by the (holder_id, material_type) index."""
        if not holder_ids or (types is not None and not types):
            return []
        query = select(Certificate).where(Certificate.holder_id.in_(list(holder_ids)))
        if types is not None:
            query = query.where(Certificate.material_type.in_(list(types)))
        query = query.order_by(Certificate.valid_until.desc().nulls_first(),
                               Certificate.verified_at.desc()).limit(limit)
        return list(self.session.scalars(query))

    def revoke(self, cert_id: str, *, by_key: int | None, reason: str) -> Certificate | None:
        """Revoke (注销/吊销); revoking twice keeps the first revocation."""
        row = self.get(cert_id)
        if row is None:
            return None
        if row.status != "revoked":
            row.status, row.revoked_at = "revoked", datetime.now(UTC)
            row.revoked_by_key, row.revoke_reason = by_key, reason
            self.session.flush()
        return row

    def expire_due(self, on: date) -> int:
        """Mark every valid certificate whose end date is before `on` as expired."""
        result = self.session.execute(
            update(Certificate)
            .where(Certificate.status == "valid", Certificate.valid_until < on)
            .values(status="expired")
            .execution_options(synchronize_session=False))
        return int(getattr(result, "rowcount", 0) or 0)
