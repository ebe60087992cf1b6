"""Operational endpoints: probes without a key, metrics only with one."""

from __future__ import annotations

from pathlib import Path

import httpx
from fastapi.testclient import TestClient

from api.app import create_app
from intake.runners import InlineRunner
from intake.runtime import Runtime
from intake.service import Upload
from intake.settings import load_settings
from tests.api.conftest import LiveApi
from tests.helpers import free_port, text_pdf


def test_probes_need_no_key_and_everything_else_still_does(live_api: LiveApi) -> None:
    with httpx.Client(base_url=live_api.base_url, timeout=30) as client:
        assert client.get("/healthz").json() == {"status": "ok"}
        ready = client.get("/readyz")
        assert ready.status_code == 200
        checks = {c["name"]: c["ok"] for c in ready.json()["checks"]}
        assert checks == {"database": True, "objects": True}  # no broker in thread mode
        assert client.get("/api/v1/catalog/items").status_code == 401
        assert client.get("/metrics").status_code == 401
        clerk = {"Authorization": f"Bearer {live_api.keys['clerk']}"}
        assert client.get("/metrics", headers=clerk).status_code == 403


def test_metrics_count_pages_failures_and_stage_durations(live_api: LiveApi) -> None:
    pdf = text_pdf([["个体工商户设立登记申请书", "申请人：王小明"], ["第二页"]])
    with live_api.client("clerk") as c:
        case = c.post("/cases", json={"item_code": "individual-business-registration"}).json()
        batch = c.post(f"/cases/{case['id']}/batches",
                       files=[("files", ("a.pdf", pdf, "application/pdf")),
                              ("files", ("bad.pdf", b"%PDF-1.4 broken", "application/pdf"))])
        assert batch.status_code == 202
    progress = live_api.wait_for_batch(batch.json()["id"])
    assert progress["status"] == "completed"
    assert progress["pages_received"] == progress["pages_ocred"] == 2
    assert progress["pages_classified"] >= 1
    for system in ("admin", "system"):
        with httpx.Client(base_url=live_api.base_url, timeout=30) as client:
            scraped = client.get("/metrics", headers={
                "Authorization": f"Bearer {live_api.keys[system]}"})
        assert scraped.status_code == 200
        text = scraped.text
        assert 'docintake_pages{status="done"} 2.0' in text
        assert 'docintake_batches{status="completed"} 1.0' in text
        assert 'docintake_pages_processed_total{status="done"}' in text
        assert 'docintake_stage_duration_seconds_count{stage="assess"}' in text
        assert 'docintake_stage_duration_seconds_count{stage="read"}' in text
        assert "docintake_queue_depth" not in text  # no broker in thread mode


def test_readyz_names_the_part_that_is_down(tmp_path: Path) -> None:
    port = free_port()  # nothing listens there
    settings = load_settings(data_dir=tmp_path / "data",
                             database_url=f"postgresql+psycopg://127.0.0.1:{port}/none")
    runtime = Runtime.from_settings(settings, migrate=False)
    try:
        client = TestClient(create_app(runtime, InlineRunner(runtime)))  # no lifespan
        ready = client.get("/readyz")
        assert ready.status_code == 503
        checks = {c["name"]: c["ok"] for c in ready.json()["checks"]}
        assert checks == {"database": False, "objects": True}
        assert client.get("/healthz").status_code == 200
    finally:
        runtime.close()


def test_upload_races_with_one_idempotency_key_give_one_batch(tmp_path: Path) -> None:
    """Two requests with the same key at once: the loser gets the winner's batch."""
    import threading

    from intake.service import IntakeService

    class Idle:
        def submit_batch(self, batch_id: str) -> None: ...

        def submit_files(self, batch_id: str) -> None: ...

        def shutdown(self) -> None: ...

    runtime = Runtime.from_settings(load_settings(data_dir=tmp_path / "data"))
    try:
        service = IntakeService(runtime, Idle())
        case = service.create_case("individual-business-registration")
        pdf = text_pdf([["申请书"]])
        ids = []
        barrier = threading.Barrier(2)

        def upload() -> None:
            barrier.wait()
            ids.append(service.upload_batch(case.id, [Upload.from_bytes("a.pdf", pdf)],
                                            idempotency_key="k1").id)

        threads = [threading.Thread(target=upload) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert len(ids) == 2 and ids[0] == ids[1]
        assert len(service.get_case(case.id).batch_ids) == 1
    finally:
        runtime.close()
