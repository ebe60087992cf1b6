"""One stored assessment per change of a case's inputs.

A case's report is computed here, and only here, when something it depends on changes:
the case was created, a batch finished (`intake.pipeline`), a reviewer corrected something
(`IntakeService.reassess`), a certificate was verified or revoked (`intake.certificates`),
or the catalog changed (`reassess_outdated`, at start-up). Each assessment is stored as a
row of `assessments` with the catalog version and the inputs it saw (pages and their
versions, failed files, facts, holders searched, certificates considered), when and why.
Reads (`IntakeService.case_report`, the notification) serve the newest row and never run
the rules, so the notice printed a minute later is the notice the applicant was handed.
Reviewers' corrections (`intake.corrections`) are inputs too: every assessment applies them
over the extraction.

Certificate reuse needs the holders before the completeness run, and they are read from
the evidence: for every reusable slot, the field its `holder` reference names (e.g.
`application_form.legal_rep_id_number`) on every extracted document of a type that the
referenced slot accepts. Typed facts are claims, not evidence: they never select a holder.
The completeness engine then reuses a certificate only for the holder the slot resolves to.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from intake.assess import Assessment, Unreadable, assess
from intake.corrections import corrections_of_case
from intake.errors import message
from intake.runtime import Runtime
from ocr.types import OcrPage
from rules.analysis import Analysis
from rules.catalog import Catalog, Item
from rules.conditions import FACTS, split_ref
from rules.types import Document, ReusableCertificate
from storage.audit import SERVICE, Actor, AuditLog
from storage.cases import CaseRepository
from storage.certificates import CertificateRegistry
from storage.models import Assessment as StoredAssessment
from storage.models import Case, Certificate, Page

log = logging.getLogger(__name__)

# Why an assessment was made (the `reason` column); callers may give others.
CASE_CREATED = "case_created"
BATCH_COMPLETED = "batch_completed"
CERTIFICATE_VERIFIED = "certificate_verified"
CERTIFICATE_REVOKED = "certificate_revoked"
CATALOG_CHANGED = "catalog_changed"

READ_FAILED = "page.read_failed"


def normalise_holder(value: str) -> str:
    """A holder's ID number or credit code as the certificate store keeps it."""
    return value.strip().upper()


_versions: dict[int, tuple[Catalog, str]] = {}


def catalog_version(catalog: Catalog) -> str:
    """A content hash of the loaded catalog: equal catalogs have equal versions, whatever
    the files' names or order on disk."""
    known = _versions.get(id(catalog))
    if known is not None and known[0] is catalog:
        return known[1]
    canonical = json.dumps(catalog.to_dict(), sort_keys=True, ensure_ascii=False, default=str)
    version = hashlib.sha256(canonical.encode()).hexdigest()
    _versions[id(catalog)] = (catalog, version)
    return version


# holders and certificates ------------------------------------------------------------------
def holder_candidates(item: Item, documents: Sequence[Document]) -> set[str]:
    """The holder IDs the extracted materials name for the item's reusable slots: the
    field a slot's `holder` reference points at, read on every document of a type the
    referenced slot accepts (the engine later settles which one fills that slot)."""
    found: set[str] = set()
    for slot in item.slots:
        if not slot.reusable or not slot.holder:
            continue
        head, tail = split_ref(slot.holder)
        if head == FACTS:
            continue  # a typed claim, not evidence
        source = next((s for s in item.slots if s.code == head), None)
        accepts = set(source.accepts) if source is not None else {head}
        for doc in documents:
            if doc.material_type in accepts:
                value = doc.field_value(tail)
                if value and value.strip():
                    found.add(normalise_holder(value))
    return found


def certificate_types(item: Item, catalog: Catalog) -> set[str]:
    return {t for s in item.slots if s.reusable for t in s.accepts
            if catalog.material_types[t].certificate}


def reusable_certificates(session: Session, catalog: Catalog, item: Item,
                          holders: set[str], *, actor: Actor, case_ref: str
                          ) -> list[ReusableCertificate]:
    """Stored certificates of these holders that the case's reusable slots may consider,
    with their status (the engine reuses only `valid` ones and reports the others). Every
    holder looked up is audited, hit or miss, as `actor`'s (the key that caused it)."""
    types = certificate_types(item, catalog)
    if not holders or not types:
        return []
    rows = CertificateRegistry(session).search(sorted(holders), types)
    audit_lookups(session, actor, holders, types, rows, purpose=item.name, case_ref=case_ref)
    return [ReusableCertificate(
        id=r.id, material_type=r.material_type, holder_id=r.holder_id,
        holder_name=r.holder_name, number=r.number, valid_until=r.valid_until,
        # Expiry is judged by the engine on the acceptance date (its finding names the
        # end date); a stored `expired` from the sweep does not matter for a case accepted
        # before the end date. Revocation is final whatever the date.
        status="revoked" if r.status == "revoked" else "valid",
        fields={k: str(v.get("value")) for k, v in (r.fields or {}).items()
                if isinstance(v, dict) and v.get("value") is not None},
    ) for r in rows]


def audit_lookups(session: Session, actor: Actor, holders: Iterable[str],
                  types: Iterable[str], rows: Sequence[Certificate], *, purpose: str,
                  case_ref: str | None) -> None:
    """One `certificate.lookup` entry per holder looked up for a case: hit or miss, with
    the key that caused it (a miss is a use too: it tells that nothing is stored)."""
    audit = AuditLog(session)
    for holder in sorted(holders):
        found = [r.id for r in rows if r.holder_id == holder]
        audit.append(actor, "certificate.lookup", result="ok" if found else "not_found",
                     holder_id=holder, purpose=purpose, case_ref=case_ref,
                     target=",".join(sorted(types)) or None,
                     detail={"certificates": found[:50]})


# computing -------------------------------------------------------------------------------
@dataclass(frozen=True)
class CaseAssessment:
    """An assessment of a stored case, not yet stored. The rules were given the case's
    page numbers (`Page.sequence`), so every page reference in it is one the clerk can
    find; `inputs` is what it saw."""

    assessment: Assessment
    pages: list[Page]
    holders: tuple[str, ...]
    inputs: dict[str, Any]

    def report_dict(self) -> dict[str, Any]:
        return self.assessment.to_dict()

    @property
    def applicant_name(self) -> str | None:
        return next((d.field_value("applicant_name")
                     for d in self.assessment.report.documents
                     if d.material_type == "application_form"), None)


def assess_stored_case(runtime: Runtime, repo: CaseRepository, case: Case, *,
                       actor: Actor = SERVICE) -> CaseAssessment:
    """Run the rules once over every page of the case read so far, with the certificates
    of the holders its materials name (their lookups audited as `actor`'s). Computes
    only; `reassess_case` stores."""
    all_pages = repo.pages_of_case(case.id)
    pages = [p for p in all_pages if p.status in ("done", "blank") and p.ocr is not None]
    failed_files = [f for f in repo.files_of_case(case.id) if f.status == "failed"]
    unreadable = [
        Unreadable(p.file.filename, p.sequence, p.error_code or READ_FAILED,
                   p.error_message or message(p.error_code or READ_FAILED, page=p.sequence))
        for p in all_pages if p.status == "failed"
    ] + [
        Unreadable(f.filename, None, f.error_code or "file.failed", f.error_message or "")
        for f in failed_files
    ]
    item = runtime.catalog.item(case.item_code)
    corrections = corrections_of_case(repo.session, case.id)
    holders: set[str] = set()

    def certificates_for(analysis: Analysis) -> list[ReusableCertificate]:
        holders.update(holder_candidates(item, analysis.documents))
        return reusable_certificates(repo.session, runtime.catalog, item, holders,
                                     actor=actor, case_ref=case.number)

    result = assess([OcrPage.from_dict(p.ocr) for p in pages if p.ocr is not None], item,
                    runtime.catalog, case.acceptance_date, facts=case.facts,
                    certificates=certificates_for, unreadable=unreadable,
                    numbers=[p.sequence for p in pages], corrections=corrections)
    inputs = {
        "item": case.item_code,
        "acceptance_date": case.acceptance_date.isoformat(),
        "facts": dict(case.facts or {}),
        "corrections": [[c.document, c.field, c.at] for c in corrections],
        "pages": [[p.id, p.sequence, p.status, p.updated_at.isoformat()] for p in all_pages],
        "failed_files": [[f.id, f.error_code] for f in failed_files],
        "holders": sorted(holders),
        "certificates": [[c.id, c.status] for c in result.certificates],
    }
    return CaseAssessment(assessment=result, pages=pages, holders=tuple(sorted(holders)),
                          inputs=inputs)


def inputs_digest(inputs: Mapping[str, Any], version: str) -> str:
    canonical = json.dumps({"catalog": version, **inputs}, sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


# storing ---------------------------------------------------------------------------------
def reassess_case(runtime: Runtime, session: Session, case_id: str, *, reason: str,
                  actor: Actor) -> StoredAssessment:
    """Assess the case now and store the result as its report, in the caller's
    transaction. Takes the case's lock first, so concurrent writers (a batch finishing, a
    revocation) store one after the other, each over what the other committed. `actor`
    caused it: the certificate lookups and reuses are audited as its."""
    repo = CaseRepository(session)
    repo.lock_case(case_id)
    case = repo.get_case(case_id)
    if case is None:
        raise LookupError(f"case {case_id} not found")
    result = assess_stored_case(runtime, repo, case, actor=actor)
    version = catalog_version(runtime.catalog)
    report = result.report_dict()
    row = repo.add_assessment(
        case, report=report, catalog_version=version, inputs=result.inputs,
        inputs_digest=inputs_digest(result.inputs, version), reason=reason, actor=actor.name,
        applicant_name=result.applicant_name,
        summarise=bool(result.inputs["pages"] or result.inputs["failed_files"]))
    # Progress counts pages the rules have typed (`BatchProgress.pages_classified`).
    by_sequence = {p.sequence: p for p in result.pages}
    for cls in result.assessment.analysis.classifications:
        page = by_sequence[cls.page]
        page.material_type, page.class_confidence = cls.material_type, cls.confidence
    record_reuse(session, runtime.catalog, case, report, actor)
    log.info("case assessed: %s", reason, extra={"case_id": case_id, "stage": "assess"})
    return row


def record_reuse(session: Session, catalog: Catalog, case: Case,
                 report: Mapping[str, Any], actor: Actor = SERVICE) -> None:
    """A reused certificate is a use of the holder's records: audit it once per case, with
    the key that caused the assessment (e.g. the one that uploaded the batch)."""
    audit = AuditLog(session)
    item_name = catalog.item(case.item_code).name
    for slot in report.get("slots", []):
        cert_id = slot.get("certificate")
        if slot.get("state") != "reused" or not cert_id:
            continue
        if audit.seen("certificate.reuse", cert_id, case.number):
            continue
        row = CertificateRegistry(session).get(cert_id)
        audit.append(actor, "certificate.reuse", result="ok", target=cert_id,
                     holder_id=row.holder_id if row else None, purpose=item_name,
                     case_ref=case.number, detail={"slot": slot.get("code")})


def reassess_outdated(runtime: Runtime) -> list[str]:
    """Assess again, once, every case whose report was made with another catalog (or
    none): at start-up, so that reads never have to. Safe to run in several processes
    at once: each case is re-checked under its lock."""
    version = catalog_version(runtime.catalog)
    with runtime.database.session() as session:
        candidates = CaseRepository(session).cases_not_assessed_with(version)
    done: list[str] = []
    for case_id in candidates:
        try:
            with runtime.database.session() as session:
                repo = CaseRepository(session)
                repo.lock_case(case_id)
                current = repo.current_assessment(case_id)
                if current is not None and current.catalog_version == version:
                    continue  # another process got there first
                reassess_case(runtime, session, case_id, reason=CATALOG_CHANGED,
                              actor=SERVICE)
            done.append(case_id)
        except Exception:
            # One case the rules cannot assess must not keep the others on the old catalog.
            log.exception("reassessment after a catalog change failed",
                          extra={"case_id": case_id, "stage": "assess"})
    if done:
        log.info("%d cases reassessed for a new catalog", len(done),
                 extra={"stage": "assess"})
    return done
