"""The Celery application, built from the settings.

Topology: the API publishes `split_batch` for each accepted batch; any worker splits it and
publishes one `read_page` per page, so the pages of one batch are read in parallel by every
worker process of every node; the worker that finishes the last page publishes
`assess_batch`. Two queues, consumed by every worker, keep a new batch's split from waiting
behind another batch's hundreds of pages: `<task_queue>.batches` (split, assess) and
`<task_queue>.pages` (read).

Nothing is lost when a worker dies: tasks are acknowledged only when they return
(`acks_late`); a pool process killed mid-task has its message requeued at once
(`task_reject_on_worker_lost`), and the messages of a whole node that vanished (SIGKILL,
power loss) go back to the queue after `broker_visibility_timeout` seconds. Tasks are
idempotent (`intake.pipeline`), so running one twice is harmless.

Processes and threads: one prefork process per core by default, each with its own OCR model
(loaded once, in `worker_process_init`) and `cores // concurrency` inference threads, so
that processes never fight over cores. Measured on 2 cores: 2 processes x 1 thread read
pages 1.2-1.3x faster than 1 process x 2 threads, 1.9x faster than 1 x 1 (`bench/pipeline`).
"""

from __future__ import annotations

import logging
import os
from typing import Any

from celery import Celery
from celery.signals import setup_logging, worker_process_init, worker_process_shutdown

from intake.broker import PRIORITY_STEPS, queue_keys, transport_for
from intake.celery_tasks import init_process, register_tasks
from intake.queues import ASSESS, READ, SPLIT, STACK, Queues, worker_concurrency
from intake.settings import Settings, load_settings

log = logging.getLogger(__name__)

PROCESS_READY_TIMEOUT = 180.0
"""Seconds a new pool process may take to load its model and report ready."""

def make_celery(settings: Settings) -> Celery:
    """A Celery app for these settings, with the docintake tasks registered."""
    if not settings.broker_url:
        raise ValueError("Celery needs DOCINTAKE_BROKER_URL")
    queues = Queues.of(settings)
    visibility = settings.broker_visibility_timeout
    transport = {
        "visibility_timeout": visibility,
        # Look for messages of vanished nodes often enough to honour a short timeout.
        "unacked_restore_interval": max(1, min(10, visibility // 4)),
        "unacked_restore_throttle": 1,
        # The restore sweep holds a Redis mutex; a node SIGKILLed while holding it would
        # block every redelivery for kombu's default 300 s. Let it lapse with the timeout.
        "unacked_mutex_expire": min(visibility, 300),
        # One list per priority, popped in order (`intake.broker`).
        "priority_steps": list(PRIORITY_STEPS),
    }
    app = Celery("docintake", broker=settings.broker_url, backend=settings.broker_url,
                 set_as_current=False)
    app.conf.update(
        task_serializer="json", accept_content=["json"], result_serializer="json",
        task_ignore_result=True,  # state lives in the database, not in task results
        result_expires=86400,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,  # a long page must not hold others back
        worker_cancel_long_running_tasks_on_connection_loss=True,
        broker_transport_options=transport,
        result_backend_transport_options=transport,
        broker_connection_retry_on_startup=True,
        # A page whose pool process died goes back to the front of its queue.
        broker_transport=transport_for(settings.broker_url),
        # A new pool process reports ready only after `worker_process_init` has loaded
        # its OCR model: 7-10 s on a busy machine. Celery's default 4 s wait killed every
        # replacement of a lost process, over and over, while the machine was busy.
        worker_proc_alive_timeout=PROCESS_READY_TIMEOUT,
        task_default_queue=queues.batches,
        task_routes={READ: {"queue": queues.pages}, SPLIT: {"queue": queues.batches},
                     ASSESS: {"queue": queues.batches}, STACK: {"queue": queues.batches}},
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
        timezone="UTC",
    )
    app.conf.docintake_settings = settings  # read by the worker process at start-up
    register_tasks(app)
    return app


def queue_depths(app: Celery, settings: Settings) -> dict[str, int]:
    """Messages waiting per queue, and messages taken but not yet acknowledged."""
    queues = Queues.of(settings)
    with app.connection_for_read() as conn:
        client: Any = conn.default_channel.client
        depths = {name: sum(int(client.llen(key)) for key in queue_keys(name))
                  for name in (queues.batches, queues.pages)}
        depths["unacked"] = int(client.hlen("unacked"))
    return depths


# worker processes ---------------------------------------------------------------------
_worker_settings: Settings | None = None


@setup_logging.connect
def _json_logs(**_: Any) -> None:
    """Keep Celery from installing its own handlers: workers log JSON like the API."""
    from intake.logs import configure_logging

    settings = _worker_settings or load_settings()
    configure_logging(settings.log_level)


@worker_process_init.connect
def _load_model(**_: Any) -> None:
    """Runs in each pool process after the fork: its own database connections, and the OCR
    model loaded now rather than on the first page."""
    if _worker_settings is None:  # a worker started by `celery -A`, not `docintake worker`
        return
    init_process(_worker_settings, int(os.environ.get(
        "DOCINTAKE_WORKER_PROCESSES", worker_concurrency(_worker_settings))))


@worker_process_shutdown.connect
def _process_exit(pid: int | None = None, **_: Any) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid or os.getpid())


def run_worker(settings: Settings, *, concurrency: int | None = None, loglevel: str = "INFO",
               hostname: str | None = None) -> None:
    """Run a worker node (blocks): a prefork pool of `concurrency` processes consuming both
    queues."""
    global _worker_settings
    _worker_settings = settings
    processes = concurrency or worker_concurrency(settings)
    os.environ["DOCINTAKE_WORKER_PROCESSES"] = str(processes)
    app = make_celery(settings)
    queues = Queues.of(settings)
    argv = ["worker", f"--concurrency={processes}", "--pool=prefork",
            f"--queues={queues.batches},{queues.pages}", f"--loglevel={loglevel}",
            "--without-gossip", "--without-mingle", "--without-heartbeat"]
    if hostname:
        argv.append(f"--hostname={hostname}")
    app.worker_main(argv)


def __getattr__(name: str) -> Any:
    """`celery -A intake.celery_app worker` finds an app built from the environment."""
    if name in ("app", "celery"):
        global _worker_settings
        _worker_settings = load_settings()
        return make_celery(_worker_settings)
    raise AttributeError(name)
