"""A real cluster for the worker tests: Celery worker processes (`docintake worker`) on the
Redis of this machine, PostgreSQL (`postgres_url`) and a moto S3 server on 127.0.0.1.

Isolation from anything else using the same Redis: a dedicated database number
(`DOCINTAKE_TEST_REDIS_DB`, default 14) and queue names unique to the run; the run's keys
are deleted afterwards. Nothing here skips: without Redis or PostgreSQL the tests fail.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import redis
from sqlalchemy import create_engine, text

from intake.broker import queue_keys
from intake.runners import CeleryRunner
from intake.runtime import Runtime
from intake.settings import Settings, load_settings

REDIS_DB = int(os.environ.get("DOCINTAKE_TEST_REDIS_DB", "14"))
REDIS_URL = os.environ.get("DOCINTAKE_TEST_REDIS_URL", f"redis://127.0.0.1:6379/{REDIS_DB}")
S3_ACCESS, S3_SECRET = "testing-access", "testing-secret"
BIN = Path(sys.executable).parent


def forget_keys(r: redis.Redis, token: str) -> None:
    """Delete a run's queues and bindings, and its messages taken but never acknowledged
    (kept in Redis-wide hashes that another run's worker would otherwise restore)."""
    for key in r.scan_iter(f"*{token}*"):
        r.delete(key)
    for tag, payload in r.hscan_iter("unacked"):
        if token.encode() in payload:
            r.hdel("unacked", tag)
            r.zrem("unacked_index", tag)


def wait_for(condition: Callable[[], Any], timeout: float, what: str,
             interval: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def kill(self) -> None:
        """SIGKILL the whole process group: the node and its pool processes, as a power
        cut or the OOM killer would."""
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGKILL)
        self.popen.wait(timeout=30)
        _reap_group(self.popen.pid)

    def stop(self) -> None:
        """SIGTERM to the node only, as `docker stop` does: a warm shutdown that lets the
        pool finish its current task; SIGKILL for whatever is left after 20 s."""
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(timeout=10)
        _reap_group(self.popen.pid)


def _reap_group(pgid: int) -> None:
    """Pool processes may outlive their parent for a moment; make sure none is left."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, signal.SIGKILL)
        except ProcessLookupError:
            return
        time.sleep(0.1)


@dataclass
class Cluster:
    env: dict[str, str]
    settings: Settings
    runtime: Runtime
    tmp: Path
    token: str
    procs: list[Proc] = field(default_factory=list)

    def _spawn(self, name: str, args: list[str]) -> Proc:
        log = self.tmp / f"{name}.log"
        handle = log.open("wb")
        popen = subprocess.Popen([str(BIN / "docintake"), *args], env=self.env,
                                 stdout=handle, stderr=subprocess.STDOUT,
                                 start_new_session=True, cwd=self.tmp)
        handle.close()
        proc = Proc(name, popen, log)
        self.procs.append(proc)
        return proc

    def start_worker(self, name: str, *, concurrency: int = 1, wait: bool = True,
                     metrics_port: int | None = None) -> Proc:
        args = ["worker", "--concurrency", str(concurrency), "--hostname", f"{name}@test"]
        if metrics_port:
            args += ["--metrics-port", str(metrics_port)]
        proc = self._spawn(name, args)
        if wait:
            wait_for(lambda: proc.output().count("worker process ready") >= concurrency
                     or proc.popen.poll() is not None, 180, f"{name} to load its model")
            assert proc.popen.poll() is None, f"{name} exited:\n{proc.output()[-3000:]}"
        return proc

    def start_api(self, name: str, port: int) -> Proc:
        import httpx

        proc = self._spawn(name, ["serve", "--host", "127.0.0.1", "--port", str(port)])

        def up() -> bool:
            if proc.popen.poll() is not None:
                raise AssertionError(f"{name} exited:\n{proc.output()[-3000:]}")
            try:
                return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).is_success
            except httpx.HTTPError:
                return False

        wait_for(up, 60, f"{name} to serve")
        return proc

    def redis(self) -> redis.Redis:
        return redis.Redis.from_url(REDIS_URL)

    def queues_drained(self) -> bool:
        r = self.redis()
        waiting = sum(int(r.llen(key)) for q in ("batches", "pages")
                      for key in queue_keys(f"{self.token}.{q}"))
        # `unacked` is shared by every user of this Redis database: count only ours.
        taken = sum(self.token.encode() in value for value in r.hvals("unacked"))
        return waiting == 0 and taken == 0

    def shutdown(self) -> None:
        for proc in self.procs:
            proc.stop()


@pytest.fixture(scope="module")
def cluster(postgres_url: str, s3_endpoint: str,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    token = f"docintake-test-{secrets.token_hex(4)}"
    r = redis.Redis.from_url(REDIS_URL)
    r.ping()  # fail loudly when Redis is not there
    engine = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:  # the session database, schema-clean for this module
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    tmp = tmp_path_factory.mktemp("cluster")
    values = {
        "DOCINTAKE_DATA_DIR": str(tmp / "data"),
        "DOCINTAKE_DATABASE_URL": postgres_url,
        "DOCINTAKE_BROKER_URL": REDIS_URL,
        "DOCINTAKE_TASK_QUEUE": token,
        # A node that vanishes gives its messages back after 8 s instead of 5 minutes.
        "DOCINTAKE_BROKER_VISIBILITY_TIMEOUT": "8",
        "DOCINTAKE_OCR_THREADS": "1",
        "DOCINTAKE_OBJECT_STORE": "s3",
        "DOCINTAKE_S3_ENDPOINT": s3_endpoint,
        "DOCINTAKE_S3_BUCKET": f"{token}-objects",
        "DOCINTAKE_S3_ACCESS_KEY": S3_ACCESS,
        "DOCINTAKE_S3_SECRET_KEY": S3_SECRET,
        "DOCINTAKE_S3_SECURE": "false",
        "DOCINTAKE_S3_REGION": "us-east-1",
        "DOCINTAKE_S3_CREATE_BUCKET": "true",
        "DOCINTAKE_LOG_LEVEL": "INFO",
    }
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCINTAKE_")}
    env.update(values)
    settings = load_settings(**{k.removeprefix("DOCINTAKE_").lower(): v
                                for k, v in values.items()})
    assert settings.task_mode == "celery"
    runtime = Runtime.from_settings(settings)  # migrates the database, creates the bucket
    cluster = Cluster(env=env, settings=settings, runtime=runtime, tmp=tmp, token=token)
    try:
        yield cluster
    finally:
        cluster.shutdown()
        runtime.close()
        forget_keys(r, token)
        r.close()


@pytest.fixture
def celery_runtime(tmp_path: Path) -> Iterator[tuple[Runtime, CeleryRunner, redis.Redis]]:
    """The Celery tasks run in this process against the real Redis, on queues unique to
    the test: a runtime, a runner publishing to those queues, and the Redis client."""
    from intake import celery_tasks
    from intake.pipeline import Pipeline

    token = f"docintake-test-{secrets.token_hex(4)}"
    settings = load_settings(data_dir=tmp_path / "data", broker_url=REDIS_URL,
                             task_queue=token, task_max_retries=3)
    runtime = Runtime.from_settings(settings)
    runner = CeleryRunner(runtime, sweep=False)
    r = redis.Redis.from_url(REDIS_URL)
    saved = dict(celery_tasks._process)
    celery_tasks._process.update(runtime=runtime,
                                 pipeline=Pipeline(runtime, raise_transient=True))
    try:
        yield runtime, runner, r
    finally:
        celery_tasks._process.clear()
        celery_tasks._process.update(saved)
        runner.shutdown()
        runtime.close()
        forget_keys(r, token)
        r.close()
