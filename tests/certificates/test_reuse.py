"""A second case of the same holder reuses the first case's verified certificate; a
revoked or (on the acceptance date) expired certificate is never reused; paper is still
accepted. Through the HTTP API, on SQLite + local directory and PostgreSQL + S3."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import time_machine

from tests.certificates.conftest import CertApi
from tests.certificates.packets import ITEM, packet, resident_id

PURPOSE = {"purpose": "个体工商户登记核验", "case_ref": "SQ-TEST"}


def _report(api: CertApi, case_id: str) -> dict[str, Any]:
    with api.client("reviewer") as reviewer:
        report: dict[str, Any] = reviewer.get(f"/cases/{case_id}/report").json()
    return report


def _case(api: CertApi, pdf: bytes) -> dict[str, Any]:
    with api.client("clerk") as clerk:
        case: dict[str, Any] = clerk.post("/cases", json={"item_code": ITEM}).json()
        batch = clerk.post(f"/cases/{case['id']}/batches",
                           files=[("files", ("packet.pdf", pdf, "application/pdf"))]).json()
    assert api.wait_for_batch(batch["id"])["status"] == "completed"
    with api.client("reviewer") as reviewer:
        report: dict[str, Any] = reviewer.get(f"/cases/{case['id']}/report").json()
    return report


def _slot(report: dict[str, Any], code: str = "operator_id_card") -> dict[str, Any]:
    slot: dict[str, Any] = next(s for s in report["slots"] if s["code"] == code)
    return slot


def test_second_case_reuses_verified_certificate_until_revoked(cert_api: CertApi) -> None:
    holder = resident_id(11)
    first = _case(cert_api, packet("王小明", holder))
    assert _slot(first)["state"] == "present"

    with cert_api.client("system") as system:
        stored = system.get("/certificates", params={"holder_id": holder, **PURPOSE}).json()
    assert len(stored) == 1
    cert = stored[0]
    assert cert["type"] == "id_card" and cert["holder_id"] == holder
    assert cert["verification"] == "auto" and cert["status"] == "valid"
    assert cert["valid_until"] == "2030-01-01" and cert["source_pages"] == [2]
    assert cert["fields"]["id_number"]["page"] == 2  # provenance

    # The holder comes back with only the form: the ID card is reused from the store.
    second = _case(cert_api, packet("王小明", holder, with_id_card=False))
    slot = _slot(second)
    assert slot["state"] == "reused" and slot["certificate"] == cert["id"]
    assert slot["findings"][0]["code"] == "reused"

    # Paper is still accepted when the holder brings it.
    third = _case(cert_api, packet("王小明", holder))
    assert _slot(third)["state"] == "present"

    # Another holder's form does not pick up this certificate.
    other = _case(cert_api, packet("李四", resident_id(12), with_id_card=False))
    assert _slot(other)["state"] == "missing"

    with cert_api.client("admin") as admin:
        revoked = admin.post(f"/certificates/{cert['id']}/revoke", json={"reason": "挂失"})
        assert revoked.status_code == 200 and revoked.json()["status"] == "revoked"
        usage = admin.get(f"/audit/holders/{holder}").json()
    again = _case(cert_api, packet("王小明", holder, with_id_card=False))
    slot = _slot(again)
    assert slot["state"] == "missing" and slot["certificate"] is None
    assert any(f["code"] == "certificate_unusable" for f in slot["findings"])
    # The case that reused it was assessed again when it was revoked: its stored report
    # no longer leans on the certificate. The case it came from was assessed again too.
    second_now = _report(cert_api, second["case_id"])
    assert second_now["assessment"]["reason"] == "certificate_revoked"
    assert _slot(second_now)["state"] == "missing"
    assert _report(cert_api, first["case_id"])["assessment"]["reason"] == "certificate_revoked"
    # The third case had its own paper and never reused it: left as it was.
    assert _report(cert_api, third["case_id"])["assessment"]["reason"] == "batch_completed"
    # The reuse in the second case is on the holder's "who used my certificates" list.
    assert any(u["action"] == "certificate.reuse" and u["case_ref"] for u in usage)
    assert usage[0]["holder_id"] == holder[:4] + "*" * 10 + holder[-4:]  # masked for admins


def test_expired_on_the_acceptance_date_is_never_reused(cert_api: CertApi) -> None:
    holder = resident_id(21)
    _case(cert_api, packet("赵六", holder))  # card valid until 2030-01-01
    # Cases are accepted on the day they arrive: live those days.
    with time_machine.travel(datetime(2029, 12, 31, 9, tzinfo=UTC)):
        before = _case(cert_api, packet("赵六", holder, with_id_card=False))
    with time_machine.travel(datetime(2030, 1, 2, 9, tzinfo=UTC)):
        after = _case(cert_api, packet("赵六", holder, with_id_card=False))
    assert _slot(before)["state"] == "reused"
    assert _slot(after)["state"] == "missing"
    finding = next(f for f in _slot(after)["findings"] if f["code"] == "certificate_unusable")
    assert "2030-01-01" in finding["message"]
    with cert_api.client("system") as system:
        listed = system.get("/certificates", params={
            "holder_id": holder, "as_of": "2030-01-02", **PURPOSE}).json()
    assert [c["status"] for c in listed] == ["expired"]  # never presented as valid
