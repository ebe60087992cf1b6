"""No page lost, none processed twice: real worker processes killed with SIGKILL mid-page,
and an API killed mid-upload, on Redis, PostgreSQL and S3 (moto) on this machine.

"Processed once" is checked in the database itself: a trigger installed for the test logs
every write of a page's final result and every completion of a batch, so a result written
twice (or a batch assessed twice) shows up even if the second write stored the same data.
"""

from __future__ import annotations

import os
import signal
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from intake.queues import ASSESS, READ, SPLIT
from intake.runners import CeleryRunner
from intake.service import IntakeService, Upload
from samples import build_packet
from storage.apikeys import create_api_key
from storage.cases import CaseRepository
from storage.models import Assessment, Batch, Page
from tests.helpers import free_port
from tests.workers.conftest import Cluster, wait_for

pytestmark = pytest.mark.ocr

FINISHED = ("done", "blank", "failed")

WRITE_LOG = [
    "CREATE TABLE IF NOT EXISTS test_page_writes (page_id varchar(36), status varchar(20))",
    "CREATE TABLE IF NOT EXISTS test_batch_completions (batch_id varchar(36))",
    """CREATE OR REPLACE FUNCTION test_log_page_write() RETURNS trigger AS $$
       BEGIN
         IF NEW.status IN ('done', 'blank', 'failed') AND (
             OLD.status IS DISTINCT FROM NEW.status OR OLD.ocr::text IS DISTINCT FROM
             NEW.ocr::text) THEN
           INSERT INTO test_page_writes VALUES (NEW.id, NEW.status);
         END IF;
         RETURN NEW;
       END $$ LANGUAGE plpgsql""",
    """CREATE OR REPLACE FUNCTION test_log_completion() RETURNS trigger AS $$
       BEGIN
         IF NEW.status = 'completed' THEN
           INSERT INTO test_batch_completions VALUES (NEW.id);
         END IF;
         RETURN NEW;
       END $$ LANGUAGE plpgsql""",
    "DROP TRIGGER IF EXISTS test_page_writes ON pages",
    """CREATE TRIGGER test_page_writes AFTER UPDATE ON pages FOR EACH ROW
       EXECUTE FUNCTION test_log_page_write()""",
    "DROP TRIGGER IF EXISTS test_batch_completions ON batches",
    """CREATE TRIGGER test_batch_completions AFTER UPDATE ON batches FOR EACH ROW
       EXECUTE FUNCTION test_log_completion()""",
]


@pytest.fixture(autouse=True)
def write_log(cluster: Cluster) -> None:
    with cluster.runtime.database.engine.begin() as conn:
        for statement in WRITE_LOG:
            conn.execute(text(statement))


def _writes(cluster: Cluster, batch_id: str) -> Counter[str]:
    with cluster.runtime.database.engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT w.page_id FROM test_page_writes w JOIN pages p ON p.id = w.page_id "
            "WHERE p.batch_id = :b"), {"b": batch_id})
        return Counter(r[0] for r in rows)


def _completions(cluster: Cluster, batch_id: str) -> int:
    with cluster.runtime.database.engine.connect() as conn:
        return int(conn.execute(text(
            "SELECT count(*) FROM test_batch_completions WHERE batch_id = :b"),
            {"b": batch_id}).scalar_one())


def _pages(cluster: Cluster, batch_id: str) -> list[Page]:
    with cluster.runtime.database.session() as session:
        return CaseRepository(session).pages_of_batch(batch_id)


def _snapshot(cluster: Cluster, batch_id: str, case_id: str) -> dict[str, Any]:
    with cluster.runtime.database.session() as session:
        repo = CaseRepository(session)
        batch = repo.get_batch(batch_id)
        assert batch is not None
        return {
            "pages": [(p.id, p.status, p.sequence, p.updated_at, p.material_type)
                      for p in repo.pages_of_batch(batch_id)],
            "assessments": [a.id for a in repo.assessments_of_case(case_id)],
            "finished_at": batch.finished_at,
            "writes": _writes(cluster, batch_id),
            "completions": _completions(cluster, batch_id),
        }


def _metric(port: int, sample: str) -> float:
    """The sum of the samples of a worker node's /metrics that start with `sample`."""
    body = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    return sum(float(line.split()[-1]) for line in body.splitlines()
               if line.startswith(sample))


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _tasks_done(log: str, task: str) -> int:
    """Tasks a worker finished, from its log (Celery's "Task name[id] succeeded" lines)."""
    return sum(1 for line in log.splitlines() if f"Task {task}[" in line and "succeeded" in line)


def test_a_worker_killed_mid_page_loses_no_page_and_duplicates_none(
    cluster: Cluster, tmp_path: Path
) -> None:
    company = build_packet("company-complete-no-agent", tmp_path / "company", seed=5)
    extra = build_packet("individual-committed", tmp_path / "extra", seed=5)
    expected_pages = company.page_count + extra.page_count
    assert expected_pages >= 8
    uploads = [Upload.from_bytes(f"{p.parent.name}-{p.name}", p.read_bytes())
               for p in [*company.files, *extra.files]]

    runner = CeleryRunner(cluster.runtime, sweep=False)
    service = IntakeService(cluster.runtime, runner)
    try:
        worker_a = cluster.start_worker("a")
        case = service.create_case(company.item_code, acceptance_date=company.acceptance_date)
        batch = service.upload_batch(case.id, uploads)

        def in_the_middle_of_a_page() -> list[str]:
            # A page whose OCR began a moment ago (a page takes seconds): the kill lands
            # well before its result could be written.
            pages = _pages(cluster, batch.id)
            now = datetime.now(UTC)
            finished = [p for p in pages if p.status in FINISHED]
            reading = [p.id for p in pages if p.status == "prepared"
                       and now - _aware(p.updated_at) < timedelta(seconds=0.5)]
            return reading if finished and reading else []

        victims = wait_for(in_the_middle_of_a_page, 180, "worker a to be mid-page",
                           interval=0.1)
        worker_a.kill()
        after_kill = {p.id: p.status for p in _pages(cluster, batch.id)}
        # killed mid-page: the page it was reading has no result
        assert [after_kill[v] for v in victims] == ["prepared"] * len(victims)
        assert len(after_kill) == expected_pages
        assert sum(s in FINISHED for s in after_kill.values()) < expected_pages
        progress = service.batch_progress(batch.id)
        assert progress.status == "processing"
        assert progress.pages_received == expected_pages
        assert progress.pages_preprocessed >= progress.pages_read >= 1

        finished_by_a = sum(s in FINISHED for s in after_kill.values())
        ports = {"b": free_port(), "c": free_port()}
        worker_b = cluster.start_worker("b", wait=False, metrics_port=ports["b"])
        worker_c = cluster.start_worker("c", wait=False, metrics_port=ports["c"])
        wait_for(lambda: service.batch_progress(batch.id).finished, 300,
                 "the batch to complete on workers b and c", interval=0.5)

        progress = service.batch_progress(batch.id)
        assert progress.status == "completed"
        assert progress.pages_total == expected_pages
        assert progress.pages_failed == 0
        assert progress.pages_read == expected_pages
        assert progress.pages_preprocessed == expected_pages
        assert 0 < progress.pages_classified <= expected_pages

        pages = _pages(cluster, batch.id)
        assert len(pages) == expected_pages  # no gap, no duplicate row
        assert len({(p.file_id, p.index_in_file) for p in pages}) == expected_pages
        assert sorted(p.sequence for p in pages) == list(range(1, expected_pages + 1))
        assert all(p.ocr is not None and p.ocr["lines"] for p in pages)
        writes = _writes(cluster, batch.id)
        assert writes == Counter({p.id: 1 for p in pages}), "a page's result written twice"
        assert all(writes[v] == 1 for v in victims)
        # The victims came back marked as redelivered, and were counted (a page whose
        # worker dies at every try is failed after three, `intake.celery_tasks`).
        r = cluster.redis()
        assert all(int(r.get(f"{cluster.token}:redeliveries:{v}") or 0) >= 1
                   for v in victims)
        assert _completions(cluster, batch.id) == 1
        with cluster.runtime.database.session() as session:
            current = CaseRepository(session).current_assessment(case.id)
            assert current is not None and current.reason == "batch_completed"
            documents = current.report["documents"]
            covered = [n for d in documents for n in d["pages"]]
        assert documents and len(covered) == len(set(covered))  # no page in two documents

        # the pages of the batch ran in parallel on both surviving workers
        done_b = _tasks_done(worker_b.output(), READ)
        done_c = _tasks_done(worker_c.output(), READ)
        assert done_b >= 1 and done_c >= 1, (done_b, done_c)

        # the workers' own metrics agree: b and c wrote exactly the pages a had not
        written = {name: _metric(port, "docintake_pages_processed_total{")
                   for name, port in ports.items()}
        assert sum(written.values()) == expected_pages - finished_by_a, written
        assert all(_metric(port, 'docintake_stage_duration_seconds_count{stage="ocr"}') >= 1
                   for port in ports.values())
        assert all(_metric(port, "docintake_pages_processed_total{") >= 1
                   for port in ports.values())

        # Redelivery of everything, twice over: nothing changes.
        before = _snapshot(cluster, batch.id, case.id)
        runner.app.send_task(SPLIT, args=[batch.id])
        for page in pages:
            runner.app.send_task(READ, args=[page.id, batch.id])
            runner.app.send_task(READ, args=[page.id, batch.id])
        runner.app.send_task(ASSESS, args=[batch.id])
        wait_for(lambda: _tasks_done(worker_b.output() + worker_c.output(), READ)
                 >= done_b + done_c + 2 * len(pages), 120, "the redelivered reads")
        wait_for(cluster.queues_drained, 60, "the queues to drain")
        assert _snapshot(cluster, batch.id, case.id) == before
        for proc in (worker_b, worker_c):
            assert proc.popen.poll() is None, proc.output()[-3000:]
    finally:
        runner.shutdown()


def _multipart(files: list[Path], boundary: str) -> bytes:
    parts = [
        (f'--{boundary}\r\nContent-Disposition: form-data; name="files"; '
         f'filename="{p.name}"\r\nContent-Type: application/octet-stream\r\n\r\n').encode()
        + p.read_bytes() + b"\r\n"
        for p in files
    ]
    return b"".join(parts) + f"--{boundary}--\r\n".encode()


def test_an_api_restarted_during_an_upload_ends_with_one_batch(
    cluster: Cluster, tmp_path: Path
) -> None:
    if not any(p.popen.poll() is None for p in cluster.procs if p.name != "api"):
        cluster.start_worker("d", wait=False)
    with cluster.runtime.database.session() as session:
        clerk = create_api_key(session, role="clerk", name="window 3")[1]
        admin = create_api_key(session, role="admin", name="ops")[1]
    port = free_port()
    api = cluster.start_api("api", port)
    base = f"http://127.0.0.1:{port}"
    auth = {"Authorization": f"Bearer {clerk}"}
    packet = build_packet("individual-committed", tmp_path / "scans", seed=8)
    boundary = "docintake-boundary-7f3a"
    body = _multipart(packet.files, boundary)
    headers = {**auth, "Idempotency-Key": "window3-2024-0001",
               "Content-Type": f"multipart/form-data; boundary={boundary}",
               "Content-Length": str(len(body))}

    with httpx.Client(base_url=base, timeout=60) as client:
        # today's date: only admins may back-date, and this test is about the upload
        case = client.post("/api/v1/cases", headers=auth, json={"item_code": packet.item_code})
        assert case.status_code == 201, case.text
        case_id = case.json()["id"]

        half_sent, killed = threading.Event(), threading.Event()

        def slow_body() -> Any:
            yield body[: len(body) // 2]
            half_sent.set()
            killed.wait(30)
            yield body[len(body) // 2:]

        failure: list[BaseException] = []

        def first_attempt() -> None:
            try:
                client.post(f"/api/v1/cases/{case_id}/batches", headers=headers,
                            content=slow_body())
            except httpx.HTTPError as exc:
                failure.append(exc)

        attempt = threading.Thread(target=first_attempt)
        attempt.start()
        assert half_sent.wait(30)
        api.kill()  # the API dies with half the upload on the wire
        killed.set()
        attempt.join(30)
        assert failure, "the interrupted upload should have failed on the client"
        with cluster.runtime.database.session() as session:
            # The files that had arrived were stored and read; their batch is still
            # receiving, and never assessed: the retry supersedes it.
            cut_off = session.query(Batch).filter_by(case_id=case_id).all()
            assert all(b.status == "receiving" for b in cut_off)

        cluster.start_api("api-restarted", port)
        retried = client.post(f"/api/v1/cases/{case_id}/batches", headers=headers,
                              content=body)
        assert retried.status_code == 202, retried.text
        batch_id = retried.json()["id"]
        # and once more, as a client that never saw the answer would
        again = client.post(f"/api/v1/cases/{case_id}/batches", headers=headers, content=body)
        assert again.status_code == 202 and again.json()["id"] == batch_id

        def finished() -> dict[str, Any] | None:
            body = client.get(f"/api/v1/batches/{batch_id}", headers=auth).json()
            return body if body["status"] in ("completed", "failed") else None

        progress = wait_for(finished, 240, "the retried batch to complete", interval=0.5)
        assert progress["status"] == "completed"
        assert progress["pages_received"] == progress["pages_read"] == packet.page_count
        assert progress["pages_classified"] >= 1

        ready = client.get("/readyz")
        assert ready.status_code == 200, ready.text
        assert {c["name"] for c in ready.json()["checks"]} == {"database", "objects", "broker"}
        assert client.get("/metrics").status_code == 401
        scraped = client.get("/metrics", headers={"Authorization": f"Bearer {admin}"})
        assert scraped.status_code == 200
        assert f'docintake_queue_depth{{queue="{cluster.token}.pages"}}' in scraped.text
        assert 'docintake_batches{status="completed"}' in scraped.text

    with cluster.runtime.database.session() as session:
        batches = session.query(Batch).filter_by(case_id=case_id).all()
        assert [b.id for b in batches] == [batch_id]
        assert session.query(Page).filter_by(batch_id=batch_id).count() == packet.page_count
        assert session.query(Assessment).filter_by(case_id=case_id,
                                                   reason="batch_completed").count() == 1
    writes = _writes(cluster, batch_id)
    assert len(writes) == packet.page_count and set(writes.values()) == {1}


def _pool_processes(node_pid: int) -> list[int]:
    """The pool processes of a worker node: its children."""
    children = Path(f"/proc/{node_pid}/task/{node_pid}/children").read_text().split()
    return [int(pid) for pid in children]


def test_a_pool_process_killed_while_the_other_is_busy_is_replaced(
    cluster: Cluster, tmp_path: Path
) -> None:
    """A replacement pool process loads its model (seconds, on a busy machine) before it
    reports ready; the node must wait for it rather than kill it and try again."""
    packet = build_packet("company-complete-no-agent", tmp_path / "pool", seed=9)
    uploads = [Upload.from_bytes(p.name, p.read_bytes()) for p in packet.files]
    runner = CeleryRunner(cluster.runtime, sweep=False)
    service = IntakeService(cluster.runtime, runner)
    try:
        node = cluster.start_worker("pool", concurrency=2)
        pool = _pool_processes(node.popen.pid)
        assert len(pool) == 2
        case = service.create_case(packet.item_code, acceptance_date=packet.acceptance_date)
        batch = service.upload_batch(case.id, uploads)

        def both_reading() -> bool:
            pages = _pages(cluster, batch.id)
            return (any(p.status in FINISHED for p in pages)
                    and sum(p.status == "prepared" for p in pages) >= 1)

        wait_for(both_reading, 180, "the pool to be reading pages", interval=0.1)
        victim = pool[0]
        os.kill(victim, signal.SIGKILL)
        wait_for(lambda: node.output().count("worker process ready") >= 3, 180,
                 "a replacement pool process to load its model")
        wait_for(lambda: service.batch_progress(batch.id).finished, 300,
                 "the batch to complete", interval=0.5)

        replaced = _pool_processes(node.popen.pid)
        assert len(replaced) == 2 and victim not in replaced, (pool, replaced)
        assert "Timed out waiting for UP message" not in node.output()
        progress = service.batch_progress(batch.id)
        assert progress.status == "completed" and progress.pages_failed == 0
        assert progress.pages_read == packet.page_count
        pages = _pages(cluster, batch.id)
        assert _writes(cluster, batch.id) == Counter({p.id: 1 for p in pages})
        assert _completions(cluster, batch.id) == 1
        assert node.popen.poll() is None
    finally:
        runner.shutdown()
