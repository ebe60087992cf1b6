"""How batches get processed. The embedded default runs the pipeline in-process: either in a
background thread (so an upload returns at once and progress can be followed) or inline
(the call returns when the batch is done — for the demo and for tests)."""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Protocol

from sqlalchemy import select

from intake.pipeline import Pipeline
from intake.runtime import Runtime
from storage.models import Batch

log = logging.getLogger(__name__)


class TaskRunner(Protocol):
    def submit_batch(self, batch_id: str) -> None:
        """Arrange for the batch to be processed; must be safe to call twice."""

    def shutdown(self) -> None: ...


class InlineRunner:
    def __init__(self, runtime: Runtime) -> None:
        self.pipeline = Pipeline(runtime)

    def submit_batch(self, batch_id: str) -> None:
        self.pipeline.run_batch(batch_id)

    def shutdown(self) -> None:
        pass


class ThreadRunner:
    """One worker thread: OCR already uses every core through onnxruntime, so running two
    pages at once in one process would only make both slower."""

    def __init__(self, runtime: Runtime) -> None:
        self.pipeline = Pipeline(runtime)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="docintake-batch")
        self._pending: dict[str, Future[None]] = {}
        self._lock = threading.Lock()

    def submit_batch(self, batch_id: str) -> None:
        with self._lock:
            running = self._pending.get(batch_id)
            if running is not None and not running.done():
                return
            self._pending[batch_id] = self._executor.submit(self._run, batch_id)

    def _run(self, batch_id: str) -> None:
        try:
            self.pipeline.run_batch(batch_id)
        except Exception:
            log.exception("batch processing failed", extra={"batch_id": batch_id})

    def wait(self, timeout: float | None = None) -> None:
        """Block until every submitted batch has finished (for tests and shutdown)."""
        with self._lock:
            futures = list(self._pending.values())
        for future in futures:
            future.result(timeout=timeout)

    def shutdown(self) -> None:
        self._executor.shutdown(wait=True)


def make_runner(runtime: Runtime) -> TaskRunner:
    if runtime.settings.task_mode == "inline":
        return InlineRunner(runtime)
    return ThreadRunner(runtime)


def resume_unfinished(runtime: Runtime, runner: TaskRunner) -> list[str]:
    """Resubmit batches a previous process accepted but did not finish: accepted pages are
    never dropped because the process stopped."""
    with runtime.database.session() as session:
        ids = list(session.scalars(
            select(Batch.id).where(Batch.status.in_(("received", "processing")))))
    for batch_id in ids:
        runner.submit_batch(batch_id)
    return ids
