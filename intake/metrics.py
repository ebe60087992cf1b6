"""Prometheus metrics.

Two kinds, because work happens in other processes than the one that is scraped:

* Event metrics (`PAGES`, `FAILURES`, `STAGE_SECONDS`, `TASK_RETRIES`) are counted where a
  stage runs: in the API process for in-process runners, in each worker process for Celery.
  `docintake worker --metrics-port` serves the sum over the node's worker processes
  (prometheus_client's multiprocess mode).
* State metrics (`docintake_pages`, `docintake_page_failures`, `docintake_batches`,
  `docintake_queue_depth`, `docintake_tasks_unacked`, `docintake_open_cases` by supervision
  light) are read at scrape time from the
  database and the broker by `StateCollector`, so the API's `/metrics` shows the whole
  cluster however many workers there are, and survives their restarts.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from storage.db import Database
from storage.models import Batch, Page

log = logging.getLogger(__name__)

PAGES = Counter("docintake_pages_processed", "Pages finished by this process, by outcome",
                ["status"])
FAILURES = Counter("docintake_page_failures", "Pages failed by this process, by reason code",
                   ["reason"])
STAGE_SECONDS = Histogram(
    "docintake_stage_duration_seconds",
    "Duration of pipeline stages (split, read = decode + OCR + store, ocr, assess)",
    ["stage"], buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60, 120, 300))
TASK_RETRIES = Counter("docintake_task_retries", "Tasks retried after a transient failure",
                       ["task"])


class StateCollector(Collector):
    """Cluster-wide state read at scrape time. `queue_depths` returns {queue: waiting
    messages} plus an `unacked` entry; it is absent for in-process runners."""

    def __init__(self, database: Database,
                 queue_depths: Callable[[], dict[str, int]] | None = None,
                 case_lights: Callable[[], dict[str, int]] | None = None) -> None:
        self.database = database
        self.queue_depths = queue_depths
        self.case_lights = case_lights

    def collect(self) -> Iterator[GaugeMetricFamily]:
        pages = GaugeMetricFamily("docintake_pages", "Pages by status", labels=["status"])
        failures = GaugeMetricFamily("docintake_page_failures_current",
                                     "Failed pages by reason code", labels=["reason"])
        batches = GaugeMetricFamily("docintake_batches", "Batches by status", labels=["status"])
        try:
            with self.database.session() as session:
                for status, count in session.execute(
                        select(Page.status, func.count()).group_by(Page.status)):
                    pages.add_metric([status], count)
                for code, count in session.execute(
                        select(Page.error_code, func.count()).where(Page.status == "failed")
                        .group_by(Page.error_code)):
                    failures.add_metric([code or "unknown"], count)
                for status, count in session.execute(
                        select(Batch.status, func.count()).group_by(Batch.status)):
                    batches.add_metric([status], count)
        except Exception:  # a scrape must not fail because the database is away
            log.warning("metrics: database not reachable", exc_info=True)
        yield from (pages, failures, batches)
        yield from self._case_lights()
        if self.queue_depths is None:
            return
        depth = GaugeMetricFamily("docintake_queue_depth", "Messages waiting in a queue",
                                  labels=["queue"])
        unacked = GaugeMetricFamily("docintake_tasks_unacked",
                                    "Messages taken by workers and not yet acknowledged")
        try:
            depths = self.queue_depths()
        except Exception:
            log.warning("metrics: broker not reachable", exc_info=True)
            return
        for queue, count in depths.items():
            if queue == "unacked":
                unacked.add_metric([], count)
            else:
                depth.add_metric([queue], count)
        yield from (depth, unacked)


    def _case_lights(self) -> Iterator[GaugeMetricFamily]:
        if self.case_lights is None:
            return
        open_cases = GaugeMetricFamily(
            "docintake_open_cases", "Open cases by supervision light today (电子监察)",
            labels=["light"])
        try:
            lights = self.case_lights()
        except Exception:
            log.warning("metrics: case lights not computable", exc_info=True)
            return
        for light, count in lights.items():
            open_cases.add_metric([light], count)
        yield open_cases


def state_registry(database: Database,
                   queue_depths: Callable[[], dict[str, int]] | None = None,
                   case_lights: Callable[[], dict[str, int]] | None = None,
                   ) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StateCollector(database, queue_depths, case_lights))
    return registry
