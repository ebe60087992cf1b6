"""The shared certificate store, as intake uses it:

* **verification** — a document of a certificate type becomes a stored certificate when a
  reviewer confirms it (`verify_document`), or automatically after an assessment when the
  type is listed in `DOCINTAKE_AUTO_VERIFY_TYPES` and every field passed its checks with at
  least `DOCINTAKE_AUTO_VERIFY_MIN_CONFIDENCE` (`auto_verify`);
* **reuse** — `intake.assessments` finds, for a case's reusable slots, the certificates
  of the holders its materials name; the completeness engine then marks a slot `reused`
  only when one is valid on the case's acceptance date (revoked or expired ones are
  reported, never reused), and paper always remains acceptable. Verifying or revoking a
  certificate assesses the affected cases again: the case it came from, and on revocation
  every case that reused it;
* **queries by other systems** — `search`, `read`, `scan`, `revoke`, each checked against
  the caller's role and scopes and written to the append-only audit log, including refusals.

Who sees what is the one policy of `intake.masking` (clerks and admins: masked numbers, no
birth date, no full address; a certificate's `source_case_id` only for a caller who may
open that case). Application logs never carry ID numbers (see `intake.logs`).

Purpose binding (who may ask about whom):

* staff (clerks, reviewers, approvers) query only through a case they may open, named by
  `case_ref` (its number or id), and only for holders who are parties to it: a holder ID
  read from the case's documents, or the holder of a certificate it reused. The case is
  the purpose (`purpose` defaults to the item's name). Anything else is refused, audited;
* `system` keys name a case of the center they are registered in (`case_ref`, the case
  number the applicant or the clerk gave them) and a `purpose` among the purposes declared
  on the key (`docintake apikey create --role system --purpose ...`);
* a center's admins name a case of their center and give a free-text purpose; global
  admins give both as free text. Audited.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, NoReturn, cast

from sqlalchemy import Connection, Row
from sqlalchemy.orm import Session

from intake.access import (
    ADMIN,
    OPERATOR,
    STAFF_ROLES,
    SYSTEM,
    Principal,
    case_by_number,
    case_for,
    may_open,
)
from intake.assessments import (
    CERTIFICATE_REVOKED,
    CERTIFICATE_VERIFIED,
    normalise_holder,
    reassess_case,
)
from intake.errors import IntakeError
from intake.inputs import bounded, has_unsafe_characters, is_uuid
from intake.masking import Masker
from intake.masking import action as masking_action
from intake.runtime import Runtime
from ocr.pdfium_lock import PDFIUM
from rules.catalog import Catalog
from storage.audit import SERVICE, Actor, AuditLog
from storage.cases import CaseRepository
from storage.certificates import (
    BoundCase,
    CertificateRegistry,
    NewCertificate,
    bound_lookup,
    case_binding,
    case_bindings,
    lookup,
    status_on,
)
from storage.models import AuditEntry, Case, Certificate, Page
from storage.objects import sha256_hex
from storage.s3 import Presigner

log = logging.getLogger(__name__)

READ_ROLES = frozenset({SYSTEM, ADMIN, *STAFF_ROLES})
# The scan shows the number in full: only roles the masking policy gives it in full.
SCAN_ROLES = frozenset(r for r in READ_ROLES if masking_action("id_number", r) == "full")
EXPIRE_WINDOW = timedelta(days=31)
# What a query may send (the audit log's columns): checked here, so a refusal is audited.
PURPOSE_LENGTH, CASE_REF_LENGTH, HOLDER_LENGTH = 500, 200, 64
"""How far back `expire_due` may be run (a missed nightly sweep); never ahead of today."""
# Fields that would rebuild a masked number: a masked certificate drops them entirely.
REBUILDING_FIELDS = ("birth_date", "address")
USE_ACTIONS = ("certificate.search", "certificate.read", "certificate.file",
               "certificate.reuse", "certificate.lookup")


@dataclass(frozen=True)
class Mapping_:
    """Where a certificate's GB/T 36903 metadata comes from among a document's fields."""

    number: str
    holder_name: str
    holder_id: str | None  # None: not printed on it (property certificate): from the form
    holder_id_type: str
    issuer: str | None = None
    issue_date: str | None = None
    valid_from: str | None = None
    valid_until: str | None = None


MAPPINGS: dict[str, Mapping_] = {
    "id_card": Mapping_(number="id_number", holder_name="name", holder_id="id_number",
                        holder_id_type="id_number", issuer="issuing_authority",
                        issue_date="valid_from", valid_from="valid_from",
                        valid_until="valid_until"),
    "business_license": Mapping_(number="credit_code", holder_name="name",
                                 holder_id="credit_code", holder_id_type="credit_code",
                                 valid_from="established_date", valid_until="term_end"),
    "property_certificate": Mapping_(number="certificate_number", holder_name="holder",
                                     holder_id=None, holder_id_type="id_or_credit_code"),
}


@dataclass(frozen=True)
class CertificateView:
    id: str
    type: str
    type_name: str
    number: str
    holder_name: str
    holder_id: str
    holder_id_type: str
    issuer: str | None
    issue_date: date | None
    valid_from: date | None
    valid_until: date | None
    status: str  # on `as_of`
    as_of: date
    stored_status: str
    verification: str
    verified_by: str
    verified_at: datetime
    revoked_at: datetime | None
    revoke_reason: str | None
    source_case_id: str | None
    source_pages: list[int]
    has_scan: bool
    fields: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ScanAccess:
    """Either a short-lived URL (S3) or the bytes to stream."""

    url: str | None = None
    data: bytes | None = None
    filename: str = "certificate.pdf"
    expires_at: datetime | None = None


def _declared(purpose: str, declared: Sequence[str]) -> bool:
    """A purpose matches a declared one exactly, or as `declared: detail`."""
    return any(purpose == p or purpose.startswith(f"{p}:") or purpose.startswith(f"{p}：")
               for p in declared)


def _date(value: Any) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        return None


def view_of(row: Certificate | Row[Any], as_of: date, *, masker: Masker | None = None,
            source_visible: bool = True) -> CertificateView:
    """The certificate as the masker's role may see it (None: in full); the source case
    only when the caller may open it."""
    fields: dict[str, Any] = dict(row.fields or {})
    number, holder = row.number, row.holder_id
    if masker is not None and not masker.full:
        fields = {name: masker.field(name, f) for name, f in fields.items()
                  if name not in REBUILDING_FIELDS}
        number = masker.value("id_number", number) if number == holder \
            else masker.text(number)
        holder = masker.value("id_number", holder)
    return CertificateView(
        id=row.id, type=row.material_type, type_name=row.type_name, number=number,
        holder_name=row.holder_name, holder_id=holder,
        holder_id_type=row.holder_id_type, issuer=row.issuer, issue_date=row.issue_date,
        valid_from=row.valid_from, valid_until=row.valid_until,
        status=status_on(row, as_of), as_of=as_of, stored_status=row.status,
        verification=row.verification, verified_by=row.verified_by,
        verified_at=row.verified_at, revoked_at=row.revoked_at,
        revoke_reason=row.revoke_reason,
        source_case_id=row.source_case_id if source_visible else None,
        source_pages=list(row.source_pages or []),
        has_scan=row.scan_key is not None, fields=fields)


def case_parties(case: Case, catalog: Catalog) -> set[str]:
    """The holders a case is about, by evidence: ID numbers and credit codes read from its
    documents (not failing their check), and the holders of certificates it reused. Typed
    facts are claims and name nobody."""
    from intake.masking import field_kinds

    kinds = field_kinds(catalog)
    report = case.report or {}
    found: set[str] = set()
    for doc in report.get("documents", []):
        for name, f in (doc.get("fields") or {}).items():
            if kinds.get(name) == "id_number" and isinstance(f, Mapping) \
                    and f.get("value") and f.get("valid") is not False:
                found.add(normalise_holder(str(f["value"])))
    for slot in report.get("slots", []):
        for finding in slot.get("findings", []):
            holder = (finding.get("evidence") or {}).get("holder_id")
            if finding.get("code") == "reused" and holder:
                found.add(normalise_holder(str(holder)))
    return found


# verification ------------------------------------------------------------------------------
def _build_scan(runtime: Runtime, pages: Sequence[Page]) -> bytes:
    """A PDF of exactly the certificate's pages, cut from the originals."""
    datas = [(page, runtime.objects.get(page.file.object_key)) for page in pages]
    with PDFIUM:  # one PDFium user at a time in this process (ocr.pdfium_lock)
        return _assemble(datas)


def _assemble(datas: Sequence[tuple[Page, bytes]]) -> bytes:
    import pypdfium2
    from PIL import Image

    out = pypdfium2.PdfDocument.new()
    for page, data in datas:
        if page.file.format == "pdf":
            out.import_pages(pypdfium2.PdfDocument(data), [page.index_in_file - 1])
            continue
        with Image.open(io.BytesIO(data)) as image:
            image.seek(page.index_in_file - 1)
            buffer = io.BytesIO()
            image.convert("RGB").save(buffer, "PDF", resolution=200)
        out.import_pages(pypdfium2.PdfDocument(buffer.getvalue()))
    buffer = io.BytesIO()
    out.save(buffer)
    return buffer.getvalue()


def scan_key(sha256: str) -> str:
    """Derived artefacts live beside the originals, content-addressed the same way."""
    return f"derived/certificates/{sha256[:2]}/{sha256[2:4]}/{sha256}.pdf"


@dataclass(frozen=True)
class _Binding:
    """The case a query is bound to: what the answer and its audit entry need of it, and,
    for staff, the parties they may ask about (None: not checked for this caller)."""

    id: str
    item_code: str
    parties: frozenset[str] | None


class CertificateService:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._maskers: dict[str, Masker] = {}

    # verification --------------------------------------------------------------------
    def verify_document(self, case_id: str, document_id: str, principal: Principal, *,
                        holder_id: str | None = None,
                        pages: Sequence[int] | None = None) -> tuple[CertificateView, bool]:
        """A reviewer confirms a certificate document of a case: it enters the store."""
        actor = principal.actor
        with self.runtime.database.session() as session:
            case = case_for(session, principal, case_id)
            current = CaseRepository(session).current_assessment(case.id)
            if any(b.status != "completed" for b in case.batches) or current is None:
                raise IntakeError("case.processing", action_zh="核验", action_en="verify")
            report = current.report
            doc = next((d for d in report.get("documents", [])
                        if d.get("id") == document_id), None)
            if doc is None:
                raise IntakeError("document.not_found", document_id=document_id)
            if pages is not None and list(pages) != list(doc["pages"]):
                raise IntakeError("document.changed")
            new = self._candidate(case, report, doc, holder_id)
            if isinstance(new, tuple):
                raise IntakeError("certificate.not_verifiable", reason_zh=new[0],
                                  reason_en=new[1])
            new = self._with_scan(session, case, doc, new, verification="reviewer",
                                  verified_by=actor.name, key_id=actor.key_id)
            row, created = CertificateRegistry(session).add(new)
            AuditLog(session).append(actor, "certificate.verify", result="ok", target=row.id,
                                     holder_id=row.holder_id, case_ref=case.number,
                                     detail={"document": document_id, "created": created})
            view = view_of(row, case.acceptance_date, masker=self._masker(principal))
            if created:  # a new input of the case's reusable slots
                reassess_case(self.runtime, session, case.id, reason=CERTIFICATE_VERIFIED,
                              actor=actor)
        log.info("certificate verified by reviewer",
                 extra={"case_id": case_id, "stage": "verify"})
        return view, created

    def auto_verify(self, session: Session, case: Case, report: Mapping[str, Any]) -> list[str]:
        """After an assessment: store every certificate document that needs no reviewer."""
        settings = self.runtime.settings
        if not settings.auto_verify_types:
            return []
        if case.acceptance_date < case.created_at.date():
            # A back-dated case may pass a card that has expired since: a reviewer decides.
            return []
        confident_slots = {
            d for s in report.get("slots", [])
            if s.get("state") == "present" and not s.get("needs_review")
            and not any(f.get("needs_review") for f in s.get("findings", []))
            for d in s.get("documents", [])}
        stored: list[str] = []
        registry, audit = CertificateRegistry(session), AuditLog(session)
        for doc in report.get("documents", []):
            if (doc["type"] not in settings.auto_verify_types or doc.get("needs_review")
                    or doc["id"] not in confident_slots):
                continue
            fields = doc.get("fields", {})
            if any(f.get("valid") is False
                   or float(f.get("confidence", 0)) < settings.auto_verify_min_confidence
                   for f in fields.values()):
                continue
            new = self._candidate(case, report, doc, None)
            if isinstance(new, tuple):
                continue
            try:
                with session.begin_nested():
                    new = self._with_scan(session, case, doc, new, verification="auto",
                                          verified_by="docintake (auto)", key_id=None)
                    row, created = registry.add(new)
                    if created:
                        audit.append(SERVICE, "certificate.verify", result="ok", target=row.id,
                                     holder_id=row.holder_id, case_ref=case.number,
                                     detail={"document": doc["id"], "automatic": True})
                        stored.append(row.id)
            except Exception:
                # The case's report stands without it; a reviewer can still verify by hand.
                log.exception("automatic verification failed",
                              extra={"case_id": case.id, "stage": "verify"})
        return stored

    def _candidate(self, case: Case, report: Mapping[str, Any], doc: Mapping[str, Any],
                   holder_id: str | None) -> NewCertificate | tuple[str, str]:
        """The certificate a document describes, or why it cannot be one (Chinese, English)."""
        mtype = self.runtime.catalog.material_types.get(doc["type"])
        mapping = MAPPINGS.get(doc["type"])
        if mtype is None or not mtype.certificate or mapping is None:
            return f"材料类型 {doc['type']} 不是证照", "not a certificate type"
        fields: dict[str, Any] = doc.get("fields", {})

        def value(name: str | None) -> str | None:
            f = fields.get(name) if name else None
            return str(f["value"]) if f and f.get("value") not in (None, "") else None

        def good(name: str | None) -> bool:
            f = fields.get(name) if name else None
            return f is not None and f.get("valid") is not False and value(name) is not None

        number, holder_name = value(mapping.number), value(mapping.holder_name)
        if not good(mapping.number) or holder_name is None:
            return "证照编号或持证人无法识别或校验未通过", "number or holder unreadable or invalid"
        holder = value(mapping.holder_id)
        if mapping.holder_id is not None and not good(mapping.holder_id):
            return "持证主体代码校验未通过", "the holder's ID fails its check"
        if holder is None:
            holder = holder_id or self._holder_from_form(report, holder_name)
        if not holder:
            return ("请提供持证主体代码（身份证号码或统一社会信用代码）",
                    "give the holder's ID number or credit code")
        until = _date(value(mapping.valid_until))
        open_ended = bool(fields.get(mapping.valid_until or "", {}).get("open_ended"))
        if mapping.valid_until and until is None and not open_ended and \
                mtype.code != "property_certificate":
            return "有效期无法识别", "the validity end date is unreadable"
        if until is not None and until < case.acceptance_date:
            return (f"证照已于 {until.isoformat()} 到期",
                    f"it expired on {until.isoformat()}, before the acceptance date")
        return NewCertificate(
            material_type=mtype.code, type_name=mtype.name, number=normalise_holder(number or "")
            if mapping.number == mapping.holder_id else (number or ""),
            holder_name=holder_name, holder_id=normalise_holder(holder),
            holder_id_type=mapping.holder_id_type, issuer=value(mapping.issuer),
            issue_date=_date(value(mapping.issue_date)),
            valid_from=_date(value(mapping.valid_from)), valid_until=until,
            fields={k: v for k, v in fields.items()}, source_case_id=case.id,
            source_pages=list(doc.get("pages", [])), verification="", verified_by="")

    @staticmethod
    def _holder_from_form(report: Mapping[str, Any], holder_name: str) -> str | None:
        """A certificate that prints only a name belongs to the applicant when the names
        agree: take the applicant's ID from the form."""
        for doc in report.get("documents", []):
            if doc.get("type") != "application_form":
                continue
            f = doc.get("fields", {})
            name = (f.get("applicant_name") or {}).get("value")
            ident = f.get("applicant_id") or {}
            if name == holder_name and ident.get("value") and ident.get("valid") is not False:
                return str(ident["value"])
        return None

    def _with_scan(self, session: Session, case: Case, doc: Mapping[str, Any],
                   new: NewCertificate, *, verification: str, verified_by: str,
                   key_id: int | None) -> NewCertificate:
        by_sequence = {p.sequence: p for p in CaseRepository(session).pages_of_case(case.id)}
        pages = [by_sequence[n] for n in doc.get("pages", []) if n in by_sequence]
        key = sha = None
        if pages:
            data = _build_scan(self.runtime, pages)
            sha = sha256_hex(data)
            key = scan_key(sha)
            self.runtime.objects.put(key, data)
        from dataclasses import replace

        return replace(new, scan_key=key, scan_sha256=sha, verification=verification,
                       verified_by=verified_by, verified_by_key=key_id)

    # queries -------------------------------------------------------------------------
    def _masker(self, principal: Principal) -> Masker:
        # One per role: a masker reads the catalog's field kinds once, and it is immutable.
        masker = self._maskers.get(principal.role)
        if masker is None:
            masker = self._maskers[principal.role] = Masker(principal.role,
                                                            self.runtime.catalog)
        return masker

    def _refuse(self, principal: Principal, action: str, *, code: str, status: str,
                fields: Mapping[str, Any] | None = None, **audit: Any) -> NoReturn:
        # Durable before the refusal is answered, like an answer (group commit).
        self.runtime.audit_writer.append(principal.actor, action, result=status,
                                         detail={"code": code}, **audit)
        raise IntakeError(code, **(fields or {}))

    def _check_purpose(self, principal: Principal, action: str, purpose: str | None,
                       case_ref: str | None, **audit: Any) -> tuple[str, str]:
        """Role, purpose and case reference, before anything is looked up; returns the
        purpose and case reference to record (refusals are audited)."""
        role = principal.role
        if role not in READ_ROLES or (action == "certificate.file" and role not in SCAN_ROLES):
            self._refuse(principal, action, code="auth.forbidden_role", status="denied",
                         fields={"role": role}, purpose=purpose, case_ref=case_ref, **audit)
        purpose, case_ref = (purpose or "").strip(), (case_ref or "").strip()
        for name, value, length in (("purpose", purpose, PURPOSE_LENGTH),
                                    ("case_ref", case_ref, CASE_REF_LENGTH)):
            if len(value) > length or has_unsafe_characters(value):
                self._refuse(principal, action, code="certificate.query_invalid",
                             status="invalid", fields={"name": name, "length": length},
                             purpose=purpose, case_ref=case_ref, **audit)
        if not case_ref or (not purpose and role not in STAFF_ROLES):
            self._refuse(principal, action, code="certificate.purpose_required",
                         status="invalid", purpose=purpose, case_ref=case_ref, **audit)
        if role == SYSTEM and not _declared(purpose, principal.purposes):
            declared = "; declared: " + ", ".join(principal.purposes) \
                if principal.purposes else "; the key declares none"
            self._refuse(principal, action, code="certificate.purpose_undeclared",
                         status="denied", fields={"purpose": purpose, "declared": declared},
                         purpose=purpose, case_ref=case_ref, **audit)
        return purpose, case_ref

    def _bound_case(self, conn: Connection, principal: Principal, action: str,
                    case_ref: str, purpose: str, *, found: BoundCase | None = None,
                    **audit: Any) -> _Binding | None:
        """The case a query is bound to: for staff, system keys and a center's admins, a
        case the key may reach (staff and admins: may open; system: of its center); a
        global admin's reference is free text. `found`: the case `case_ref` names, when
        the caller has read it already. Refusals are audited and raise."""
        if principal.role == ADMIN and principal.is_global:
            return None
        binding: _Binding | None = None
        if principal.role in STAFF_ROLES:
            # Staff are checked against the case's parties, read from its report.
            with Session(bind=conn) as session:
                case = case_by_number(session, principal, case_ref)
                if case is not None:
                    binding = _Binding(case.id, case.item_code,
                                       frozenset(case_parties(case, self.runtime.catalog)))
        else:
            # Only what binding needs (never the report, which can be large): a system
            # key or a center's admin is never checked against the case's parties; both
            # reach the cases of their own center.
            row = found or case_binding(conn, case_ref)
            if row is not None and (principal.center_id is None
                                    or row.center_id == principal.center_id):
                binding = _Binding(row.id, row.item_code, None)
        if binding is None:
            self._refuse(principal, action, code="certificate.case_ref_invalid",
                         status="denied", fields={"case_ref": case_ref}, purpose=purpose,
                         case_ref=case_ref, **audit)
        return binding

    def _check_party(self, principal: Principal, action: str, case: _Binding | None,
                     holder: str, purpose: str, case_ref: str, **audit: Any) -> None:
        """Staff may ask only about the parties to the case they name."""
        if case is None or case.parties is None or principal.role not in STAFF_ROLES:
            return
        if holder not in case.parties:
            self._refuse(principal, action, code="certificate.not_a_party", status="denied",
                         fields={"case_ref": case_ref}, holder_id=holder, purpose=purpose,
                         case_ref=case_ref, **audit)

    @staticmethod
    def allowed_types(actor: Actor | Principal, catalog: Catalog) -> set[str]:
        """A key's scopes limit the types it sees; a system key without scopes sees none,
        staff keys without scopes see every certificate type."""
        cert_types = {t.code for t in catalog.material_types.values() if t.certificate}
        if actor.scopes:
            return cert_types & set(actor.scopes)
        return set() if actor.role == SYSTEM else cert_types

    @staticmethod
    def _visible_sources(conn: Connection, principal: Principal,
                         rows: Iterable[Certificate | Row[Any]]) -> set[str]:
        """The source cases among these certificates' that the principal may open."""
        ids = {r.source_case_id for r in rows if r.source_case_id is not None}
        if not ids or principal.role == SYSTEM:  # system keys open no case (intake.access)
            return set()
        # `may_open` reads only the binding columns these rows carry.
        return {case_id for case_id, case in case_bindings(conn, ids).items()
                if may_open(principal, cast(Case, case))}

    def search(self, principal: Principal, *, holder_id: str | None, types: Sequence[str],
               purpose: str | None, case_ref: str | None, as_of: date | None = None
               ) -> list[CertificateView]:
        action = "certificate.search"
        holder = normalise_holder(holder_id) if holder_id else None
        if holder is not None and (len(holder) > HOLDER_LENGTH
                                   or has_unsafe_characters(holder)):
            self._refuse(principal, action, code="certificate.query_invalid",
                         status="invalid", fields={"name": "holder_id",
                                                   "length": HOLDER_LENGTH},
                         holder_id=holder, purpose=purpose, case_ref=case_ref)
        purpose, case_ref = self._check_purpose(principal, action, purpose, case_ref,
                                                holder_id=holder,
                                                target=",".join(types) or None)
        if not holder:
            self._refuse(principal, action, code="certificate.holder_required",
                         status="invalid", purpose=purpose, case_ref=case_ref)
        allowed = self.allowed_types(principal, self.runtime.catalog)
        asked = set(types) if types else allowed
        if not asked <= allowed:
            self._refuse(principal, action, code="certificate.scope_denied", status="denied",
                         fields={"types": ", ".join(sorted(asked - allowed))},
                         holder_id=holder, purpose=purpose, case_ref=case_ref,
                         target=",".join(sorted(types)))
        day = as_of or self.runtime.clock.today()
        masker = self._masker(principal)
        # One connection for the case and the certificates, in autocommit: reads only.
        with self.runtime.database.reading() as conn:
            found, rows = None, None
            if principal.role not in STAFF_ROLES and not principal.is_global:
                # System keys and a center's admins are never checked against the case's
                # parties: case and certificates in one statement, the certificates
                # dropped unanswered if the case refuses.
                found, rows = bound_lookup(conn, case_ref, holder, asked)
            case = self._bound_case(conn, principal, action, case_ref, purpose, found=found,
                                    holder_id=holder)
            purpose = purpose or self._case_purpose(case)
            self._check_party(principal, action, case, holder, purpose, case_ref)
            if rows is None:
                rows = lookup(conn, holder, asked)
            sources = self._visible_sources(conn, principal, rows)
        views = [view_of(r, day, masker=masker,
                         source_visible=r.source_case_id is None
                         or r.source_case_id in sources) for r in rows]
        # Answered only once the entry is durable; concurrent queries share the flush.
        self.runtime.audit_writer.append(
            principal.actor, action, result="ok", target=",".join(sorted(asked)) or None,
            holder_id=holder, purpose=purpose, case_ref=case_ref,
            detail={"count": len(rows), "certificates": [r.id for r in rows][:50]})
        return views

    def _case_purpose(self, case: _Binding | None) -> str:
        return self.runtime.catalog.item(case.item_code).name if case is not None else ""

    def _visible(self, session: Session, principal: Principal, action: str, cert_id: str,
                 purpose: str, case_ref: str) -> Certificate:
        # an id not shaped like ours is never queried, and is absent like any other
        row = CertificateRegistry(session).get(cert_id) if is_uuid(cert_id) else None
        if row is None or row.material_type not in self.allowed_types(
                principal, self.runtime.catalog):
            # Out of scope looks exactly like absent: a key learns nothing about types it
            # may not see. The audit log records the truth.
            self.runtime.audit_writer.append(
                principal.actor, action, result="not_found" if row is None else "denied",
                target=cert_id, holder_id=row.holder_id if row else None, purpose=purpose,
                case_ref=case_ref)
            raise IntakeError("certificate.not_found", cert_id=bounded(cert_id, 80))
        conn = session.connection()
        case = self._bound_case(conn, principal, action, case_ref, purpose, target=cert_id)
        self._check_party(principal, action, case, row.holder_id,
                          purpose or self._case_purpose(case), case_ref, target=cert_id)
        return row

    def read(self, principal: Principal, cert_id: str, *, purpose: str | None,
             case_ref: str | None, as_of: date | None = None) -> CertificateView:
        action = "certificate.read"
        purpose, case_ref = self._check_purpose(principal, action, purpose, case_ref,
                                                target=cert_id)
        with self.runtime.database.session() as session:
            row = self._visible(session, principal, action, cert_id, purpose, case_ref)
            view = view_of(row, as_of or self.runtime.clock.today(), masker=self._masker(principal),
                           source_visible=self._source_visible(session, principal, row))
            holder = row.holder_id
        self.runtime.audit_writer.append(principal.actor, action, result="ok", target=cert_id,
                                         holder_id=holder, purpose=purpose, case_ref=case_ref)
        return view

    def _source_visible(self, session: Session, principal: Principal, row: Certificate
                        ) -> bool:
        return row.source_case_id is None or row.source_case_id in self._visible_sources(
            session.connection(), principal, [row])

    def scan(self, principal: Principal, cert_id: str, *, purpose: str | None,
             case_ref: str | None) -> ScanAccess:
        action = "certificate.file"
        purpose, case_ref = self._check_purpose(principal, action, purpose, case_ref,
                                                target=cert_id)
        settings = self.runtime.settings
        with self.runtime.database.session() as session:
            row = self._visible(session, principal, action, cert_id, purpose, case_ref)
            if row.scan_key is None:
                AuditLog(session).append(principal.actor, action, result="not_found",
                                         target=cert_id, holder_id=row.holder_id,
                                         purpose=purpose, case_ref=case_ref,
                                         detail={"code": "no_scan"})
                session.commit()
                raise IntakeError("certificate.no_scan")
            filename = f"{row.material_type}-{row.id[:8]}.pdf"
            objects = self.runtime.objects
            if isinstance(objects, Presigner) and settings.s3_presign_downloads:
                ttl = timedelta(seconds=settings.s3_presign_seconds)
                access = ScanAccess(url=objects.presigned_url(row.scan_key, ttl, filename),
                                    filename=filename, expires_at=datetime.now(UTC) + ttl)
            else:
                access = ScanAccess(data=objects.get(row.scan_key), filename=filename)
            AuditLog(session).append(principal.actor, action, result="ok", target=cert_id,
                                     holder_id=row.holder_id, purpose=purpose,
                                     case_ref=case_ref,
                                     detail={"delivery": "presigned" if access.url
                                             else "stream"})
        return access

    def revoke(self, principal: Principal, cert_id: str, reason: str) -> CertificateView:
        action = "certificate.revoke"
        with self.runtime.database.session() as session:
            registry = CertificateRegistry(session)
            if principal.role != ADMIN:
                AuditLog(session).append(principal.actor, action, result="denied",
                                         target=cert_id)
                session.commit()
                raise IntakeError("auth.forbidden_role", role=principal.role,
                                  allowed="; admins only")
            row = (registry.revoke(cert_id, by_key=principal.key_id, reason=reason)
                   if is_uuid(cert_id) else None)
            if row is None:
                AuditLog(session).append(principal.actor, action, result="not_found",
                                         target=cert_id)
                session.commit()
                raise IntakeError("certificate.not_found", cert_id=bounded(cert_id, 80))
            AuditLog(session).append(principal.actor, action, result="ok", target=cert_id,
                                     holder_id=row.holder_id, detail={"reason": reason})
            view = view_of(row, self.runtime.clock.today(), masker=self._masker(principal),
                           source_visible=self._source_visible(session, principal, row))
            for case_id in self._cases_relying_on(session, row):
                reassess_case(self.runtime, session, case_id, reason=CERTIFICATE_REVOKED,
                              actor=principal.actor)
            return view

    @staticmethod
    def _cases_relying_on(session: Session, row: Certificate) -> list[str]:
        """The case a certificate came from and every case that reused it (each reuse is
        in the audit log), oldest first."""
        repo = CaseRepository(session)
        cases = [repo.get_case_by_number(ref) for ref in AuditLog(session).case_refs(
            "certificate.reuse", row.id, holder_id=row.holder_id)]
        ids = [row.source_case_id] if row.source_case_id else []
        return list(dict.fromkeys(ids + [c.id for c in cases if c is not None]))

    def expire_due(self, on: date | None = None, *, principal: Principal = OPERATOR,
                   today: date | None = None) -> int:
        """Mark certificates past their end date on `on` as expired: never a day ahead of
        today (that would expire valid certificates), at most `EXPIRE_WINDOW` back (a
        missed sweep). Audited with who ran it."""
        today = today or self.runtime.clock.today()
        on = on or today
        earliest = today - EXPIRE_WINDOW
        if not earliest <= on <= today:
            with self.runtime.database.session() as session:
                AuditLog(session).append(principal.actor, "certificate.expire",
                                         result="invalid", detail={"on": on.isoformat()})
            raise IntakeError("certificate.expire_date_invalid",
                              earliest=earliest.isoformat(), latest=today.isoformat())
        with self.runtime.database.session() as session:
            count = CertificateRegistry(session).expire_due(on)
            AuditLog(session).append(principal.actor, "certificate.expire", result="ok",
                                     detail={"on": on.isoformat(), "expired": count})
            return count

    # audit -------------------------------------------------------------------------------
    def audit_entries(self, principal: Principal = OPERATOR, *, holder_id: str | None = None,
                      key_id: int | None = None, since: datetime | None = None,
                      actions: Iterable[str] | None = None, before_id: int | None = None,
                      limit: int = 100) -> list[dict[str, Any]]:
        """Newest first, masked for the principal's role; a center's admin sees what the
        keys of its center did, a global admin everything."""
        with self.runtime.database.session() as session:
            key_ids = None
            if principal.center_id is not None:
                from storage.apikeys import list_api_keys

                key_ids = [k.id for k in list_api_keys(session, center_id=principal.center_id,
                                                       include_revoked=True)]
            entries = AuditLog(session).entries(
                holder_id=normalise_holder(holder_id) if holder_id else None, key_id=key_id,
                since=since, actions=list(actions) if actions else None,
                before_id=before_id, limit=limit, key_ids=key_ids)
            return [self._audit_view(e, principal) for e in entries]

    def holder_usage(self, principal: Principal, holder_id: str, *, limit: int = 200
                     ) -> list[dict[str, Any]]:
        """Who used this holder's certificates, for the holder (audited itself)."""
        holder = normalise_holder(holder_id)
        with self.runtime.database.session() as session:
            audit = AuditLog(session)
            entries = audit.entries(holder_id=holder, actions=USE_ACTIONS, limit=limit)
            audit.append(principal.actor, "audit.holder_usage", result="ok",
                         holder_id=holder, detail={"count": len(entries)})
            return [self._audit_view(e, principal) for e in entries]

    def _audit_view(self, entry: AuditEntry, principal: Principal) -> dict[str, Any]:
        masker = self._masker(principal)
        return {
            "id": entry.id, "at": entry.at, "key_id": entry.key_id, "actor": entry.actor,
            "role": entry.role, "action": entry.action, "target": entry.target,
            "holder_id": masker.value("id_number", entry.holder_id),
            "purpose": masker.deep(entry.purpose), "case_ref": masker.deep(entry.case_ref),
            "result": entry.result, "detail": masker.deep(entry.detail)}
