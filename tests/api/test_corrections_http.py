"""Corrections over HTTP: only reviewing roles may make one, and a reason is required."""

from __future__ import annotations

from typing import Any

from tests.api.conftest import LiveApi
from tests.certificates.packets import ITEM, form, id_card, resident_id
from tests.helpers import text_pdf

GOOD = resident_id(12)
BAD = GOOD[:-1] + ("0" if GOOD[-1] != "0" else "1")


def _card(report: dict[str, Any]) -> dict[str, Any]:
    doc: dict[str, Any] = next(d for d in report["documents"] if d["type"] == "id_card")
    return doc


def _slot(report: dict[str, Any], code: str = "operator_id_card") -> dict[str, Any]:
    slot: dict[str, Any] = next(s for s in report["slots"] if s["code"] == code)
    return slot


def test_only_reviewing_roles_correct_over_http(live_api: LiveApi) -> None:
    with live_api.client("clerk") as clerk:
        case = clerk.post("/cases", json={"item_code": ITEM}).json()
        pdf = text_pdf([form("张三", GOOD), id_card("张三", BAD)])
        batch = clerk.post(f"/cases/{case['id']}/batches",
                           files=[("files", ("p.pdf", pdf, "application/pdf"))]).json()
    assert live_api.wait_for_batch(batch["id"])["status"] == "completed"
    with live_api.client("reviewer") as reviewer:
        card = _card(reviewer.get(f"/cases/{case['id']}/report").json())
        path = f"/cases/{case['id']}/documents/{card['id']}/fields/id_number/correction"
        with live_api.client("clerk") as clerk:
            refused = clerk.post(path, json={"value": GOOD, "reason": "x"})
            assert refused.status_code == 403
        missing = reviewer.post(path, json={"value": GOOD})
        assert missing.status_code == 422
        assert missing.json()["code"] == "correction.reason_required"
        done = reviewer.post(path, json={"value": GOOD, "reason": "原件核对"})
        assert done.status_code == 200, done.text
        assert _slot(done.json())["state"] == "present"
