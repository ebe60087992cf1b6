"""ORM models. The schema is owned by the Alembic migrations in `storage/migrations`;
these classes must stay in step with them (a test compares the two)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    and_,
    func,
    select,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, aliased, mapped_column, relationship
from sqlalchemy.sql.elements import ColumnElement

ENGINE_LABEL_LENGTH = 200
"""Characters of an OCR engine's version label kept on a page row."""


class UtcDateTime(TypeDecorator[datetime]):
    """A moment in time, always time-zone aware in UTC on the way out. PostgreSQL's
    `timestamptz` keeps the zone; SQLite has none and returns naive values, so a value is
    converted to UTC before it is stored (a naive value is taken as UTC already) and UTC is
    attached when it is read."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect
                           ) -> datetime | None:
        if value is None or value.tzinfo is None:
            return value
        try:
            value = value.astimezone(UTC)
        except OverflowError:  # within a day of year 1 or 9999: the nearest representable
            value = (datetime.min if value.year == 1 else datetime.max).replace(tzinfo=UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect
                             ) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    pass


class ServiceCenter(Base):
    """A service center (政务服务中心): it owns its cases and keys. Migration 0003 creates
    the `default` center (id 1) that a single-center installation uses without knowing."""

    __tablename__ = "service_centers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    region_code: Mapped[str | None] = mapped_column(String(12), nullable=True)  # 行政区划代码
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


DEFAULT_CENTER_ID = 1


class ApiKey(Base):
    """A bearer key. Only its SHA-256 is stored; `prefix` finds the row without a scan.
    `center_id` NULL: a global admin. `purposes`: what a system key may name as `purpose`.
    `replaced_by`: the key that rotated this one out (this one lives until `expires_at`)."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    prefix: Mapped[str] = mapped_column(String(16), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[list[Any]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    center_id: Mapped[int | None] = mapped_column(ForeignKey("service_centers.id"),
                                                  nullable=True, index=True)
    purposes: Mapped[list[Any] | None] = mapped_column(JSON, nullable=True)
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    last_used_at: Mapped[datetime | None] = mapped_column(UtcDateTime(),
                                                          nullable=True)
    replaced_by: Mapped[int | None] = mapped_column(Integer, nullable=True)


class Case(Base):
    __tablename__ = "cases"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    item_code: Mapped[str] = mapped_column(String(100), index=True)
    acceptance_date: Mapped[date] = mapped_column(Date)
    facts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    applicant_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    created_by: Mapped[int | None] = mapped_column(ForeignKey("api_keys.id"), nullable=True)
    status: Mapped[str] = mapped_column(String(20), default="open")
    # The case's life (intake.lifecycle): `status` above is the completeness report's;
    # `state` is where the case stands, and these columns are the current projection of its
    # `case_events` (the record), kept so deadlines need no replay.
    state: Mapped[str] = mapped_column(String(20), default="received", index=True)
    received_on: Mapped[date] = mapped_column(Date)
    notice_clock_from: Mapped[date] = mapped_column(Date)
    accepted_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    decided_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    closed_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    decision: Mapped[str | None] = mapped_column(String(20), nullable=True)
    accepted_by: Mapped[int | None] = mapped_column(Integer, nullable=True)
    reviewed_by: Mapped[int | None] = mapped_column(Integer, nullable=True)
    decided_by: Mapped[int | None] = mapped_column(Integer, nullable=True)
    paused_from: Mapped[str | None] = mapped_column(String(20), nullable=True)
    pauses: Mapped[list[Any]] = mapped_column(JSON, default=list)
    extension_days: Mapped[int] = mapped_column(Integer, default=0)
    outstanding: Mapped[list[Any]] = mapped_column(JSON, default=list)
    # The applicant's progress query code (intake.progress), as a salted scrypt digest only.
    query_code_hash: Mapped[str | None] = mapped_column(String(200), nullable=True)
    center_id: Mapped[int] = mapped_column(ForeignKey("service_centers.id"), index=True)
    # The clerk handling the case (its opener until an admin hands it over) and the
    # reviewer it is routed to (NULL: any reviewer of the center).
    handler_key_id: Mapped[int | None] = mapped_column(ForeignKey("api_keys.id"),
                                                       nullable=True)
    reviewer_key_id: Mapped[int | None] = mapped_column(ForeignKey("api_keys.id"),
                                                        nullable=True)

    batches: Mapped[list[Batch]] = relationship(back_populates="case", order_by="Batch.created_at")
    # The case's report is its newest assessment: one home, stored by `intake.assessments`
    # when the case's inputs change; `report` reads it and cannot be written.
    current_assessment: Mapped[Assessment | None] = relationship(
        primaryjoin=lambda: _newest_assessment_of_case(), viewonly=True, uselist=False)

    @property
    def report(self) -> dict[str, Any] | None:
        current = self.current_assessment
        return current.report if current is not None else None


def _newest_assessment_of_case() -> ColumnElement[bool]:
    newer = aliased(Assessment)
    newest = select(func.max(newer.id)).where(newer.case_id == Case.id).scalar_subquery()
    return and_(Assessment.case_id == Case.id, Assessment.id == newest)


class Batch(Base):
    __tablename__ = "batches"
    __table_args__ = (UniqueConstraint("case_id", "idempotency_key"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), index=True)
    status: Mapped[str] = mapped_column(String(20))  # received/processing/completed/failed
    idempotency_key: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    uploaded_by: Mapped[int | None] = mapped_column(ForeignKey("api_keys.id"), nullable=True)

    case: Mapped[Case] = relationship(back_populates="batches")
    entries: Mapped[list[BatchFile]] = relationship(
        back_populates="batch", order_by="BatchFile.position"
    )


class SourceFile(Base):
    """An original upload, stored once per case by content hash (re-uploads reuse it)."""

    __tablename__ = "source_files"
    __table_args__ = (UniqueConstraint("case_id", "sha256"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), index=True)
    batch_id: Mapped[str] = mapped_column(ForeignKey("batches.id"), index=True)
    sha256: Mapped[str] = mapped_column(String(64))
    filename: Mapped[str] = mapped_column(String(500))
    content_type: Mapped[str | None] = mapped_column(String(200), nullable=True)
    size: Mapped[int] = mapped_column(Integer)
    object_key: Mapped[str] = mapped_column(String(200))
    format: Mapped[str | None] = mapped_column(String(20), nullable=True)
    page_count: Mapped[int | None] = mapped_column(Integer, nullable=True)
    status: Mapped[str] = mapped_column(String(20))  # stored/split/failed
    error_code: Mapped[str | None] = mapped_column(String(100), nullable=True)
    error_message: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class BatchFile(Base):
    """One file as it arrived in one batch: accepted, a duplicate of an earlier upload to the
    same case, or rejected before storage."""

    __tablename__ = "batch_files"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    batch_id: Mapped[str] = mapped_column(ForeignKey("batches.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    filename: Mapped[str] = mapped_column(String(500))
    # The name exactly as sent, escaped for display, when normalising changed it.
    original_filename: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    file_id: Mapped[str | None] = mapped_column(ForeignKey("source_files.id"), nullable=True)
    outcome: Mapped[str] = mapped_column(String(20))  # accepted/duplicate/rejected
    error_code: Mapped[str | None] = mapped_column(String(100), nullable=True)
    error_message: Mapped[str | None] = mapped_column(Text, nullable=True)

    batch: Mapped[Batch] = relationship(back_populates="entries")
    file: Mapped[SourceFile | None] = relationship()


class Page(Base):
    __tablename__ = "pages"
    __table_args__ = (UniqueConstraint("file_id", "index_in_file"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), index=True)
    batch_id: Mapped[str] = mapped_column(ForeignKey("batches.id"), index=True)
    file_id: Mapped[str] = mapped_column(ForeignKey("source_files.id"), index=True)
    index_in_file: Mapped[int] = mapped_column(Integer)  # 1-based
    sequence: Mapped[int] = mapped_column(Integer)  # order within the case, 1-based
    status: Mapped[str] = mapped_column(String(20))  # pending/done/blank/failed
    method: Mapped[str | None] = mapped_column(String(20), nullable=True)
    rotation: Mapped[int] = mapped_column(Integer, default=0)
    engine: Mapped[str | None] = mapped_column(String(ENGINE_LABEL_LENGTH), nullable=True)
    ocr: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    material_type: Mapped[str | None] = mapped_column(String(100), nullable=True)
    class_confidence: Mapped[float | None] = mapped_column(Float, nullable=True)
    document_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    error_code: Mapped[str | None] = mapped_column(String(100), nullable=True)
    error_message: Mapped[str | None] = mapped_column(Text, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())

    file: Mapped[SourceFile] = relationship()


class Assessment(Base):
    """One assessment of a case: the report as computed when the case's inputs changed, and
    what it saw. Rows are only added; the case's report is its newest row, served as
    stored. `inputs` lists the pages (id, number, status, updated_at), failed files, facts,
    the holders searched and the certificates considered (id, status); `catalog_version`
    is the content hash of the catalog the rules ran with."""

    __tablename__ = "assessments"
    __table_args__ = (Index("ix_assessments_case", "case_id", "id"),)

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"))
    report: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(20))
    catalog_version: Mapped[str] = mapped_column(String(64))
    inputs: Mapped[dict[str, Any]] = mapped_column(JSON)
    inputs_digest: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(50))  # batch_completed, certificate_revoked, ...
    actor: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Certificate(Base):
    """A verified certificate (证照) in the shared store; columns follow the GB/T 36903
    e-licence metadata where it fits (type code, number, holder and holder code, issuer,
    issue date, validity, status) plus provenance (source case, pages, scan, verifier)."""

    __tablename__ = "certificates"
    __table_args__ = (Index("ix_certificates_holder", "holder_id", "material_type"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    material_type: Mapped[str] = mapped_column(String(64))
    type_name: Mapped[str] = mapped_column(String(100))
    number: Mapped[str] = mapped_column(String(200))
    holder_name: Mapped[str] = mapped_column(String(200))
    holder_id: Mapped[str] = mapped_column(String(64))
    holder_id_type: Mapped[str] = mapped_column(String(20))  # id_number / credit_code
    issuer: Mapped[str | None] = mapped_column(String(200), nullable=True)
    issue_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    valid_from: Mapped[date | None] = mapped_column(Date, nullable=True)
    valid_until: Mapped[date | None] = mapped_column(Date, nullable=True, index=True)
    status: Mapped[str] = mapped_column(String(20))  # valid / expired / revoked
    fields: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    source_case_id: Mapped[str | None] = mapped_column(
        ForeignKey("cases.id"), nullable=True, index=True)
    source_pages: Mapped[list[Any]] = mapped_column(JSON, default=list)
    scan_key: Mapped[str | None] = mapped_column(String(200), nullable=True)
    scan_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    verification: Mapped[str] = mapped_column(String(20))  # reviewer / auto
    verified_by: Mapped[str] = mapped_column(String(200))
    verified_by_key: Mapped[int | None] = mapped_column(ForeignKey("api_keys.id"),
                                                        nullable=True)
    verified_at: Mapped[datetime] = mapped_column(UtcDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    revoked_by_key: Mapped[int | None] = mapped_column(ForeignKey("api_keys.id"), nullable=True)
    revoke_reason: Mapped[str | None] = mapped_column(Text, nullable=True)


class AuditEntry(Base):
    """One row of the append-only audit log (UPDATE/DELETE are refused by triggers), a link
    of its hash chain (`storage.audit`)."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_holder", "holder_id", "at"),
        Index("ix_audit_log_key", "key_id", "at"),
        Index("ix_audit_log_at", "at"),
        UniqueConstraint("seq", name="uq_audit_log_seq"),
    )

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    prev_hash: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    key_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    actor: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(50))
    target: Mapped[str | None] = mapped_column(String(200), nullable=True)
    holder_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    purpose: Mapped[str | None] = mapped_column(String(500), nullable=True)
    case_ref: Mapped[str | None] = mapped_column(String(200), nullable=True)
    result: Mapped[str] = mapped_column(String(20))
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)


class CaseEvent(Base):
    """One transition of a case: who did what, when, why, with what payload. Written in the
    same transaction as the state change it records."""

    __tablename__ = "case_events"
    __table_args__ = (Index("ix_case_events_case", "case_id", "id"),)

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"))
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    on_date: Mapped[date] = mapped_column(Date)  # in the center's time zone
    action: Mapped[str] = mapped_column(String(20))
    from_state: Mapped[str] = mapped_column(String(20))
    to_state: Mapped[str] = mapped_column(String(20))
    key_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    actor: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class CalendarDayRow(Base):
    """A day of a loaded year that is not an ordinary Monday–Friday working day or
    Saturday/Sunday rest day, or that belongs to a named holiday period (rules.workdays)."""

    __tablename__ = "calendar_days"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    working: Mapped[bool] = mapped_column(Boolean)
    kind: Mapped[str] = mapped_column(String(30))
    name: Mapped[str] = mapped_column(String(100))
    source: Mapped[str] = mapped_column(String(500))
    version: Mapped[str] = mapped_column(String(100))


class CalendarYear(Base):
    """A year whose schedule is loaded: its days in `calendar_days` are the whole truth for
    it (a year without a row is computed provisionally)."""

    __tablename__ = "calendar_years"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    source: Mapped[str] = mapped_column(String(500))
    version: Mapped[str] = mapped_column(String(100))
    loaded_at: Mapped[datetime] = mapped_column(UtcDateTime())
    loaded_by: Mapped[str] = mapped_column(String(200))

class OutboxEvent(Base):
    """A case event for other systems, written with the change it describes and delivered
    by the webhook sender (`storage.outbox`, `intake.outbox`). `seq` orders a case's events;
    `id` is the stable identity a receiver deduplicates on."""

    __tablename__ = "outbox_events"
    __table_args__ = (Index("ix_outbox_events_due", "delivered_at", "next_attempt_at"),)

    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(36), unique=True)
    case_id: Mapped[str] = mapped_column(String(36), index=True)
    kind: Mapped[str] = mapped_column(String(50))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime(),
                                                          nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(500), nullable=True)


class Notice(Base):
    """A notice the center issued (一次性告知书, 受理通知书, 容缺受理通知书, 不予受理通知书):
    rendered once, stored, and served byte-identical from `pdf_key` forever."""

    __tablename__ = "notices"
    __table_args__ = (UniqueConstraint("center", "year", "number"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    center: Mapped[str] = mapped_column(String(50))
    year: Mapped[int] = mapped_column(Integer)
    number: Mapped[int] = mapped_column(Integer)
    label: Mapped[str] = mapped_column(String(100))  # the number as printed
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime())
    issued_by_key: Mapped[int | None] = mapped_column(Integer, nullable=True)
    issued_by: Mapped[str] = mapped_column(String(200))
    content: Mapped[dict[str, Any]] = mapped_column(JSON)
    pdf_key: Mapped[str] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)


class NoticeCounter(Base):
    """The last notice number a center drew in a year."""

    __tablename__ = "notice_counters"

    center: Mapped[str] = mapped_column(String(50), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_number: Mapped[int] = mapped_column(Integer)


class User(Base):
    """A person who signs in to the pages. Their role, center and identity in the audit log
    are those of `key_id`, an API-key row made for them whose secret nobody ever sees, so a
    person is one principal everywhere: audit entries, separation of duties, centers."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    key_id: Mapped[int] = mapped_column(ForeignKey("api_keys.id"), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    disabled_at: Mapped[datetime | None] = mapped_column(UtcDateTime(),
                                                         nullable=True)
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UtcDateTime(),
                                                          nullable=True)
    last_login_at: Mapped[datetime | None] = mapped_column(UtcDateTime(),
                                                           nullable=True)

    key: Mapped[ApiKey] = relationship()


class WebSession(Base):
    """A signed-in browser. Only the SHA-256 of the cookie's token is stored."""

    __tablename__ = "web_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    last_seen_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)



class Stack(Base):
    """A scanner station's upload: scans of several cases one after another, split by the
    cover sheets found in it (`intake.stacks`)."""

    __tablename__ = "stacks"
    # A retried upload finds its stack by the uploader's key, never by another uploader's.
    __table_args__ = (UniqueConstraint("created_by", "idempotency_key"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(200), nullable=True)
    status: Mapped[str] = mapped_column(String(20))  # received/processing/completed
    # The uploader's center: its cover sheets may feed only that center's cases, and only
    # its keys see the stack and its inbox pages.
    center_id: Mapped[int] = mapped_column(ForeignKey("service_centers.id"), index=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("api_keys.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)

    files: Mapped[list[StackFile]] = relationship(order_by="StackFile.position")


class StackFile(Base):
    """One file of a stack as it arrived: accepted (stored by SHA-256), a duplicate of an
    earlier file of the same stack, or rejected before storage."""

    __tablename__ = "stack_files"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    stack_id: Mapped[str] = mapped_column(ForeignKey("stacks.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    filename: Mapped[str] = mapped_column(String(500))
    outcome: Mapped[str] = mapped_column(String(20))  # accepted/duplicate/rejected
    sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    content_type: Mapped[str | None] = mapped_column(String(200), nullable=True)
    size: Mapped[int | None] = mapped_column(Integer, nullable=True)
    object_key: Mapped[str | None] = mapped_column(String(200), nullable=True)
    format: Mapped[str | None] = mapped_column(String(20), nullable=True)
    page_count: Mapped[int | None] = mapped_column(Integer, nullable=True)
    status: Mapped[str | None] = mapped_column(String(20), nullable=True)  # stored/split/failed
    error_code: Mapped[str | None] = mapped_column(String(100), nullable=True)
    error_message: Mapped[str | None] = mapped_column(Text, nullable=True)


class StackPage(Base):
    """One page of a stack and where it went. `kind` is what the scan found (a cover
    sheet, a blank page, any other page); `state` is pending until the page is scanned,
    then `cover` (a cover sheet: never a material), `attached` (a page of `case_id`, in
    `batch_id`) or `held` (in the inbox, `reason_code` saying why, until a clerk attaches
    it)."""

    __tablename__ = "stack_pages"
    __table_args__ = (UniqueConstraint("file_id", "index_in_file"),
                      Index("ix_stack_pages_state", "state"))

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    stack_id: Mapped[str] = mapped_column(ForeignKey("stacks.id"), index=True)
    file_id: Mapped[str] = mapped_column(ForeignKey("stack_files.id"))
    index_in_file: Mapped[int] = mapped_column(Integer)  # 1-based
    sequence: Mapped[int] = mapped_column(Integer)  # order within the stack, 1-based
    kind: Mapped[str | None] = mapped_column(String(20), nullable=True)  # cover/blank/page
    state: Mapped[str] = mapped_column(String(20))  # pending/scanned/cover/attached/held
    cover_text: Mapped[str | None] = mapped_column(String(200), nullable=True)
    segment: Mapped[int | None] = mapped_column(Integer, nullable=True)
    case_id: Mapped[str | None] = mapped_column(ForeignKey("cases.id"), nullable=True,
                                                index=True)
    batch_id: Mapped[str | None] = mapped_column(ForeignKey("batches.id"), nullable=True)
    reason_code: Mapped[str | None] = mapped_column(String(100), nullable=True)
    reason_message: Mapped[str | None] = mapped_column(Text, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())

    file: Mapped[StackFile] = relationship()


class FieldCorrectionRow(Base):
    """A reviewer's correction of one extracted field: the old value is kept, the reason
    is required, and who and when are recorded. Applied over the extraction at every
    assessment of the case (`rules.corrections`)."""

    __tablename__ = "field_corrections"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), index=True)
    document_id: Mapped[str] = mapped_column(String(36))  # the report's id ("d2")
    material_type: Mapped[str] = mapped_column(String(100))
    pages: Mapped[list[Any]] = mapped_column(JSON)  # the document's page sequences
    field: Mapped[str] = mapped_column(String(100))
    old_value: Mapped[str | None] = mapped_column(Text, nullable=True)
    new_value: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    key_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    actor: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
