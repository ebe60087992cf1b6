"""The in-process runner: batches take turns page by page, shutdown is bounded, and an
administrator can cancel a batch (over HTTP: tests/api/test_batch_cancel.py)."""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
import pytest

from intake.errors import IntakeError
from intake.runners import InlineRunner, ThreadRunner, resume_unfinished
from intake.runtime import Runtime
from intake.service import IntakeService, Upload
from ocr.types import OcrLine
from storage.cases import CaseRepository
from tests.helpers import RecordingRunner, text_pdf
from tests.ocr.pagekit import draw_page, image_pdf


def stored_batch(runtime: Runtime, pages: int, title: str) -> tuple[str, str]:
    """A batch accepted but not processed (as if the runner had not got to it yet)."""
    service = IntakeService(runtime, RecordingRunner())
    case = service.create_case("company-establishment")
    data = text_pdf([[title, f"第{n}页", "申请人：王小明"] for n in range(1, pages + 1)])
    return case.id, service.upload_batch(case.id, [Upload.from_bytes(f"{title}.pdf", data)]).id


def _batch_of_page(runtime: Runtime, page_id: str) -> str:
    with runtime.database.session() as session:
        page = CaseRepository(session).get_page(page_id)
        assert page is not None
        return page.batch_id


def test_batches_take_turns_page_by_page(runtime: Runtime) -> None:
    _, big = stored_batch(runtime, 6, "大批次")
    _, small = stored_batch(runtime, 2, "小批次")
    runner = ThreadRunner(runtime, start=False)
    order: list[str] = []
    read = runner.pipeline.read_or_fail

    def recording(page_id: str) -> str | None:
        order.append(_batch_of_page(runtime, page_id))
        return read(page_id)

    runner.pipeline.read_or_fail = recording  # type: ignore[method-assign]
    runner.submit_batch(big)
    runner.submit_batch(small)
    runner.submit_batch(big)  # already waiting: no second turn
    while runner.step():
        pass
    # The small batch, submitted second, is not read after the big one but between its
    # pages, and finishes after two turns of each.
    assert order == [big, small, big, small, big, big, big, big]
    service = IntakeService(runtime, RecordingRunner())
    assert service.batch_progress(big).status == "completed"
    assert service.batch_progress(small).status == "completed"
    assert runner.wait(timeout=0)


class BlockingEngine:
    """Blocks inside the first page it is given until released, like a page that takes
    the engine a long time."""

    name, version = "blocking", "blocking 0"

    def __init__(self) -> None:
        self.entered, self.release = threading.Event(), threading.Event()

    def recognize(self, image: np.ndarray) -> list[OcrLine]:
        self.entered.set()
        self.release.wait()
        return []

    def __getattr__(self, name: str) -> Any:
        raise AttributeError(name)


def test_shutdown_is_bounded_and_the_page_in_flight_is_read_at_the_next_start(
        runtime: Runtime) -> None:
    engine = BlockingEngine()
    runtime.engine_override = engine  # type: ignore[assignment]
    service = IntakeService(runtime, RecordingRunner())
    case = service.create_case("company-establishment")
    scan = image_pdf([draw_page(size=(600, 800))[0]])
    batch = service.upload_batch(case.id, [Upload.from_bytes("scan.pdf", scan)])
    runner = ThreadRunner(runtime, shutdown_timeout=0.05)
    runner.submit_batch(batch.id)
    try:
        assert engine.entered.wait(60)  # the page is being read
        runner.shutdown()  # returns although the page is still in the engine
        assert service.batch_progress(batch.id).status == "processing"
        with runtime.database.session() as session:
            statuses = {p.status for p in CaseRepository(session).pages_of_batch(batch.id)}
        assert statuses == {"prepared"}  # nothing written for it: it will be read again
        restarted = RecordingRunner()
        assert resume_unfinished(runtime, restarted) == [batch.id]
    finally:
        engine.release.set()


def test_an_admin_cancels_a_batch_and_it_completes_with_what_it_has(
        runtime: Runtime) -> None:
    case_id, batch_id = stored_batch(runtime, 3, "申请书")
    pipeline_runner = InlineRunner(runtime)
    page_ids = pipeline_runner.pipeline.split(batch_id)
    assert pipeline_runner.pipeline.read(page_ids[0]) == "done"
    service = IntakeService(runtime, pipeline_runner)
    progress = service.cancel_batch(batch_id)
    assert progress.status == "completed"
    assert (progress.pages_read, progress.pages_failed) == (1, 2)
    report = service.case_report(case_id)
    assert [u["code"] for u in report["unreadable"]] == ["batch.cancelled"] * 2
    assert report["unreadable"][0]["message"].startswith("本批次已被管理员取消")
    with pytest.raises(IntakeError) as info:
        service.cancel_batch(batch_id)
    assert info.value.code == "batch.finished" and info.value.status == 409
    with pytest.raises(IntakeError) as info:
        service.cancel_batch("no-such-batch")
    assert info.value.code == "batch.not_found"


def test_a_batch_cancelled_before_it_was_split_reads_nothing(runtime: Runtime) -> None:
    _, batch_id = stored_batch(runtime, 2, "申请书")
    service = IntakeService(runtime, InlineRunner(runtime))
    progress = service.cancel_batch(batch_id)
    assert progress.status == "completed" and progress.pages_total == 0
    assert [f.error_code for f in progress.files] == ["batch.cancelled"]


# an upload's files are read as they arrive ------------------------------------------------
def _pdf(title: str, pages: int) -> Upload:
    data = text_pdf([[title, f"第{n}页", "申请人：王小明"] for n in range(1, pages + 1)])
    return Upload.from_bytes(f"{title}.pdf", data)


def _statuses(runtime: Runtime, batch_id: str) -> tuple[str, list[str]]:
    with runtime.database.session() as session:
        repo = CaseRepository(session)
        batch = repo.get_batch(batch_id)
        assert batch is not None
        return batch.status, [p.status for p in repo.pages_of_batch(batch_id)]


def test_the_first_file_is_read_before_the_last_is_stored_and_assessed_with_the_last_page(
        runtime: Runtime) -> None:
    runner = ThreadRunner(runtime, start=False)
    service = IntakeService(runtime, runner)
    case = service.create_case("company-establishment")
    read: list[str] = []
    reading = runner.pipeline.read_or_fail

    def recording(page_id: str) -> str | None:
        read.append(page_id)
        return reading(page_id)

    runner.pipeline.read_or_fail = recording  # type: ignore[method-assign]
    intake = service.batch_intake(case.id)
    intake.add(_pdf("申请书", 2))
    assert intake.batch_id is not None
    batch_id = intake.batch_id
    assert runner.step()  # its split and its first page, the upload still going on
    assert _statuses(runtime, batch_id) == ("receiving", ["done", "pending"])
    while runner.step():
        pass
    # Read through, but the upload goes on: not assessed, and out of the turns meanwhile.
    assert _statuses(runtime, batch_id) == ("receiving", ["done", "done"])
    assert service.case_report(case.id)["processing"] is True
    intake.add(_pdf("营业执照", 1))
    assert intake.seal() == batch_id  # sealed while its last page waits
    assert runner.step()  # the new file split, its page read, and the assessment: one turn
    assert _statuses(runtime, batch_id) == ("completed", ["done", "done", "done"])
    assert not runner.step()
    assert len(read) == len(set(read)) == 3  # every page read once


def test_an_upload_read_through_before_its_seal_is_assessed_at_the_seal(
        runtime: Runtime) -> None:
    runner = ThreadRunner(runtime, start=False)
    service = IntakeService(runtime, runner)
    case = service.create_case("company-establishment")
    intake = service.batch_intake(case.id)
    intake.add(_pdf("申请书", 1))
    while runner.step():
        pass
    assert intake.batch_id is not None
    assert _statuses(runtime, intake.batch_id) == ("receiving", ["done"])
    before = service.case_report(case.id)["assessment"]["id"]
    intake.seal()
    assert runner.step() and not runner.step()  # the seal's turn assesses it
    assert _statuses(runtime, intake.batch_id)[0] == "completed"
    assert service.case_report(case.id)["assessment"]["id"] != before


def test_an_upload_that_breaks_off_leaves_nothing_and_its_key_is_free_again(
        runtime: Runtime) -> None:
    runner = ThreadRunner(runtime, start=False)
    service = IntakeService(runtime, runner)
    case = service.create_case("company-establishment")
    intake = service.batch_intake(case.id, idempotency_key="k-1")
    intake.add(_pdf("申请书", 2))
    batch_id = intake.batch_id
    assert batch_id is not None
    assert runner.step()  # one page read meanwhile
    intake.discard()
    assert service.get_case(case.id).batch_ids == []
    while runner.step():  # the rest of its turns find nothing, quietly
        pass
    with runtime.database.session() as session:
        repo = CaseRepository(session)
        assert repo.get_batch(batch_id) is None and repo.files_of_case(case.id) == []
        assert repo.pages_of_case(case.id) == []
    again = service.upload_batch(case.id, [_pdf("申请书", 2)], idempotency_key="k-1")
    # A new batch, and its file is no duplicate of the one discarded.
    assert again.id != batch_id and [f.outcome for f in again.files] == ["accepted"]


def test_a_process_that_died_receiving_leaves_its_upload_discarded_at_the_next_start(
        runtime: Runtime) -> None:
    service = IntakeService(runtime, RecordingRunner())
    case = service.create_case("company-establishment")
    intake = service.batch_intake(case.id)
    intake.add(_pdf("申请书", 1))  # and then the process died
    assert intake.batch_id is not None
    restarted = RecordingRunner()
    assert resume_unfinished(runtime, restarted) == []
    assert service.get_case(case.id).batch_ids == []
    assert restarted.submitted == []


def test_a_retry_of_an_upload_still_receiving_supersedes_it(runtime: Runtime) -> None:
    """The first attempt's API process died (or its client gave up) with half the body
    sent: its batch is still receiving. The retry with the same key becomes the batch; the
    first attempt, should it still be sending, finds its batch gone."""
    runner = ThreadRunner(runtime, start=False)
    service = IntakeService(runtime, runner)
    case = service.create_case("company-establishment")
    first = service.batch_intake(case.id, idempotency_key="window-1")
    first.add(_pdf("申请书", 1))
    retry = service.upload_batch(case.id, [_pdf("申请书", 1), _pdf("营业执照", 1)],
                                 idempotency_key="window-1")
    assert retry.id != first.batch_id
    assert [f.outcome for f in retry.files] == ["accepted", "accepted"]
    with pytest.raises(IntakeError) as gone:
        first.add(_pdf("营业执照", 1))
    assert gone.value.code == "batch.not_found"
    first.discard()  # what its request does on the error: nothing left to remove
    while runner.step():
        pass
    assert service.get_case(case.id).batch_ids == [retry.id]
    assert service.batch_progress(retry.id).status == "completed"
    again = service.upload_batch(case.id, [_pdf("申请书", 1)], idempotency_key="window-1")
    assert again.id == retry.id  # sealed: every later retry gets it back
