"""Cancelling a batch over HTTP: admin only, then the batch completes with what it has."""

from __future__ import annotations

import httpx

from tests.api.conftest import LiveApi
from tests.intake.test_runners import stored_batch


def test_only_an_admin_may_cancel_over_http(live_api: LiveApi) -> None:
    _, batch_id = stored_batch(live_api.runtime, 2, "申请书")
    for role in ("clerk", "reviewer", "system"):
        with live_api.client(role) as client:
            assert client.post(f"/batches/{batch_id}/cancel").status_code == 403
    with httpx.Client(base_url=live_api.base_url + "/api/v1") as anonymous:
        assert anonymous.post(f"/batches/{batch_id}/cancel").status_code == 401
    with live_api.client("admin") as client:
        response = client.post(f"/batches/{batch_id}/cancel")
        assert response.status_code == 200, response.text
        assert response.json()["id"] == batch_id
        assert client.post("/batches/nope/cancel").status_code == 404
        assert live_api.wait_for_batch(batch_id, timeout=60)["status"] == "completed"
        again = client.post(f"/batches/{batch_id}/cancel")
        assert again.status_code == 409 and again.json()["code"] == "batch.finished"
