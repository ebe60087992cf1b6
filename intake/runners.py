"""How batches get processed. The embedded default runs the pipeline in-process: either in a
background thread (so an upload returns at once and progress can be followed) or inline
(the call returns when the batch is done — for the demo and for tests). In production
(`DOCINTAKE_BROKER_URL` set) `CeleryRunner` hands batches to Celery workers."""

from __future__ import annotations

import logging
import threading
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from sqlalchemy import func, select

from intake.pipeline import Pipeline
from intake.runtime import Runtime
from intake.stacks import StackPipeline
from storage.models import Batch, Page, SourceFile
from storage.stacks import StackRepository

if TYPE_CHECKING:
    from celery import Celery

log = logging.getLogger(__name__)


class TaskRunner(Protocol):
    def submit_batch(self, batch_id: str) -> None:
        """Arrange for the batch to be processed; must be safe to call twice."""

    def submit_files(self, batch_id: str) -> None:
        """A file of an upload was stored, or the upload sealed: split the files not split
        yet and read their pages now, without waiting for the rest of the upload, and
        assess the batch once it is sealed and read through. Unlike `submit_batch` (which
        resumes a batch and may hand out its unread pages again), pages already handed
        out are not handed out twice. Safe to call any number of times."""

    def submit_stack(self, stack_id: str) -> None:
        """Arrange for a scanned stack to be split by its cover sheets (`intake.stacks`);
        must be safe to call twice."""

    def shutdown(self) -> None: ...


class InlineRunner:
    def __init__(self, runtime: Runtime) -> None:
        self.pipeline = Pipeline(runtime)
        self.stacks = StackPipeline(runtime, self.submit_batch)

    def submit_batch(self, batch_id: str) -> None:
        self.pipeline.run_batch(batch_id)

    def submit_files(self, batch_id: str) -> None:
        self.pipeline.run_batch(batch_id)  # inline: assessed once sealed

    def submit_stack(self, stack_id: str) -> None:
        self.stacks.run(stack_id)

    def shutdown(self) -> None:
        pass


_STACK = "stack:"


class ThreadRunner:
    """One worker thread (OCR already uses every core, so two pages at once in one process
    would only make both slower) that reads the pages of every waiting batch in turn:
    one unit of work per batch — one page (after its split, when it has files not split
    yet), or its last page and assessment — then the next batch. A batch of 500 heavy
    pages delays another clerk's batch by one page (at most a page's budget,
    `ocr.limits`), not by 500. A scanned stack is one unit:
    its pages are only searched for cover sheets (tens of milliseconds each), and the
    batches it feeds then take their turns like any other.

    A batch still being uploaded is given turns as its files arrive (`submit_files`):
    each new file makes its next turn begin with a split that adds the new pages to its
    queue, so reading starts with the first file stored. Once the upload is sealed, its
    assessment is part of the turn that reads its last page, or the seal's own turn when
    every page was read before it.

    `shutdown` waits at most `shutdown_timeout` seconds for the unit in flight; a page
    still being read then is abandoned with the process and read again at the next start
    (`resume_unfinished`): its result was never written."""

    def __init__(self, runtime: Runtime, *, start: bool = True,
                 shutdown_timeout: float = 10.0) -> None:
        self.pipeline = Pipeline(runtime)
        self.stacks = StackPipeline(runtime, self.submit_batch)
        self.shutdown_timeout = shutdown_timeout
        self._lock = threading.Condition()
        self._turns: deque[str] = deque()  # batches (and `stack:<id>`) waiting their turn
        self._pages: dict[str, deque[str] | None] = {}  # to read; None: not split yet
        self._resplit: set[str] = set()  # resubmitted since their split: new files
        self._stopping = False
        self._thread = threading.Thread(target=self._loop, name="docintake-batch",
                                        daemon=True)
        if start:
            self._thread.start()

    def submit_batch(self, batch_id: str) -> None:
        with self._lock:
            if batch_id in self._pages:
                # Waiting or being worked on: it is split again at its next turn, which
                # finds any file stored since (its pages are appended, none read twice).
                self._resplit.add(batch_id)
                return
            self._pages[batch_id] = None
            self._turns.append(batch_id)
            self._lock.notify_all()

    def submit_files(self, batch_id: str) -> None:
        self.submit_batch(batch_id)

    def submit_stack(self, stack_id: str) -> None:
        self.submit_batch(f"{_STACK}{stack_id}")

    def step(self) -> bool:
        """Give the next waiting batch its turn; False when no batch is waiting."""
        with self._lock:
            if not self._turns:
                return False
            batch_id = self._turns.popleft()
            if batch_id in self._resplit:
                self._resplit.discard(batch_id)
                self._pages[batch_id] = None
            pages = self._pages[batch_id]
        try:
            finished = self._turn(batch_id, pages)
        except LookupError:
            finished = True  # its upload broke off and it was discarded
        except Exception:
            # Retries ran out (the database or the store stayed away) or a bug: the batch
            # stays unfinished in the database and is resumed at the next start.
            log.exception("batch processing failed", extra={"batch_id": batch_id})
            finished = True
        with self._lock:
            if batch_id in self._resplit:
                finished = False  # resubmitted during its turn: another turn
            if finished:
                del self._pages[batch_id]
                self._lock.notify_all()
            else:
                self._turns.append(batch_id)
        return True

    def _turn(self, batch_id: str, pages: deque[str] | None) -> bool:
        if batch_id.startswith(_STACK):
            stack_id = batch_id.removeprefix(_STACK)
            self.pipeline.retrying(lambda: self.stacks.run(stack_id), what="stack",
                                   context={"stack_id": stack_id})
            return True
        pipeline, context = self.pipeline, {"batch_id": batch_id}
        if pages is None:  # split first (tens of milliseconds), then a page, same turn
            pages = deque(pipeline.retrying(lambda: pipeline.split(batch_id), what="split",
                                            context=context))
            with self._lock:
                self._pages[batch_id] = pages
        if pages:
            page_id = pages.popleft()
            pipeline.retrying(lambda: pipeline.read_or_fail(page_id), what="read",
                              context={**context, "page_id": page_id})
            if pages:
                return False
        # Once sealed and read, at once; a batch still receiving files is not assessed
        # and leaves the turns until its next file or its seal brings it back.
        pipeline.retrying(lambda: pipeline.assess(batch_id, only_when_read=True),
                          what="assess", context=context)
        return True

    def _loop(self) -> None:
        while True:
            with self._lock:
                while not self._turns and not self._stopping:
                    self.pipeline.close_source()  # idle: hold no originals
                    self._lock.wait()
                if self._stopping:
                    return
            self.step()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until every submitted batch has finished (for tests and the demo);
        False if `timeout` seconds passed first."""
        with self._lock:
            return self._lock.wait_for(lambda: not self._pages, timeout)

    def shutdown(self) -> None:
        with self._lock:
            self._stopping = True
            self._lock.notify_all()
        if self._thread.is_alive():
            self._thread.join(self.shutdown_timeout)
            if self._thread.is_alive():
                log.warning("shutdown: the page being read is abandoned and will be read "
                            "again at the next start", extra={"stage": "shutdown"})


class CeleryRunner:
    """Publishes `split_batch` for Celery workers. Publishing can fail (broker away) after
    the upload is stored; a sweep thread therefore resubmits, every `interval` seconds,
    every unfinished batch none of whose pages moved for `broker_visibility_timeout`
    seconds: a batch whose message was never sent, or was lost with a Redis restart, is
    picked up again. Resubmitting is harmless: the tasks are idempotent.

    The publish itself runs on a thread of its own and an upload waits for it at most
    `PUBLISH_WAIT` seconds: with the broker down, kombu's connection attempts take tens of
    seconds, which a clerk's upload (already stored) must not wait for."""

    PUBLISH_WAIT = 2.0

    def __init__(self, runtime: Runtime, *, sweep: bool = True) -> None:
        from intake.celery_app import make_celery

        self.runtime = runtime
        self.app: Celery = make_celery(runtime.settings)
        self.stalled_after = float(runtime.settings.broker_visibility_timeout)
        self._stop = threading.Event()
        self._sweeper: threading.Thread | None = None
        self._publisher = ThreadPoolExecutor(max_workers=1,
                                             thread_name_prefix="docintake-publish")
        if sweep:
            self._sweeper = threading.Thread(target=self._sweep, name="docintake-sweep",
                                             daemon=True)
            self._sweeper.start()

    def submit_batch(self, batch_id: str) -> None:
        publishing = self._publisher.submit(self._publish, batch_id)
        try:
            publishing.result(timeout=self.PUBLISH_WAIT)
        except FutureTimeout:
            log.warning("broker slow or unreachable; the batch is stored and will be "
                        "resubmitted", extra={"batch_id": batch_id})

    def submit_files(self, batch_id: str) -> None:
        """`split_batch` for the files stored since the last split: only the pages it
        creates are sent to be read (those already sent are not sent twice)."""
        publishing = self._publisher.submit(self._publish, batch_id, True)
        try:
            publishing.result(timeout=self.PUBLISH_WAIT)
        except FutureTimeout:
            log.warning("broker slow or unreachable; the batch is stored and will be "
                        "resubmitted", extra={"batch_id": batch_id})

    def _publish(self, batch_id: str, only_new: bool = False) -> None:
        from intake.queues import SPLIT

        try:
            self.app.send_task(SPLIT, args=[batch_id],
                               kwargs={"only_new": True} if only_new else None, retry=True,
                               retry_policy={"max_retries": 2, "interval_start": 0.2,
                                             "interval_step": 0.5, "interval_max": 1})
        except Exception:
            log.exception("broker unreachable; the batch is stored and will be resubmitted",
                          extra={"batch_id": batch_id})

    def submit_stack(self, stack_id: str) -> None:
        from intake.queues import STACK

        try:
            self.app.send_task(STACK, args=[stack_id], retry=True,
                               retry_policy={"max_retries": 2, "interval_start": 0.2,
                                             "interval_step": 0.5, "interval_max": 1})
        except Exception:
            log.exception("broker unreachable; the stack is stored and will be resubmitted",
                          extra={"stack_id": stack_id})

    def ping(self) -> None:
        """Raise unless the broker answers (for readiness probes)."""
        with self.app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=3)
            conn.default_channel.client.ping()

    def queue_depths(self) -> dict[str, int]:
        from intake.celery_app import queue_depths

        return queue_depths(self.app, self.runtime.settings)

    def _sweep(self) -> None:
        interval = max(1.0, self.stalled_after / 2)
        while not self._stop.wait(interval):
            try:
                resume_unfinished(self.runtime, self, stalled_after=self.stalled_after)
            except Exception:
                log.warning("sweep for stalled batches failed", exc_info=True)

    def shutdown(self) -> None:
        self._stop.set()
        if self._sweeper is not None:
            self._sweeper.join(timeout=5)
        self._publisher.shutdown(wait=False, cancel_futures=True)
        self.app.close()


def make_runner(runtime: Runtime) -> TaskRunner:
    mode = runtime.settings.task_mode
    if mode == "celery":
        return CeleryRunner(runtime)
    if mode == "inline":
        return InlineRunner(runtime)
    return ThreadRunner(runtime)


def resume_unfinished(runtime: Runtime, runner: TaskRunner, *,
                      stalled_after: float | None = None) -> list[str]:
    """Resubmit batches a previous process accepted but did not finish: accepted pages are
    never dropped because the process stopped. With `stalled_after`, only batches whose
    pages have not moved for that many seconds (work may be under way elsewhere)."""
    with runtime.database.session() as session:
        query = select(Batch.id).where(Batch.status.in_(("received", "processing")))
        if stalled_after is not None:
            cutoff = datetime.now(UTC) - timedelta(seconds=stalled_after)
            last_move = (select(func.max(Page.updated_at)).where(Page.batch_id == Batch.id)
                         .correlate(Batch).scalar_subquery())
            query = query.where(func.coalesce(last_move, Batch.created_at) < cutoff)
        ids = list(session.scalars(query.order_by(Batch.created_at)))
        stacks = StackRepository(session).unfinished_stacks(
            stalled_before=None if stalled_after is None
            else datetime.now(UTC) - timedelta(seconds=stalled_after))
    discard_abandoned(runtime, runner, idle_for=abandoned_after(runtime, stalled_after))
    for batch_id in ids:
        runner.submit_batch(batch_id)
    for stack_id in stacks:  # their stored files are never dropped either
        runner.submit_stack(stack_id)
    return ids


UPLOAD_IDLE = 3600.0
"""Seconds without a new file after which another process's upload still `receiving` is
taken for abandoned (one file of the largest size on a slow line stays well below)."""


def abandoned_after(runtime: Runtime, stalled_after: float | None = None) -> float:
    """Seconds after its last file an upload still `receiving` is taken for abandoned: at a
    start of the embedded service (`stalled_after` None; the only process that receives)
    at once, else `UPLOAD_IDLE` (another API process may still be receiving it)."""
    if stalled_after is None and runtime.settings.task_mode != "celery":
        return 0.0
    return max(UPLOAD_IDLE, stalled_after or 0.0)


def discard_abandoned(runtime: Runtime, runner: TaskRunner, *, idle_for: float) -> list[str]:
    """Discard uploads whose process died while receiving them (no file for `idle_for`
    seconds): as if never sent, like an upload that broke off (`BatchIntake.discard`)."""
    from intake.uploads import RECEIVING, BatchIntake

    cutoff = datetime.now(UTC) - timedelta(seconds=idle_for)
    with runtime.database.session() as session:
        last_file = (select(func.max(SourceFile.created_at))
                     .where(SourceFile.batch_id == Batch.id).correlate(Batch)
                     .scalar_subquery())
        rows = list(session.execute(
            select(Batch.id, Batch.case_id).where(
                Batch.status == RECEIVING,
                func.coalesce(last_file, Batch.created_at) <= cutoff)))
    for batch_id, case_id in rows:
        intake = BatchIntake(runtime, runner, case_id)
        intake.batch_id = batch_id
        intake.discard()
        log.warning("an upload broken off by a stopped process was discarded",
                    extra={"batch_id": batch_id, "case_id": case_id})
    return [batch_id for batch_id, _ in rows]
