"""The whole path on embedded defaults: scanned packets in, reports out, nothing lost."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from intake.runners import InlineRunner, resume_unfinished
from intake.runtime import Runtime
from intake.service import IntakeService, Upload
from ocr.engine import OcrEngine, get_engine
from ocr.types import OcrLine
from samples import build_packet
from storage.cases import CaseRepository
from storage.objects import ObjectStoreError
from tests.helpers import ArchiveOutage, RecordingRunner, text_pdf


class CrashOnNthPage:
    """The real engine, except that the n-th page it is given raises (as a native crash in
    an OCR library would surface)."""

    def __init__(self, inner: OcrEngine, crash_on: int) -> None:
        self.inner, self.crash_on, self.calls = inner, crash_on, 0
        self.name, self.version = inner.name, inner.version

    def recognize(self, image: np.ndarray) -> list[OcrLine]:
        self.calls += 1
        if self.calls == self.crash_on:
            raise RuntimeError("simulated engine crash")
        return self.inner.recognize(image)


def _uploads(files: list[Path]) -> list[Upload]:
    return [Upload.from_bytes(p.name, p.read_bytes()) for p in files]


@pytest.mark.ocr
def test_scanned_packet_gets_the_right_report(runtime: Runtime, tmp_path: Path) -> None:
    packet = build_packet("company-complete-no-agent", tmp_path / "scans", seed=11)
    service = IntakeService(runtime, InlineRunner(runtime))
    case = service.create_case(packet.item_code, acceptance_date=packet.acceptance_date)
    progress = service.upload_batch(case.id, _uploads(packet.files))
    assert progress.status == "completed"
    assert progress.pages_total == packet.page_count
    assert progress.pages_read == packet.page_count and progress.pages_failed == 0

    report = service.case_report(case.id)
    states = {slot["code"]: slot["state"] for slot in report["slots"]}
    assert states == packet.expected_states
    assert report["status"] == packet.expected_status == "complete"
    # every document points at pages of this case, with provenance on its fields
    for doc in report["documents"]:
        assert set(doc["pages"]) <= set(range(1, packet.page_count + 1))
        for field in doc["fields"].values():
            if field["value"] is not None:
                assert field["page"] in doc["pages"]
    assert service.get_case(case.id).status == "complete"
    assert service.notification_pdf(case.id).startswith(b"%PDF")


@pytest.mark.ocr
def test_a_crashing_page_fails_alone_and_the_case_is_not_called_complete(
    runtime: Runtime, tmp_path: Path
) -> None:
    packet = build_packet("company-complete-no-agent", tmp_path / "scans", seed=11)
    runtime.engine_override = CrashOnNthPage(get_engine(runtime.engine_options), crash_on=2)
    service = IntakeService(runtime, InlineRunner(runtime))
    case = service.create_case(packet.item_code, acceptance_date=packet.acceptance_date)
    progress = service.upload_batch(case.id, _uploads(packet.files))
    assert progress.status == "completed"
    assert progress.pages_failed == 1
    assert progress.pages_read == packet.page_count - 1
    report = service.case_report(case.id)
    assert [u["code"] for u in report["unreadable"]] == ["page.read_failed"]
    assert report["status"] != "complete"


def test_a_page_whose_result_cannot_be_stored_fails_alone(
    runtime: Runtime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A write the database refuses for good (not a transient outage) fails that page
    with a message; the batch still completes instead of waiting for it forever."""

    packet = build_packet("company-complete-no-agent", tmp_path / "scans", seed=11)
    save = CaseRepository.save_page_result
    refused: list[str] = []

    def refuse_the_second(self: CaseRepository, page: Any, **values: Any) -> bool:
        if values.get("status") == "done" and not refused:
            refused.append(page.id)
            raise ValueError("value too long for type character varying(200)")
        return save(self, page, **values)

    monkeypatch.setattr(CaseRepository, "save_page_result", refuse_the_second)
    service = IntakeService(runtime, InlineRunner(runtime))
    case = service.create_case(packet.item_code, acceptance_date=packet.acceptance_date)
    progress = service.upload_batch(case.id, _uploads(packet.files))
    assert progress.status == "completed" and len(refused) == 1
    assert progress.pages_failed == 1 and progress.pages_read == packet.page_count - 1
    report = service.case_report(case.id)
    assert [u["code"] for u in report["unreadable"]] == ["page.read_failed"]


def test_accepted_batches_survive_a_stopped_process(runtime: Runtime) -> None:
    """Upload is durable before processing: a new process resumes what was accepted."""
    data = text_pdf([["个体工商户设立登记申请书", "申请人：王小明"]])
    recorder = RecordingRunner()
    stopped = IntakeService(runtime, recorder)
    case = stopped.create_case("individual-business-registration")
    batch = stopped.upload_batch(case.id, [Upload.from_bytes("scan.pdf", data)])
    assert recorder.submitted == [batch.id]
    assert stopped.batch_progress(batch.id).status == "received"

    resumed = resume_unfinished(runtime, InlineRunner(runtime))
    assert resumed == [batch.id]
    progress = stopped.batch_progress(batch.id)
    assert progress.status == "completed"
    assert progress.pages_total >= 1
    assert resume_unfinished(runtime, InlineRunner(runtime)) == []


def test_stages_are_idempotent(runtime: Runtime) -> None:
    from intake.pipeline import Pipeline

    data = text_pdf([["授权委托书", "委托人：王小明", "受托人：李四"], ["第二页"]])
    recorder = RecordingRunner()
    service = IntakeService(runtime, recorder)
    case = service.create_case("company-establishment")
    batch = service.upload_batch(case.id, [Upload.from_bytes("poa.pdf", data)])
    pipeline = Pipeline(runtime)
    first = pipeline.split(batch.id)
    assert len(first) == 2
    assert pipeline.split(batch.id) == first  # redelivered: same pages, no new rows
    for page_id in first:
        pipeline.read(page_id)
    with runtime.database.session() as session:
        before = {p.id: (p.status, p.updated_at) for p in
                  CaseRepository(session).pages_of_batch(batch.id)}
    for page_id in first:
        pipeline.read(page_id)  # already read: nothing changes
    pipeline.assess(batch.id)
    pipeline.assess(batch.id)
    with runtime.database.session() as session:
        repo = CaseRepository(session)
        after = {p.id: (p.status, p.updated_at) for p in repo.pages_of_batch(batch.id)}
        assessed = [a.reason for a in repo.assessments_of_case(case.id)]
        current = repo.current_assessment(case.id)
        assert current is not None
        documents = current.report["documents"]
    assert after == before
    assert all(status == "done" for status, _ in after.values())
    assert assessed == ["case_created", "batch_completed"]  # the second assess did nothing
    assert len(documents) == len({tuple(d["pages"]) for d in documents})
    assert pipeline.split(batch.id) == []  # nothing left to read


def test_a_redelivered_assessment_rebuilds_a_missing_archive(runtime: Runtime) -> None:
    """A worker killed after the assessment committed but before the archive copy was
    written: the redelivered task finds the batch completed and writes only the copy."""
    from intake.pipeline import Pipeline, archive_key

    service = IntakeService(runtime, InlineRunner(runtime))
    case = service.create_case("individual-business-registration")
    data = text_pdf([["个体工商户设立登记申请书", "申请人：王小明"]])
    batch = service.upload_batch(case.id, [Upload.from_bytes("form.pdf", data)])
    key = archive_key(batch.id)
    assert runtime.objects.exists(key)
    archive_file = runtime.settings.effective_objects_dir / key
    archive_file.unlink()  # as if the worker died before writing it
    report_before = service.case_report(case.id)

    assert Pipeline(runtime).assess(batch.id) is False  # not assessed a second time
    assert runtime.objects.exists(key)
    assert runtime.objects.get(key).startswith(b"%PDF")
    assert service.case_report(case.id)["documents"] == report_before["documents"]


def test_an_archive_that_cannot_be_stored_is_retried_with_backoff(runtime: Runtime) -> None:
    from intake.pipeline import archive_key

    runtime.objects = ArchiveOutage(runtime.objects, failures=3)
    runner = InlineRunner(runtime)
    waits: list[float] = []
    runner.pipeline.sleep = waits.append
    service = IntakeService(runtime, runner)
    case = service.create_case("individual-business-registration")
    batch = service.upload_batch(case.id, [Upload.from_bytes("form.pdf", text_pdf([["申请书"]]))])
    assert batch.status == "completed"
    assert runtime.objects.exists(archive_key(batch.id))
    assert runtime.objects.refused == 3 and len(waits) == 3
    assert waits[0] >= 2 and max(waits) <= 60


def test_an_archive_store_that_stays_away_is_not_swallowed(runtime: Runtime) -> None:
    from intake.pipeline import Pipeline, archive_key

    service = IntakeService(runtime, RecordingRunner())
    case = service.create_case("individual-business-registration")
    batch = service.upload_batch(case.id, [Upload.from_bytes("form.pdf", text_pdf([["申请书"]]))])
    runtime.objects = ArchiveOutage(runtime.objects, failures=1000)
    pipeline = Pipeline(runtime, sleep=lambda _: None)
    with pytest.raises(ObjectStoreError):
        pipeline.run_batch(batch.id)
    assert runtime.objects.refused == runtime.settings.task_max_retries + 1
    assert service.batch_progress(batch.id).status == "completed"  # the report stands
    assert not runtime.objects.exists(archive_key(batch.id))
    runtime.objects.failures = 0  # the store is back: the next run makes only the copy
    assert pipeline.assess(batch.id) is False
    assert runtime.objects.exists(archive_key(batch.id))
