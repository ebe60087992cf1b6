"""What clerks, reviewers and admins can do, as plain functions of ids and values. The API
and the CLI call these; neither touches storage directly."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from intake.access import OPERATOR, Principal, case_for, center_of_new_case
from intake.assessments import CASE_CREATED, reassess_case
from intake.errors import IntakeError
from intake.inputs import bounded, is_uuid
from intake.lifecycle import Actor, CaseLife, Lifecycle
from intake.masking import Masker
from intake.notification import render_notification
from intake.runners import TaskRunner
from intake.runtime import Runtime
from intake.uploads import BatchIntake, Upload
from rules.catalog import UnknownItemError
from storage.cases import CaseRepository
from storage.models import Assessment, Batch, Case

log = logging.getLogger(__name__)

__all__ = ["BatchProgress", "CaseView", "FileView", "IntakeService", "Upload"]

# Why a case is assessed again: a short snake_case word, as stored with the assessment.
REASON = re.compile(r"[a-z][a-z0-9_]{1,49}")


@dataclass(frozen=True)
class CaseView:
    id: str
    number: str
    item_code: str
    item_name: str
    acceptance_date: date
    status: str
    applicant_name: str | None
    created_at: datetime
    batch_ids: list[str] = field(default_factory=list)
    life: CaseLife | None = None


@dataclass(frozen=True)
class FileView:
    filename: str
    outcome: str  # accepted / duplicate / rejected
    sha256: str | None
    file_id: str | None
    status: str | None  # stored / split / failed, for accepted and duplicate files
    pages: int | None
    error_code: str | None
    error_message: str | None
    original_filename: str | None = None  # as sent, escaped, when normalising changed it


@dataclass(frozen=True)
class BatchProgress:
    """Where a batch is. Pages pass the stages in order, so each count includes the pages
    counted by the later stages: received (split from the originals) >= preprocessed
    (decoded or rendered) >= OCR'd (`pages_read`: done or blank) >= classified (typed by the
    rules, when the batch is assessed). `pages_failed` pages left the line at some stage."""

    id: str
    case_id: str
    status: str
    created_at: datetime
    finished_at: datetime | None
    files: list[FileView]
    pages_total: int
    pages_read: int
    pages_blank: int
    pages_failed: int
    pages_preprocessed: int = 0
    pages_classified: int = 0

    @property
    def pages_pending(self) -> int:
        return self.pages_total - self.pages_read - self.pages_failed

    @property
    def pages_received(self) -> int:
        return self.pages_total

    @property
    def pages_ocred(self) -> int:
        return self.pages_read

    @property
    def finished(self) -> bool:
        return self.status in ("completed", "failed")


class IntakeService:
    def __init__(self, runtime: Runtime, runner: TaskRunner) -> None:
        self.runtime = runtime
        self.runner = runner
        self.lifecycle = Lifecycle(runtime)

    # cases ---------------------------------------------------------------------------
    # Every method that touches a case takes the calling `principal` and loads the case
    # through `intake.access.case_for`: the one place object-level access is decided.
    # `OPERATOR` (the default) is the trusted in-process caller (CLI demo, benchmarks).
    def create_case(
        self, item_code: str, *, acceptance_date: date | None = None,
        facts: dict[str, Any] | None = None, created_by: int | None = None,
        actor: Actor | None = None, principal: Principal = OPERATOR,
    ) -> CaseView:
        try:
            self.runtime.catalog.item(item_code)
        except UnknownItemError as exc:
            raise IntakeError("item.unknown", item_code=item_code) from exc
        today = self.runtime.clock.today()
        accepted = acceptance_date or today
        backdated = self._check_acceptance_date(accepted, today, principal)
        with self.runtime.database.session() as session:
            repo = CaseRepository(session)
            case = repo.create_case(
                item_code=item_code, acceptance_date=accepted, facts=facts,
                created_by=created_by if created_by is not None else principal.key_id,
                received_on=today, center_id=center_of_new_case(principal))
            self.lifecycle.record_receipt(
                repo, case, actor or Actor(case.created_by, principal.name, principal.role))
            if backdated:
                from storage.audit import AuditLog

                AuditLog(session).append(
                    principal.actor, "case.backdate", result="ok", target=case.id,
                    case_ref=case.number, detail={"acceptance_date": accepted.isoformat(),
                                                  "received": today.isoformat()})
            # A case has a report from the start: every slot missing, until a batch comes.
            reassess_case(self.runtime, session, case.id, reason=CASE_CREATED,
                          actor=principal.actor)
            view = self._case_view(case, repo)
        log.info("case created", extra={"case_id": view.id})
        return view

    def _check_acceptance_date(self, accepted: date, today: date, principal: Principal
                               ) -> bool:
        """The acceptance date is the day the case is received (today), never later; only
        admins may back-date it (audited), and not beyond `backdate_max_days`. Returns
        whether it is back-dated. Back-dating matters: expiry checks use this date."""
        if accepted > today:
            raise IntakeError("case.acceptance_date_future", today=today.isoformat())
        if accepted == today:
            return False
        if principal.role != "admin":
            raise IntakeError("case.acceptance_date_backdated", today=today.isoformat())
        earliest = today - timedelta(days=self.runtime.settings.backdate_max_days)
        if accepted < earliest:
            raise IntakeError("case.acceptance_date_too_old", earliest=earliest.isoformat())
        return True

    def get_case(self, case_id: str, *, principal: Principal = OPERATOR) -> CaseView:
        with self.runtime.database.session() as session:
            repo = CaseRepository(session)
            return self._case_view(case_for(session, principal, case_id), repo)

    def assign_case(self, case_id: str, *, principal: Principal,
                    handler_key_id: int | None = None,
                    reviewer_key_id: int | None = None, unroute: bool = False) -> CaseView:
        """Hand a case to another clerk of its center (admins), or route it to one reviewer
        of its center (admins and the handling clerk); `unroute` returns it to the
        center's queue. Audited."""
        from storage.audit import AuditLog
        from storage.models import ApiKey

        with self.runtime.database.session() as session:
            case = case_for(session, principal, case_id, change=True)
            detail: dict[str, Any] = {}
            if handler_key_id is not None:
                if principal.role != "admin":
                    raise IntakeError("auth.forbidden_role", role=principal.role,
                                      allowed="; admins only")
                key = session.get(ApiKey, handler_key_id)
                if key is None or key.role != "clerk" or key.center_id != case.center_id:
                    raise IntakeError("case.assignee_invalid", key_id=handler_key_id,
                                      role_zh="窗口人员", role_en="clerk")
                case.handler_key_id = detail["handler_key_id"] = handler_key_id
            if reviewer_key_id is not None:
                key = session.get(ApiKey, reviewer_key_id)
                if key is None or key.role != "reviewer" or key.center_id != case.center_id:
                    raise IntakeError("case.assignee_invalid", key_id=reviewer_key_id,
                                      role_zh="审核人员", role_en="reviewer")
                case.reviewer_key_id = detail["reviewer_key_id"] = reviewer_key_id
            elif unroute:
                case.reviewer_key_id = detail["reviewer_key_id"] = None
            AuditLog(session).append(principal.actor, "case.assign", result="ok",
                                     target=case.id, case_ref=case.number, detail=detail)
            return self._case_view(case, CaseRepository(session))

    def _case_view(self, case: Case, repo: CaseRepository | None = None) -> CaseView:
        life = (self.lifecycle.life(case, self.lifecycle.calendar(repo))
                if repo is not None else None)
        return CaseView(
            id=case.id, number=case.number, item_code=case.item_code,
            item_name=self.runtime.catalog.item(case.item_code).name,
            acceptance_date=case.acceptance_date, status=case.status,
            applicant_name=case.applicant_name, created_at=case.created_at,
            batch_ids=[b.id for b in case.batches], life=life,
        )

    # batches -------------------------------------------------------------------------
    def batch_intake(self, case_id: str, *, idempotency_key: str | None = None,
                     principal: Principal = OPERATOR) -> BatchIntake:
        """A batch of the case to store files into one by one as they arrive
        (`intake.uploads.BatchIntake`): each file's pages are read while the next is
        still arriving. The caller must `seal` it at the end, or `discard` it."""
        with self.runtime.database.session() as session:
            case = case_for(session, principal, case_id, change=True)
            case_id = case.id
        return BatchIntake(self.runtime, self.runner, case_id,
                           idempotency_key=idempotency_key, uploaded_by=principal.key_id,
                           lifecycle=self.lifecycle)

    def upload_batch(
        self, case_id: str, uploads: Sequence[Upload], *, idempotency_key: str | None = None,
        principal: Principal = OPERATOR,
    ) -> BatchProgress:
        """Store every original durably, each handed to the runner as soon as it is
        stored, then seal the batch. A file that is empty or too large is rejected alone;
        the rest of the batch goes on."""
        settings = self.runtime.settings
        if not uploads:
            raise IntakeError("batch.empty")
        if len(uploads) > settings.max_files_per_batch:
            raise IntakeError("batch.too_many_files", limit=settings.max_files_per_batch)
        intake = self.batch_intake(case_id, idempotency_key=idempotency_key,
                                   principal=principal)
        try:
            for upload in uploads:
                intake.add(upload)
            return self.sealed_progress(intake, principal=principal)
        except BaseException:
            intake.discard()
            raise

    def sealed_progress(self, intake: BatchIntake, *, principal: Principal = OPERATOR
                        ) -> BatchProgress:
        """The answer to an upload through `intake`, once sealed."""
        batch_id = intake.seal()
        if intake.earlier is None:
            log.info("batch received", extra={"case_id": intake.case_id,
                                               "batch_id": batch_id})
        return self.batch_progress(batch_id, principal=principal)

    def batch_progress(self, batch_id: str, *, principal: Principal = OPERATOR
                       ) -> BatchProgress:
        with self.runtime.database.session() as session:
            repo = CaseRepository(session)
            batch = repo.get_batch(batch_id) if is_uuid(batch_id) else None
            if batch is None:
                raise IntakeError("batch.not_found", batch_id=bounded(batch_id, 80))
            try:
                case_for(session, principal, batch.case_id)
            except IntakeError:
                # A batch of a case the caller may not open does not exist for it.
                raise IntakeError("batch.not_found", batch_id=bounded(batch_id, 80)) from None
            return self._masked(self._progress(repo, batch), principal)

    def progress_mark(self, case_id: str, *, principal: Principal = OPERATOR) -> str:
        """A short mark of where the case's batches are (status, pages finished, the
        stored assessment): it changes whenever what a progress view shows could change,
        so a view can wait for a new mark instead of re-reading everything on a timer.
        Two small queries per batch."""
        import hashlib

        with self.runtime.database.session() as session:
            repo = CaseRepository(session)
            case = case_for(session, principal, case_id)
            parts = [f"{b.id}:{b.status}:{sorted(repo.page_status_counts(b.id).items())}"
                     for b in case.batches]
            assessment = repo.current_assessment(case.id)
            parts.append(str(assessment.id if assessment is not None else None))
        return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]

    def _masked(self, progress: BatchProgress, principal: Principal) -> BatchProgress:
        """Filenames and messages may quote ID numbers (a scan named after its holder)."""
        masker = Masker(principal.role, self.runtime.catalog)
        if masker.full:
            return progress
        from dataclasses import replace

        return replace(progress, files=[replace(
            f, filename=masker.text(f.filename),
            original_filename=masker.text(f.original_filename) if f.original_filename
            else None,
            error_message=masker.text(f.error_message) if f.error_message else None)
            for f in progress.files])

    def cancel_batch(self, batch_id: str, *, principal: Principal = OPERATOR
                     ) -> BatchProgress:
        """An administrator stops a batch (a file that would keep a worker busy for
        hours, a batch uploaded by mistake): its unread pages and unsplit files fail with
        `batch.cancelled`, and the batch is assessed and completed with what was read."""
        from intake.pipeline import Pipeline

        with self.runtime.database.session() as session:
            batch = (CaseRepository(session).get_batch(batch_id) if is_uuid(batch_id)
                     else None)
            if batch is None:
                raise IntakeError("batch.not_found", batch_id=bounded(batch_id, 80))
            try:
                case_for(session, principal, batch.case_id, change=True)
            except IntakeError as exc:
                if exc.status == 404:
                    raise IntakeError("batch.not_found", batch_id=bounded(batch_id, 80)) from None
                raise
            if batch.status not in ("received", "processing"):
                raise IntakeError("batch.finished", batch_id=batch_id)
        Pipeline(self.runtime).cancel(batch_id)
        self.runner.submit_batch(batch_id)  # nothing left to read: it is assessed
        return self.batch_progress(batch_id, principal=principal)

    def _progress(self, repo: CaseRepository, batch: Batch) -> BatchProgress:
        counts = repo.page_progress(batch.id)
        files = [
            FileView(
                filename=e.filename, outcome=e.outcome, sha256=e.sha256, file_id=e.file_id,
                status=e.file.status if e.file else None,
                pages=e.file.page_count if e.file else None,
                error_code=e.error_code or (e.file.error_code if e.file else None),
                error_message=e.error_message or (e.file.error_message if e.file else None),
                original_filename=e.original_filename,
            )
            for e in batch.entries
        ]
        return BatchProgress(
            id=batch.id, case_id=batch.case_id, status=batch.status,
            created_at=batch.created_at, finished_at=batch.finished_at, files=files,
            pages_total=sum(n for s, n in counts.items() if s != "classified"),
            pages_read=counts["done"] + counts["blank"], pages_blank=counts["blank"],
            pages_failed=counts["failed"],
            pages_preprocessed=counts["prepared"] + counts["done"] + counts["blank"],
            pages_classified=counts["classified"],
        )

    # reports -------------------------------------------------------------------------
    def case_report(self, case_id: str, *, principal: Principal = OPERATOR) -> dict[str, Any]:
        """The case's report as its latest assessment stored it, plus the case's identity,
        where the assessment came from and the facts typed at the window (claims, with who
        typed them), masked for the principal's role by the one policy (`intake.masking`).
        The one read path of a report: it never runs the rules and writes nothing."""
        with self.runtime.database.session() as session:
            repo = CaseRepository(session)
            case = case_for(session, principal, case_id)
            stored = self._assessment(repo, case)
            report = dict(stored.report)
            report["case_id"], report["case_number"] = case.id, case.number
            report["processing"] = any(b.status != "completed" for b in case.batches)
            report["assessment"] = {
                "id": stored.id, "reason": stored.reason, "actor": stored.actor,
                "assessed_at": stored.created_at.isoformat(),
                "catalog_version": stored.catalog_version,
            }
            report["typed_facts"] = self._typed_facts(session, case)
            return Masker(principal.role, self.runtime.catalog).deep(report)

    def confirm_field(self, case_id: str, document_id: str, field_name: str, *,
                      principal: Principal) -> dict[str, Any]:
        """A reviewer checked a field against the paper and confirms it as read: stored as
        a correction to the same value (a person's reading, confidence 1.0), with the
        reason `CONFIRMED`, so an uncertain reading no longer needs review."""
        return self.correct_field(case_id, document_id, field_name, "", "",
                                  principal=principal, confirm=True)

    def correct_field(self, case_id: str, document_id: str, field_name: str, value: str,
                      reason: str, *, principal: Principal, confirm: bool = False
                      ) -> dict[str, Any]:
        """A reviewer corrects one extracted field of a material of the case (its `id` in
        the report). The reason is required and the old value kept (`field_corrections`);
        the case is assessed again at once with the correction applied, and the change is
        audited. Returns the new report as the principal sees it."""
        from intake.corrections import (
            CONFIRMED,
            CORRECTABLE_STATES,
            REASON_LIMIT,
            REVIEWER_CORRECTION,
            VALUE_LIMIT,
        )
        from intake.lifecycle import STATE_NAMES
        from intake.masking import action as masking_action
        from storage.audit import AuditLog
        from storage.corrections import FieldCorrections

        reason = CONFIRMED if confirm else (reason or "").strip()
        if not reason:
            raise IntakeError("correction.reason_required")
        if len(reason) > REASON_LIMIT:
            raise IntakeError("correction.value_too_long", limit=REASON_LIMIT)
        value = (value or "").strip()
        if len(value) > VALUE_LIMIT:
            raise IntakeError("correction.value_too_long", limit=VALUE_LIMIT)
        # A role that sees the field masked never saw the value it would replace.
        kind = Masker(principal.role, self.runtime.catalog).kinds.get(field_name)
        if kind is not None and masking_action(kind, principal.role) != "full":
            raise IntakeError("correction.masked", field=field_name)
        with self.runtime.database.session() as session:
            repo = CaseRepository(session)
            repo.lock_case(case_id)  # one writer of the case's report at a time
            case = case_for(session, principal, case_id)
            if case.state not in CORRECTABLE_STATES:
                raise IntakeError("correction.case_closed", state=case.state,
                                  state_zh=STATE_NAMES.get(case.state, case.state))
            if any(b.status != "completed" for b in case.batches) or case.report is None:
                raise IntakeError("case.processing", action_zh="更正", action_en="correct")
            doc = next((d for d in case.report.get("documents", [])
                        if d.get("id") == document_id), None)
            if doc is None:
                raise IntakeError("document.not_found", document_id=document_id)
            mtype = self.runtime.catalog.material_types.get(str(doc.get("type")))
            if mtype is None or mtype.field(field_name) is None:
                raise IntakeError("correction.field_unknown", field=field_name,
                                  type=doc.get("type"),
                                  type_zh=mtype.name if mtype else doc.get("type"))
            old = (doc.get("fields") or {}).get(field_name) or {}
            old_value = old.get("value") if isinstance(old, dict) else None
            if confirm:  # the value as read (an open end was read as 长期)
                value = str(old_value) if old_value is not None else (
                    "长期" if isinstance(old, dict) and old.get("open_ended") else "")
            row = FieldCorrections(session).add(
                case_id=case.id, document_id=document_id, material_type=mtype.code,
                pages=[int(p) for p in doc.get("pages", [])], field=field_name,
                old_value=None if old_value is None else str(old_value), new_value=value,
                reason=reason, key_id=principal.key_id, actor=principal.name)
            # The correction is a new input: the case is assessed again, once, and stored.
            reassess_case(self.runtime, session, case.id, reason=REVIEWER_CORRECTION,
                          actor=principal.actor)
            AuditLog(session).append(
                principal.actor, "field.correct", result="ok", target=case.id,
                case_ref=case.number,
                detail={"correction": row.id, "document": document_id,
                        "material_type": mtype.code, "field": field_name,
                        "reason": reason, "why": REVIEWER_CORRECTION,
                        "confirmed": confirm})
        log.info("field corrected", extra={"case_id": case_id, "stage": "correct"})
        return self.case_report(case_id, principal=principal)

    @staticmethod
    def _typed_facts(session: Any, case: Case) -> dict[str, Any]:
        """The facts as typed: claims, never evidence (they never satisfy a slot nor name
        a holder whose certificate may be reused), and the key that typed them."""
        from intake.access import actor_of_key

        by = actor_of_key(session, case.created_by) if case.facts else None
        return {"facts": dict(case.facts or {}), "evidence": False,
                "typed_by": {"key_id": by.key_id, "name": by.name, "role": by.role}
                if by is not None else None,
                "typed_at": case.created_at.isoformat() if case.facts else None}

    def notification_pdf(self, case_id: str, *, issued_on: date | None = None,
                         principal: Principal = OPERATOR) -> bytes:
        """The one-time notice of the stored report: printed twice, it says the same."""
        from storage.models import DEFAULT_CENTER_ID, ServiceCenter

        with self.runtime.database.session() as session:
            repo = CaseRepository(session)
            case = case_for(session, principal, case_id)
            stored = self._assessment(repo, case)
            center = session.get(ServiceCenter, case.center_id)
            # The default center prints the configured name (a single-center installation).
            center_name = center.name if center is not None and \
                case.center_id != DEFAULT_CENTER_ID else self.runtime.settings.service_center_name
            return render_notification(
                stored.report, self.runtime.catalog.item(case.item_code),
                case_number=case.number, issued_on=issued_on or self.runtime.clock.today(),
                center_name=center_name)

    @staticmethod
    def _assessment(repo: CaseRepository, case: Case) -> Assessment:
        stored = repo.current_assessment(case.id)
        if stored is None:
            raise IntakeError("case.not_assessed", case_id=case.id)
        return stored

    def reassess(self, case_id: str, reason: str, principal: Principal) -> dict[str, Any]:
        """Assess the case again now and store it as its report: for a change of its
        inputs that nothing else notices (a reviewer's correction, a changed fact).
        `reason` says why, in a few words (`reviewer_correction`); the principal must be
        allowed to open the case. Returns the new report as the principal sees it."""
        if not REASON.fullmatch(reason or ""):
            raise IntakeError("assessment.reason_invalid", reason=reason)
        with self.runtime.database.session() as session:
            case_for(session, principal, case_id)
            reassess_case(self.runtime, session, case_id, reason=reason,
                          actor=principal.actor)
        return self.case_report(case_id, principal=principal)
