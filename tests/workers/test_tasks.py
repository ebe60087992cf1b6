"""The Celery tasks and the pieces that make them safe to run twice, in-process and fast:
born-digital pages (no OCR), SQLite and PostgreSQL, the real Redis for published messages."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from intake import celery_tasks, metrics
from intake.broker import queue_keys
from intake.celery_app import make_celery
from intake.pipeline import Pipeline, archive_key
from intake.queues import ASSESS, READ, SPLIT, Queues
from intake.runners import resume_unfinished
from intake.runtime import Runtime
from intake.service import IntakeService, Upload
from intake.settings import SettingsError, load_settings
from storage.cases import CaseRepository
from storage.objects import ObjectStore, ObjectStoreError
from tests.helpers import ArchiveOutage, RecordingRunner, text_pdf
from tests.workers.conftest import REDIS_URL, forget_keys


class FlakyStore:
    """The real store, but `get` fails the first `failures` times, as an object store
    that is briefly unreachable would."""

    def __init__(self, inner: ObjectStore, failures: int) -> None:
        self.inner, self.failures, self.calls = inner, failures, 0

    def put(self, key: str, data: bytes) -> None:
        self.inner.put(key, data)

    def get(self, key: str) -> bytes:
        self.calls += 1
        if self.calls <= self.failures:
            raise ObjectStoreError("connection refused (simulated)")
        return self.inner.get(key)

    def exists(self, key: str) -> bool:
        return self.inner.exists(key)


def _pdf(pages: int, title: str) -> bytes:
    return text_pdf([[title, f"第{n}页", "申请人：王小明"] for n in range(1, pages + 1)])


def _stored_batch(runtime: Runtime, pages: int = 3) -> tuple[str, str]:
    service = IntakeService(runtime, RecordingRunner())
    case = service.create_case("company-establishment")
    batch = service.upload_batch(case.id,
                                 [Upload.from_bytes("form.pdf", _pdf(pages, "授权委托书"))])
    return case.id, batch.id


@pytest.fixture
def db_runtime(database_url: str, tmp_path: Path) -> Iterator[Runtime]:
    runtime = Runtime.from_settings(load_settings(data_dir=tmp_path / "data",
                                                  database_url=database_url,
                                                  task_mode="inline"))
    yield runtime
    runtime.close()


# settings ---------------------------------------------------------------------------------
def test_a_broker_url_selects_celery_and_celery_needs_one(tmp_path: Path) -> None:
    assert load_settings(data_dir=tmp_path, broker_url=REDIS_URL).task_mode == "celery"
    assert load_settings(data_dir=tmp_path, broker_url=REDIS_URL,
                         task_mode="thread").task_mode == "thread"
    with pytest.raises(SettingsError, match="DOCINTAKE_BROKER_URL"):
        load_settings(data_dir=tmp_path, task_mode="celery")
    with pytest.raises(SettingsError, match="redis://"):
        load_settings(data_dir=tmp_path, broker_url="amqp://guest@localhost//")


def test_the_app_acks_late_and_requeues_what_a_dead_worker_held(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path, broker_url=REDIS_URL, task_queue="q1",
                             broker_visibility_timeout=120)
    app = make_celery(settings)
    try:
        assert app.conf.task_acks_late and app.conf.task_reject_on_worker_lost
        assert app.conf.worker_prefetch_multiplier == 1
        assert app.conf.broker_transport_options["visibility_timeout"] == 120
        for name in (SPLIT, READ, ASSESS):
            task = app.tasks[name]
            assert task.acks_late and task.reject_on_worker_lost
        assert app.amqp.router.route({}, READ)["queue"].name == "q1.pages"
        assert app.amqp.router.route({}, SPLIT)["queue"].name == "q1.batches"
    finally:
        app.close()


def test_a_page_whose_worker_died_goes_back_to_the_front_of_its_queue(
        tmp_path: Path) -> None:
    from kombu import Queue

    token = f"front-{secrets.token_hex(4)}"
    settings = load_settings(data_dir=tmp_path, broker_url=REDIS_URL, task_queue=token)
    app = make_celery(settings)
    r = redis.Redis.from_url(REDIS_URL)
    try:
        assert app.conf.worker_proc_alive_timeout >= 60  # a model loads in 7-10 s, busy
        for page in ("first", "second", "third"):
            app.send_task(READ, args=[page, "batch"])
        pages = Queue(Queues.of(settings).pages)
        with app.connection_for_read() as conn:
            queue = pages(conn.default_channel)
            taken = queue.get(no_ack=False)
            assert taken is not None and taken.payload[0] == ["first", "batch"]
            # What Celery does with the task of a pool process that died.
            taken.reject(requeue=True)
            again = queue.get(no_ack=False)
            assert again is not None and again.payload[0] == ["first", "batch"]
            assert again.headers.get("redelivered") or again.delivery_info.get("redelivered")
            again.ack()
            following = queue.get(no_ack=False)
            assert following is not None and following.payload[0] == ["second", "batch"]
            following.ack()
    finally:
        app.close()
        forget_keys(r, token)
        r.close()


# idempotency and completion ---------------------------------------------------------------
def test_concurrent_assessments_commit_once(db_runtime: Runtime) -> None:
    _, batch_id = _stored_batch(db_runtime)
    pipeline = Pipeline(db_runtime)
    for page_id in pipeline.split(batch_id):
        assert pipeline.read(page_id) == "done"
    barrier = threading.Barrier(4)
    results: list[bool] = []
    errors: list[BaseException] = []

    def finish() -> None:
        try:
            barrier.wait()
            results.append(Pipeline(db_runtime).assess(batch_id, only_when_read=True))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=finish) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    assert sorted(results) == [False, False, False, True]
    with db_runtime.database.session() as session:
        batch = CaseRepository(session).get_batch(batch_id)
        assert batch is not None and batch.status == "completed"
        finished_at = batch.finished_at
    assert Pipeline(db_runtime).assess(batch_id) is False  # and never again
    with db_runtime.database.session() as session:
        batch = CaseRepository(session).get_batch(batch_id)
        assert batch is not None and batch.finished_at == finished_at


def test_assess_waits_for_every_page(db_runtime: Runtime) -> None:
    _, batch_id = _stored_batch(db_runtime)
    pipeline = Pipeline(db_runtime)
    first, *rest = pipeline.split(batch_id)
    pipeline.read(first)
    assert pipeline.assess(batch_id, only_when_read=True) is False
    for page_id in rest:
        pipeline.read(page_id)
    assert pipeline.assess(batch_id, only_when_read=True) is True


def test_a_page_result_is_written_once(db_runtime: Runtime) -> None:
    _, batch_id = _stored_batch(db_runtime, pages=1)
    pipeline = Pipeline(db_runtime)
    (page_id,) = pipeline.split(batch_id)
    with db_runtime.database.session() as session:
        repo = CaseRepository(session)
        page = repo.get_page(page_id)
        assert page is not None
        # an engine label longer than its column is clipped, not a failed write (PostgreSQL
        # enforces varchar lengths; SQLite does not)
        label = "rapidocr " + "x" * 300
        assert repo.save_page_result(page, status="done", ocr={"lines": []},
                                     engine=label) is True
        # a second worker that read the same page meanwhile: its result is not stored
        assert repo.save_page_result(page, status="failed", error_code="x") is False
    with db_runtime.database.session() as session:
        page = CaseRepository(session).get_page(page_id)
        assert page is not None and page.status == "done" and page.error_code is None
        assert page.engine == label[:200]
    assert pipeline.read(page_id) is None


def test_a_transient_store_failure_fails_the_page_only_without_a_retrying_runner(
    db_runtime: Runtime
) -> None:
    from intake.pipeline import TRANSIENT_ERRORS

    _, batch_id = _stored_batch(db_runtime, pages=1)
    db_runtime.objects = FlakyStore(db_runtime.objects, failures=10)
    (page_id,) = _split_ids(db_runtime, batch_id)
    with pytest.raises(TRANSIENT_ERRORS):
        Pipeline(db_runtime, raise_transient=True).read(page_id)
    assert Pipeline(db_runtime).read(page_id) == "failed"
    with db_runtime.database.session() as session:
        page = CaseRepository(session).get_page(page_id)
        assert page is not None and page.error_code == "page.store_unavailable"


def _split_ids(runtime: Runtime, batch_id: str) -> list[str]:
    inner = runtime.objects
    assert isinstance(inner, FlakyStore)
    runtime.objects = inner.inner  # split reads the original too: let it through once
    try:
        return Pipeline(runtime).split(batch_id)
    finally:
        runtime.objects = inner


def test_resume_picks_only_stalled_batches_when_asked(db_runtime: Runtime) -> None:
    _, batch_id = _stored_batch(db_runtime)
    assert resume_unfinished(db_runtime, RecordingRunner(), stalled_after=600) == []
    assert resume_unfinished(db_runtime, RecordingRunner(), stalled_after=0) == [batch_id]
    assert resume_unfinished(db_runtime, RecordingRunner()) == [batch_id]


# the tasks, run in this process against the real Redis -------------------------------------
def _page_ids(runtime: Runtime, batch_id: str) -> list[str]:
    with runtime.database.session() as session:
        return [p.id for p in CaseRepository(session).pages_of_batch(batch_id)]


def _args(message: dict[str, Any]) -> list[Any]:
    import base64
    import json

    args: list[Any] = json.loads(base64.b64decode(message["body"]))[0]
    return args


def _kwargs(message: dict[str, Any]) -> dict[str, Any]:
    import base64
    import json

    kwargs: dict[str, Any] = json.loads(base64.b64decode(message["body"]))[1]
    return kwargs


def _waiting(r: redis.Redis, queue: str) -> list[Any]:
    import json

    return [json.loads(m) for key in queue_keys(queue) for m in r.lrange(key, 0, -1)]


def test_split_fans_out_one_read_per_page_and_the_last_read_asks_for_assessment(
    celery_runtime: tuple[Runtime, Any, redis.Redis]
) -> None:
    runtime, runner, r = celery_runtime
    queues = Queues.of(runtime.settings)
    service = IntakeService(runtime, runner)
    case = service.create_case("company-establishment")
    batch = service.upload_batch(case.id, [Upload.from_bytes("a.pdf", _pdf(3, "申请书"))])
    # One split as the file was stored, one as the upload was sealed: each sends only
    # the pages it creates to be read.
    splits = _waiting(r, queues.batches)
    assert [m["headers"]["task"] for m in splits] == [SPLIT, SPLIT]
    assert [(_args(m), _kwargs(m)) for m in splits] == [([batch.id], {"only_new": True})] * 2
    r.delete(*queue_keys(queues.batches))

    app = runner.app
    assert app.tasks[SPLIT].apply(args=[batch.id]).get() == 3
    reads = _waiting(r, queues.pages)
    assert [m["headers"]["task"] for m in reads] == [READ] * 3
    page_ids = [_args(m)[0] for m in reads]
    assert [_args(m)[1] for m in reads] == [batch.id] * 3
    assert sorted(page_ids) == sorted(_page_ids(runtime, batch.id))
    r.delete(*queue_keys(queues.pages))

    for n, page_id in enumerate(page_ids, start=1):
        assert app.tasks[READ].apply(args=[page_id, batch.id]).get() == "done"
        asked = [m["headers"]["task"] for m in _waiting(r, queues.batches)]
        assert asked == ([ASSESS] if n == len(page_ids) else []), n
    assert app.tasks[READ].apply(args=[page_ids[0], batch.id]).get() is None  # redelivered
    assert app.tasks[ASSESS].apply(args=[batch.id]).get() is True
    assert app.tasks[ASSESS].apply(args=[batch.id]).get() is False
    assert service.batch_progress(batch.id).status == "completed"
    assert app.tasks[SPLIT].apply(args=["no-such-batch"]).get() == 0


def test_a_store_outage_is_retried_with_backoff_then_the_page_is_read(
    celery_runtime: tuple[Runtime, Any, redis.Redis]
) -> None:
    runtime, runner, _ = celery_runtime
    service = IntakeService(runtime, runner)
    case = service.create_case("company-establishment")
    batch = service.upload_batch(case.id, [Upload.from_bytes("a.pdf", _pdf(1, "申请书"))])
    assert runner.app.tasks[SPLIT].apply(args=[batch.id]).get() == 1
    (page_id,) = _page_ids(runtime, batch.id)
    runtime.objects = FlakyStore(runtime.objects, failures=2)
    celery_tasks._process["pipeline"] = Pipeline(runtime, raise_transient=True)  # no cache
    retries = metrics.TASK_RETRIES.labels("read")._value.get()
    result = runner.app.tasks[READ].apply(args=[page_id, batch.id])
    assert result.get() == "done"
    assert metrics.TASK_RETRIES.labels("read")._value.get() == retries + 2


def test_a_page_whose_store_stays_away_fails_alone_and_the_batch_completes(
    celery_runtime: tuple[Runtime, Any, redis.Redis]
) -> None:
    runtime, runner, _ = celery_runtime
    service = IntakeService(runtime, runner)
    case = service.create_case("company-establishment")
    batch = service.upload_batch(case.id, [Upload.from_bytes("a.pdf", _pdf(2, "申请书")),
                                           Upload.from_bytes("b.pdf", _pdf(1, "承诺书"))])
    app = runner.app
    assert app.tasks[SPLIT].apply(args=[batch.id]).get() == 3
    page_ids = _page_ids(runtime, batch.id)
    assert app.tasks[READ].apply(args=[page_ids[0], batch.id]).get() == "done"
    assert app.tasks[READ].apply(args=[page_ids[1], batch.id]).get() == "done"
    runtime.objects = FlakyStore(runtime.objects, failures=100)
    celery_tasks._process["pipeline"] = Pipeline(runtime, raise_transient=True)  # no cache
    assert app.tasks[READ].apply(args=[page_ids[2], batch.id]).get() == "failed"
    # The batch is assessed; its archive copy (which needs the originals) is retried
    # until the task gives up, never silently skipped.
    outcome = app.tasks[ASSESS].apply(args=[batch.id])
    assert outcome.failed() and isinstance(outcome.result, ObjectStoreError)
    progress = service.batch_progress(batch.id)
    assert progress.status == "completed"
    assert (progress.pages_read, progress.pages_failed) == (2, 1)
    report = service.case_report(case.id)
    assert [u["code"] for u in report["unreadable"]] == ["page.store_unavailable"]


def test_an_archive_that_cannot_be_stored_is_retried_by_the_task(
    celery_runtime: tuple[Runtime, Any, redis.Redis]
) -> None:
    runtime, runner, _ = celery_runtime
    service = IntakeService(runtime, runner)
    case = service.create_case("company-establishment")
    batch = service.upload_batch(case.id, [Upload.from_bytes("a.pdf", _pdf(1, "申请书"))])
    app = runner.app
    assert app.tasks[SPLIT].apply(args=[batch.id]).get() == 1
    (page_id,) = _page_ids(runtime, batch.id)
    assert app.tasks[READ].apply(args=[page_id, batch.id]).get() == "done"
    runtime.objects = ArchiveOutage(runtime.objects, failures=2)
    celery_tasks._process["pipeline"] = Pipeline(runtime, raise_transient=True)
    retries = metrics.TASK_RETRIES.labels("assess")._value.get()
    app.tasks[ASSESS].apply(args=[batch.id]).get()
    assert metrics.TASK_RETRIES.labels("assess")._value.get() == retries + 2
    assert runtime.objects.exists(archive_key(batch.id))
    assert service.batch_progress(batch.id).status == "completed"


def test_a_later_batch_is_not_queued_behind_an_earlier_batch_s_tail(
    celery_runtime: tuple[Runtime, Any, redis.Redis]
) -> None:
    from kombu import Queue

    runtime, runner, _ = celery_runtime
    service = IntakeService(runtime, runner)
    big = service.upload_batch(service.create_case("company-establishment").id,
                               [Upload.from_bytes("big.pdf", _pdf(20, "申请书"))]).id
    small = service.upload_batch(service.create_case("company-establishment").id,
                                 [Upload.from_bytes("small.pdf", _pdf(2, "承诺书"))]).id
    app = runner.app
    assert app.tasks[SPLIT].apply(args=[big]).get() == 20
    assert app.tasks[SPLIT].apply(args=[small]).get() == 2
    order: list[str] = []
    given_back = None
    with app.connection_for_read() as conn:
        pages = Queue(Queues.of(runtime.settings).pages)(conn.default_channel)
        while (message := pages.get(no_ack=False)) is not None:
            if len(order) == 5 and given_back is None:
                # The worker reading this page died: it is given back, and read next.
                given_back = message.payload
                message.reject(requeue=True)
                continue
            if len(order) == 5:
                assert message.payload == given_back
            message.ack()
            order.append("big" if message.payload[0][1] == big else "small")
    # First come, first served would read the 20 pages of the big batch first.
    assert order == ["big", "big", "small", "small"] + ["big"] * 18


def test_a_page_whose_worker_died_at_every_try_is_failed_not_read_forever(
    celery_runtime: tuple[Runtime, Any, redis.Redis]
) -> None:
    runtime, runner, r = celery_runtime
    service = IntakeService(runtime, runner)
    case = service.create_case("company-establishment")
    batch = service.upload_batch(case.id, [Upload.from_bytes("a.pdf", _pdf(2, "申请书"))])
    app = runner.app
    assert app.tasks[SPLIT].apply(args=[batch.id]).get() == 2
    poison, ordinary = _page_ids(runtime, batch.id)
    # Three redeliveries already came back without an answer (the process died each time).
    r.set(f"{runtime.settings.task_queue}:redeliveries:{poison}", 3)
    given_back = {"redelivered": True}
    assert app.tasks[READ].apply(args=[poison, batch.id], headers=given_back).get() == "failed"
    # A page given back once is read as usual.
    assert app.tasks[READ].apply(args=[ordinary, batch.id], headers=given_back).get() == "done"
    assert app.tasks[ASSESS].apply(args=[batch.id]).get() is True
    report = service.case_report(case.id)
    assert [u["code"] for u in report["unreadable"]] == ["page.worker_lost"]
    assert report["unreadable"][0]["message"].startswith("第 1 页多次导致识别进程中断")


def test_an_upload_s_first_file_is_read_before_its_last_is_stored_and_the_last_read_asks_for_assessment(  # noqa: E501
    celery_runtime: tuple[Runtime, Any, redis.Redis]
) -> None:
    runtime, runner, r = celery_runtime
    queues = Queues.of(runtime.settings)
    app = runner.app
    service = IntakeService(runtime, runner)
    case = service.create_case("company-establishment")

    def sent(queue: str) -> list[Any]:
        messages = _waiting(r, queue)
        r.delete(*queue_keys(queue))
        return messages

    intake = service.batch_intake(case.id)
    intake.add(Upload.from_bytes("a.pdf", _pdf(2, "申请书")))
    batch_id = intake.batch_id
    assert batch_id is not None
    (split,) = sent(queues.batches)  # sent as the first file was stored
    assert (_args(split), _kwargs(split)) == ([batch_id], {"only_new": True})
    assert app.tasks[SPLIT].apply(args=[batch_id], kwargs={"only_new": True}).get() == 2
    first = [_args(m)[0] for m in sent(queues.pages)]
    assert sorted(first) == sorted(_page_ids(runtime, batch_id))
    for page_id in first:  # read while the upload goes on: no assessment asked for
        assert app.tasks[READ].apply(args=[page_id, batch_id]).get() == "done"
    assert sent(queues.batches) == []

    intake.add(Upload.from_bytes("b.pdf", _pdf(1, "营业执照")))
    (split,) = sent(queues.batches)
    # Only the new file's page is sent: the first two are not handed out again.
    assert app.tasks[SPLIT].apply(args=[batch_id], kwargs={"only_new": True}).get() == 1
    (second,) = [_args(m)[0] for m in sent(queues.pages)]
    assert second not in first
    intake.seal()  # while that page is unread: the seal's split finds nothing new
    (split,) = sent(queues.batches)
    assert app.tasks[SPLIT].apply(args=[batch_id], kwargs={"only_new": True}).get() == 0
    (early,) = sent(queues.batches)
    assert early["headers"]["task"] == ASSESS
    assert app.tasks[ASSESS].apply(args=[batch_id]).get() is False  # a page is unread
    assert service.batch_progress(batch_id).status == "processing"
    # The last page's read asks for the assessment the moment it is stored.
    assert app.tasks[READ].apply(args=[second, batch_id]).get() == "done"
    (assess,) = sent(queues.batches)
    assert assess["headers"]["task"] == ASSESS and _args(assess) == [batch_id]
    assert app.tasks[ASSESS].apply(args=[batch_id]).get() is True
    assert service.batch_progress(batch_id).status == "completed"


def test_a_redelivered_split_of_new_files_sends_every_unread_page(
    celery_runtime: tuple[Runtime, Any, redis.Redis]
) -> None:
    """A split that died after creating its pages and before sending them is given back:
    it must send them, though it was asked for new pages only."""
    runtime, runner, r = celery_runtime
    queues = Queues.of(runtime.settings)
    service = IntakeService(runtime, runner)
    case = service.create_case("company-establishment")
    intake = service.batch_intake(case.id)
    intake.add(Upload.from_bytes("a.pdf", _pdf(2, "申请书")))
    batch_id = intake.batch_id
    assert batch_id is not None
    Pipeline(runtime).split(batch_id)  # the pages exist; their messages were never sent
    r.delete(*queue_keys(queues.batches))
    task = runner.app.tasks[SPLIT]
    assert task.apply(args=[batch_id], kwargs={"only_new": True}).get() == 0
    r.delete(*queue_keys(queues.batches))
    redelivered = task.apply(args=[batch_id], kwargs={"only_new": True},
                             headers={"redelivered": True})
    assert redelivered.get() == 2
    assert len(_waiting(r, queues.pages)) == 2


def test_an_upload_that_breaks_off_is_discarded_and_its_pages_in_flight_write_nothing(
    celery_runtime: tuple[Runtime, Any, redis.Redis]
) -> None:
    runtime, runner, r = celery_runtime
    queues = Queues.of(runtime.settings)
    app = runner.app
    service = IntakeService(runtime, runner)
    case = service.create_case("company-establishment")
    intake = service.batch_intake(case.id, idempotency_key="retry-me")
    intake.add(Upload.from_bytes("a.pdf", _pdf(1, "申请书")))
    batch_id = intake.batch_id
    assert batch_id is not None
    assert app.tasks[SPLIT].apply(args=[batch_id], kwargs={"only_new": True}).get() == 1
    (page_id,) = _page_ids(runtime, batch_id)
    intake.discard()  # the client went away
    assert app.tasks[READ].apply(args=[page_id, batch_id]).get() is None
    assert app.tasks[ASSESS].apply(args=[batch_id]).get() is False
    assert service.get_case(case.id).batch_ids == []
    r.delete(*queue_keys(queues.batches), *queue_keys(queues.pages))
    again = service.upload_batch(case.id, [Upload.from_bytes("a.pdf", _pdf(1, "申请书"))],
                                 idempotency_key="retry-me")
    assert again.id != batch_id and [f.outcome for f in again.files] == ["accepted"]
