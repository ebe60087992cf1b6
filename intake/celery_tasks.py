"""The Celery tasks: the pipeline's stages, one message each, taking ids only.

    split_batch(batch_id)          -> read_page(page_id, batch_id) for every unread page
    split_batch(batch_id, only_new=True)
                                   -> read_page for the pages of files stored since (sent
                                      by the API as each file of an upload is stored)
    read_page(page_id, batch_id)   -> assess_batch(batch_id) once no page of the batch is left
    assess_batch(batch_id)         -> batch completed
    split_stack(stack_id)          -> split_batch(batch_id) for each case the stack fed

Every task can run twice, or twice at once, without changing the outcome: pages are created
once (unique per file and index), a page's result is written once (the first writer wins),
and `assess` commits once per batch (row lock on the batch). So at-least-once delivery — what
`acks_late` and redelivery give — yields exactly-once results.

Completion needs no coordinator: after storing its page, each `read_page` looks whether the
batch is sealed (its upload complete), every file split and every page finished. Under
read-committed isolation the last page to commit always sees every other page finished, so
at least one `assess_batch` is sent the moment the last page is stored; a second one (two
pages finishing together, or a redelivery) finds the batch completed and does nothing. The
seal is committed before its own `split_batch` is sent, which finding nothing new sends
`assess_batch`: of a last page and the seal at the same moment, one sees the other.

Transient failures (database or object store unreachable) are retried with exponential
backoff; when retries run out a page is marked failed with `page.store_unavailable` and the
rest of the batch completes. A batch whose split or assessment cannot run is left
unfinished, and picked up again by the API's sweep (`CeleryRunner`).
"""

from __future__ import annotations

import logging
from typing import Any

from celery import Celery, Task
from sqlalchemy.exc import IntegrityError

from intake import metrics
from intake.broker import page_priority
from intake.pipeline import (
    STORE_UNAVAILABLE,
    TRANSIENT_ERRORS,
    Pipeline,
    backoff,
    read_through,
)
from intake.queues import (
    ASSESS,
    READ,
    SPLIT,
    STACK,
    ocr_threads_per_process,
    worker_concurrency,
)
from intake.runtime import Runtime
from intake.settings import Settings
from intake.stacks import StackPipeline
from storage.cases import CaseRepository

log = logging.getLogger(__name__)

# Two splits of one batch at once may both insert its pages: the loser's unique violation
# is retried and then finds the rows there.
RETRYABLE: tuple[type[Exception], ...] = (*TRANSIENT_ERRORS, IntegrityError)

_process: dict[str, Any] = {}  # this process's Runtime and Pipeline


def init_process(settings: Settings, concurrency: int) -> Pipeline:
    """Build this worker process's runtime and load its OCR model (once per process)."""
    from dataclasses import replace

    runtime = Runtime.from_settings(settings, migrate=False)
    threads = ocr_threads_per_process(settings, concurrency)
    runtime.engine_options = replace(runtime.engine_options, threads=threads)
    try:
        import cv2

        cv2.setNumThreads(threads)
    except ImportError:  # pragma: no cover
        pass
    _ = runtime.engine  # load the model now, not on the first page
    pipeline = Pipeline(runtime, raise_transient=True)
    _process.update(runtime=runtime, pipeline=pipeline)
    log.info("worker process ready (%d OCR threads)", threads, extra={"stage": "worker"})
    return pipeline


def _pipeline(app: Celery) -> Pipeline:
    pipeline: Pipeline | None = _process.get("pipeline")
    if pipeline is None:  # a pool without worker_process_init (solo, threads, eager)
        settings: Settings = app.conf.docintake_settings
        pipeline = init_process(settings, worker_concurrency(settings))
    return pipeline


def _retry(task: Task, exc: Exception, what: str, context: dict[str, str]) -> Any:
    metrics.TASK_RETRIES.labels(what).inc()
    delay = backoff(task.request.retries)
    log.warning("%s: transient failure, retrying in %.0f s: %s", what, delay,
                type(exc).__name__, extra=context)
    return task.retry(exc=exc, countdown=delay)


def register_tasks(app: Celery) -> None:
    settings: Settings = app.conf.docintake_settings
    max_retries = settings.task_max_retries
    # shared=False: each app (one per settings) gets its own task objects.
    options: dict[str, Any] = {"bind": True, "shared": False, "acks_late": True,
                               "reject_on_worker_lost": True, "max_retries": max_retries}

    @app.task(name=SPLIT, **options)
    def split_batch(self: Task, batch_id: str, only_new: bool = False) -> int:
        context = {"batch_id": batch_id, "stage": "split"}
        # A redelivered or retried split may have created its pages and died before
        # sending them: it sends every unread page of the batch again.
        only_new = only_new and not _redelivered(self.request) and not self.request.retries
        try:
            page_ids = _pipeline(app).split(batch_id, only_new=only_new)
        except LookupError:
            log.warning("batch not found; nothing to do", extra=context)
            return 0
        except RETRYABLE as exc:
            raise _retry(self, exc, "split", context) from exc
        if not page_ids:
            # Nothing (new) to read: every page already read or sent, no readable file,
            # or the upload's seal. The assessment runs if nothing is left unread.
            app.send_task(ASSESS, args=[batch_id])
            return 0
        for position, page_id in enumerate(page_ids):
            # A batch's first pages before the tail of batches published earlier.
            app.send_task(READ, args=[page_id, batch_id], priority=page_priority(position))
        log.info("batch split into %d pages to read", len(page_ids), extra=context)
        return len(page_ids)

    @app.task(name=READ, **options)
    def read_page(self: Task, page_id: str, batch_id: str) -> str | None:
        context = {"batch_id": batch_id, "page_id": page_id, "stage": "read"}
        pipeline = _pipeline(app)
        try:
            try:
                if (_redelivered(self.request)
                        and _count_redelivery(app, settings, page_id) > MAX_REDELIVERIES):
                    # Its worker died every time it read this page (an engine crash, the
                    # OOM killer): given back at the front of the queue, it would take
                    # down every worker in turn.
                    log.error("page read %d times without an answer; failing it",
                              MAX_REDELIVERIES + 1, extra={**context, "code": WORKER_LOST})
                    status = pipeline.fail_page(page_id, WORKER_LOST)
                else:
                    status = pipeline.read_or_fail(page_id)
            except TRANSIENT_ERRORS as exc:
                if self.request.retries < max_retries:
                    raise _retry(self, exc, "read", context) from exc
                log.error("page failed for good after %d retries", self.request.retries,
                          extra=context)
                status = pipeline.fail_page(page_id, STORE_UNAVAILABLE)
            if _all_pages_finished(pipeline.runtime, batch_id):
                app.send_task(ASSESS, args=[batch_id])
        except TRANSIENT_ERRORS as exc:  # the database itself, while storing or checking
            raise _retry(self, exc, "read", context) from exc
        return status

    @app.task(name=ASSESS, **options)
    def assess_batch(self: Task, batch_id: str) -> bool:
        context = {"batch_id": batch_id, "stage": "assess"}
        pipeline = _pipeline(app)
        try:
            return pipeline.assess(batch_id, only_when_read=True)
        except LookupError:
            log.warning("batch not found; nothing to do", extra=context)
            return False
        except TRANSIENT_ERRORS as exc:
            raise _retry(self, exc, "assess", context) from exc
        except Exception:
            # A bug in the rules must not leave clients polling forever: the batch is
            # marked failed (its pages stay read and the report can be rebuilt later).
            log.exception("assessment failed", extra=context)
            _fail_batch(pipeline.runtime, batch_id)
            return False


    @app.task(name=STACK, **options)
    def split_stack(self: Task, stack_id: str) -> int:
        """A scanned stack, start to end (`intake.stacks`): its pages are only scanned for
        cover sheets here, which is cheap next to OCR, so one task does the whole stack
        and sends each case's batch on to `split_batch`."""
        context = {"stack_id": stack_id, "stage": "stack"}
        runtime = _pipeline(app).runtime
        stacks = StackPipeline(runtime, lambda batch_id: app.send_task(SPLIT, args=[batch_id]))
        try:
            stacks.run(stack_id)
        except LookupError:
            log.warning("stack not found; nothing to do", extra=context)
            return 0
        except RETRYABLE as exc:
            raise _retry(self, exc, "stack", context) from exc
        return 1


MAX_REDELIVERIES = 3
WORKER_LOST = "page.worker_lost"


def _redelivered(request: Any) -> bool:
    """Was this message given back after its worker died (kombu marks it)?"""
    delivery = getattr(request, "delivery_info", None) or {}
    headers = getattr(request, "headers", None) or {}
    return bool(delivery.get("redelivered") or headers.get("redelivered")
                or getattr(request, "redelivered", False))


def _count_redelivery(app: Celery, settings: Settings, page_id: str) -> int:
    """One more redelivery of this page's read, counted in the broker for a day; 0 when
    the broker cannot count (reading the page then goes ahead)."""
    key = f"{settings.task_queue}:redeliveries:{page_id}"
    try:
        with app.connection_for_write() as conn:
            client: Any = conn.default_channel.client
            count = int(client.incr(key))
            client.expire(key, 86400)
            return count
    except Exception:
        log.warning("could not count a redelivery", exc_info=True)
        return 0


def _all_pages_finished(runtime: Runtime, batch_id: str) -> bool:
    """Is the batch sealed (its upload complete), every file split and every page read?
    Checked after a page's result is committed, and the seal is committed before its
    `split_batch` is sent: of a last page and a seal at the same moment, one sees the
    other, so the assessment is always sent."""
    with runtime.database.session() as session:
        repo = CaseRepository(session)
        batch = repo.get_batch(batch_id)
        if batch is None or batch.status not in ("received", "processing"):
            return False
        return read_through(repo, batch_id)


def _fail_batch(runtime: Runtime, batch_id: str) -> None:
    with runtime.database.session() as session:
        repo = CaseRepository(session)
        if repo.lock_open_batch(batch_id):
            batch = repo.get_batch(batch_id)
            if batch is not None:
                repo.set_batch_status(batch, "failed")
