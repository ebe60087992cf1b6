"""Names shared by the Celery app (`intake.celery_app`) and its tasks
(`intake.celery_tasks`): the task names, the two queues, and how many processes and OCR
threads a worker node runs. Kept apart so that the tasks need not import the app that
registers them."""

from __future__ import annotations

import os
from dataclasses import dataclass

from intake.settings import Settings

SPLIT = "docintake.split_batch"
READ = "docintake.read_page"
ASSESS = "docintake.assess_batch"
STACK = "docintake.split_stack"


@dataclass(frozen=True)
class Queues:
    batches: str
    pages: str

    @classmethod
    def of(cls, settings: Settings) -> Queues:
        return cls(f"{settings.task_queue}.batches", f"{settings.task_queue}.pages")


def cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def worker_concurrency(settings: Settings) -> int:
    return settings.worker_concurrency or cores()


def ocr_threads_per_process(settings: Settings, concurrency: int) -> int:
    """An explicit DOCINTAKE_OCR_THREADS wins; otherwise the node's cores are shared out."""
    if "ocr_threads" in settings.model_fields_set:
        return settings.ocr_threads
    return max(1, cores() // concurrency)
