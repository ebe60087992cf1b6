"""Stacks under redelivery: the stack task run twice, or twice at once, on SQLite and
PostgreSQL, feeds each case one batch per cover sheet; the Celery task hands those batches
to `split_batch` through the real Redis."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import redis

from intake.queues import SPLIT, STACK, Queues
from intake.runners import CeleryRunner, resume_unfinished
from intake.runtime import Runtime
from intake.settings import load_settings
from intake.stack_service import StackService
from intake.stacks import StackPipeline
from intake.uploads import Upload
from storage.cases import CaseRepository
from storage.stacks import StackRepository
from tests.helpers import RecordingRunner
from tests.intake.stackkit import material_page, raster, stack_pdf


def _case(runtime: Runtime) -> str:
    with runtime.database.session() as session:
        return CaseRepository(session).create_case(
            item_code="company-establishment", acceptance_date=date(2026, 1, 5)).id


def _stack(runtime: Runtime, runner: Any) -> tuple[str, str, str]:
    service = StackService(runtime, runner)
    a, b = _case(runtime), _case(runtime)
    pdf = stack_pdf([material_page("L1", 1), raster(service.cover_sheet_pdf(a)[1]),
                     material_page("A1", 2), material_page("A2", 3),
                     raster(service.cover_sheet_pdf(b)[1]), material_page("B1", 4)])
    return service.upload_stack([Upload.from_bytes("s.pdf", pdf)]).id, a, b


@pytest.fixture
def db_runtime(database_url: str, tmp_path: Path) -> Iterator[Runtime]:
    runtime = Runtime.from_settings(load_settings(data_dir=tmp_path / "data",
                                                  database_url=database_url,
                                                  task_mode="inline"))
    yield runtime
    runtime.close()


def test_two_runs_of_a_stack_at_once_feed_each_case_once(db_runtime: Runtime) -> None:
    runner = RecordingRunner()
    stack_id, a, b = _stack(db_runtime, runner)
    assert runner.submitted == [f"stack:{stack_id}"]
    assert resume_unfinished(db_runtime, RecordingRunner(), stalled_after=600) == []
    resumed = RecordingRunner()
    resume_unfinished(db_runtime, resumed)
    assert resumed.submitted == [f"stack:{stack_id}"]  # a stopped process's stack resumes

    submitted: list[str] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(3)

    def run() -> None:
        try:
            barrier.wait()
            StackPipeline(db_runtime, submitted.append).run(stack_id)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors
    StackPipeline(db_runtime, submitted.append).run(stack_id)  # and a redelivery after
    with db_runtime.database.session() as session:
        pages = StackRepository(session).pages_of_stack(stack_id)
        cases = CaseRepository(session)
        assert [(p.state, p.case_id) for p in pages] == [
            ("held", None), ("cover", a), ("attached", a), ("attached", a), ("cover", b),
            ("attached", b)]
        assert len(cases.files_of_case(a)) == 2 and len(cases.files_of_case(b)) == 1
        assert len({p.batch_id for p in pages if p.batch_id}) == 2
        stack = StackRepository(session).get_stack(stack_id)
        assert stack is not None and stack.status == "completed"
    assert set(submitted) == {p.batch_id for p in pages if p.batch_id}
    # a completed stack is not resumed; the batches it fed (not run here) are
    again = RecordingRunner()
    assert set(resume_unfinished(db_runtime, again)) == set(submitted)
    assert not any(s.startswith("stack:") for s in again.submitted)


def _waiting(r: redis.Redis, queue: str) -> list[tuple[str, list[Any]]]:
    out = []
    for raw in r.lrange(queue, 0, -1):
        message = json.loads(raw)
        out.append((message["headers"]["task"],
                    json.loads(base64.b64decode(message["body"]))[0]))
    return out


def test_the_stack_task_sends_each_case_batch_to_split(
        celery_runtime: tuple[Runtime, CeleryRunner, redis.Redis]) -> None:
    runtime, runner, r = celery_runtime
    queue = Queues.of(runtime.settings).batches
    stack_id, a, b = _stack(runtime, runner)
    assert _waiting(r, queue) == [(STACK, [stack_id])]
    r.delete(queue)
    assert runner.app.tasks[STACK].apply(args=[stack_id]).get() == 1
    sent = _waiting(r, queue)
    with runtime.database.session() as session:
        batches = [(c, [x.id for x in CaseRepository(session).get_case(c).batches])  # type: ignore[union-attr]
                   for c in (a, b)]
    assert [len(ids) for _, ids in batches] == [1, 1]
    assert sorted(sent) == sorted((SPLIT, [ids[0]]) for _, ids in batches)
    assert runner.app.tasks[STACK].apply(args=["no-such-stack"]).get() == 0
