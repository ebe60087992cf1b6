"""One stored assessment per change of a case's inputs, served as stored: reads never run
the rules, the holders for certificate reuse come from the evidence before the one
completeness run, and a new catalog is applied once, not on every read."""

from __future__ import annotations

import shutil
from collections import Counter
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest

import intake.assess
from intake.access import OPERATOR, Principal
from intake.assessments import catalog_version, reassess_outdated
from intake.errors import IntakeError
from intake.masking import Masker
from intake.runners import InlineRunner
from intake.runtime import Runtime
from intake.service import IntakeService, Upload
from rules.catalog import DEFAULT_CATALOG_DIR, load_catalog
from storage.cases import CaseRepository
from tests.certificates.packets import ITEM, packet, resident_id

REVIEWER = Principal(None, "王审核", "reviewer")


@pytest.fixture
def rule_runs(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """How often the real analysis and completeness functions ran (they still run)."""
    calls: Counter[str] = Counter()

    def counting(name: str, real: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            calls[name] += 1
            return real(*args, **kwargs)
        return wrapper

    monkeypatch.setattr(intake.assess, "analyse_pages",
                        counting("analysis", intake.assess.analyse_pages))
    monkeypatch.setattr(intake.assess, "check_completeness",
                        counting("completeness", intake.assess.check_completeness))
    return calls


def _stored(runtime: Runtime, case_id: str) -> dict[str, Any]:
    """Everything an assessment writes: its rows, the case's summary, the pages' types."""
    with runtime.database.session() as session:
        repo = CaseRepository(session)
        case = repo.get_case(case_id)
        assert case is not None
        return {
            "assessments": [(a.id, a.reason, a.actor, a.created_at, a.report, a.inputs,
                             a.inputs_digest, a.catalog_version)
                            for a in repo.assessments_of_case(case_id)],
            "case": (case.status, case.applicant_name),
            "pages": [(p.id, p.updated_at, p.material_type, p.class_confidence)
                      for p in repo.pages_of_case(case_id)],
        }


def test_reads_serve_the_stored_assessment_and_run_no_rules(
        runtime: Runtime, rule_runs: Counter[str]) -> None:
    service = IntakeService(runtime, InlineRunner(runtime))
    case = service.create_case(ITEM, acceptance_date=date(2026, 11, 2))
    holder = resident_id(31)
    service.upload_batch(case.id, [Upload.from_bytes("p.pdf", packet("王小明", holder))])
    # once at creation, once when the batch finished: one completeness run each
    assert rule_runs == Counter(analysis=2, completeness=2)
    before = _stored(runtime, case.id)
    assert [a[1] for a in before["assessments"]] == ["case_created", "batch_completed"]

    report = service.case_report(case.id)
    again = service.case_report(case.id)
    first_notice = service.notification_pdf(case.id, issued_on=date(2026, 11, 3))
    second_notice = service.notification_pdf(case.id, issued_on=date(2026, 11, 3))

    assert rule_runs == Counter(analysis=2, completeness=2)  # no read ran the rules
    assert _stored(runtime, case.id) == before  # and no read wrote anything
    stored_report = before["assessments"][-1][4]
    # served as stored, masked for the reader's role on the way out
    masked = Masker(OPERATOR.role, runtime.catalog).deep(stored_report)
    assert {k: v for k, v in report.items() if k not in (
        "case_id", "case_number", "processing", "assessment", "typed_facts")} == masked
    assert report == again and first_notice == second_notice
    assert report["assessment"]["reason"] == "batch_completed"
    assert report["assessment"]["catalog_version"] == catalog_version(runtime.catalog)

    # The inputs it saw are stored with it.
    inputs = before["assessments"][-1][5]
    assert [p[1:3] for p in inputs["pages"]] == [[1, "done"], [2, "done"]]
    assert inputs["holders"] == [holder]
    assert inputs["item"] == ITEM and inputs["acceptance_date"] == "2026-11-02"

    # A reviewer's correction is a write: it assesses once, with one completeness run.
    corrected = service.reassess(case.id, "reviewer_correction", REVIEWER)
    assert rule_runs == Counter(analysis=3, completeness=3)
    assert corrected["assessment"]["reason"] == "reviewer_correction"
    assert corrected["assessment"]["actor"] == "王审核"
    assert len(_stored(runtime, case.id)["assessments"]) == 3
    with pytest.raises(IntakeError) as refused:
        service.reassess(case.id, "Because I said so", REVIEWER)
    assert refused.value.code == "assessment.reason_invalid"


def test_holders_come_from_the_evidence_before_the_one_completeness_run(
        runtime: Runtime, rule_runs: Counter[str]) -> None:
    service = IntakeService(runtime, InlineRunner(runtime))
    holder = resident_id(41)
    first = service.create_case(ITEM)  # accepted today: its ID card is verified automatically
    service.upload_batch(first.id, [Upload.from_bytes("p.pdf", packet("李雷", holder))])

    second = service.create_case(ITEM)
    rule_runs.clear()
    service.upload_batch(second.id, [Upload.from_bytes(
        "form.pdf", packet("李雷", holder, with_id_card=False))])
    # The form names the holder; the certificate is found before the completeness run,
    # which runs once.
    assert rule_runs == Counter(analysis=1, completeness=1)
    report = service.case_report(second.id)
    slot = next(s for s in report["slots"] if s["code"] == "operator_id_card")
    assert slot["state"] == "reused"
    with runtime.database.session() as session:
        current = CaseRepository(session).current_assessment(second.id)
        assert current is not None
        assert current.inputs["holders"] == [holder]
        assert current.inputs["certificates"] == [[slot["certificate"], "valid"]]

    # A typed fact is a claim, not evidence: it selects no holder.
    claimed = service.create_case(ITEM, facts={"application_form.applicant_id": holder})
    report = service.case_report(claimed.id)
    slot = next(s for s in report["slots"] if s["code"] == "operator_id_card")
    assert slot["state"] != "reused" and slot["certificate"] is None
    with runtime.database.session() as session:
        current = CaseRepository(session).current_assessment(claimed.id)
        assert current is not None
        assert current.inputs["holders"] == [] and current.inputs["certificates"] == []


def test_a_new_catalog_is_applied_once_not_on_reads(
        runtime: Runtime, rule_runs: Counter[str], tmp_path: Path) -> None:
    service = IntakeService(runtime, InlineRunner(runtime))
    case = service.create_case(ITEM)
    service.upload_batch(case.id, [Upload.from_bytes("p.pdf",
                                                     packet("韩梅梅", resident_id(61)))])
    assert reassess_outdated(runtime) == []  # nothing is out of date

    changed = tmp_path / "catalog"
    shutil.copytree(DEFAULT_CATALOG_DIR, changed)
    item_file = changed / "items" / f"{ITEM}.yaml"
    item_file.write_text(item_file.read_text(encoding="utf-8").replace(
        "name: 个体工商户设立登记", "name: 个体工商户设立登记（新版）", 1), encoding="utf-8")
    old_version = catalog_version(runtime.catalog)
    runtime.catalog = load_catalog(changed)  # as a restart with the new catalog would
    assert catalog_version(runtime.catalog) != old_version

    rule_runs.clear()
    stale = service.case_report(case.id)  # reads still serve what was stored
    assert stale["item_name"] == "个体工商户设立登记"
    assert stale["assessment"]["catalog_version"] == old_version
    assert rule_runs == Counter()

    assert reassess_outdated(runtime) == [case.id]  # at start-up: once
    assert reassess_outdated(runtime) == []
    assert rule_runs == Counter(analysis=1, completeness=1)
    fresh = service.case_report(case.id)
    assert fresh["item_name"] == "个体工商户设立登记（新版）"
    assert fresh["assessment"]["reason"] == "catalog_changed"
    assert fresh["assessment"]["catalog_version"] == catalog_version(runtime.catalog)
    assert rule_runs == Counter(analysis=1, completeness=1)
