"""The query API for other systems, through HTTP with real keys: scopes, purpose and
case_ref, masking, scans (stream or presigned URL), revocation, and the audit log."""

from __future__ import annotations

import threading
from datetime import date
from typing import Any

import httpx
import pytest
from pydantic import TypeAdapter
from sqlalchemy import event, func, select

from api.schemas_certificates import CertificatePublic
from storage.audit import verify_chain
from storage.cases import CaseRepository
from storage.certificates import CertificateRegistry, NewCertificate
from storage.models import AuditEntry
from tests.certificates.conftest import ApiFactory, CertApi
from tests.certificates.packets import ITEM, packet, resident_id

PURPOSE = {"purpose": "食品经营许可审查", "case_ref": "SQ20261102-ABC"}
CREDIT_CODE = "91350100M000100Y43"


def _seed(api: CertApi, holder: str) -> dict[str, str]:
    """Direct registry inserts: an ID card of `holder`, a licence of a company."""
    with api.runtime.database.session() as session:
        reg = CertificateRegistry(session)
        card, _ = reg.add(NewCertificate(
            material_type="id_card", type_name="居民身份证", number=holder, holder_name="王小明",
            holder_id=holder, holder_id_type="id_number", verification="reviewer",
            verified_by="r", valid_until=date(2035, 1, 1),
            fields={"id_number": {"value": holder, "confidence": 0.99, "page": 1}}))
        lic, _ = reg.add(NewCertificate(
            material_type="business_license", type_name="营业执照", number=CREDIT_CODE,
            holder_name="福州某某餐饮有限公司", holder_id=CREDIT_CODE,
            holder_id_type="credit_code", verification="reviewer", verified_by="r",
            valid_until=None))
        return {"card": card.id, "licence": lic.id}


def _case_naming(api: CertApi, holder: str) -> str:
    """A case of the clerk whose stored report read `holder` from an ID card: the holder
    is a party to it. Returns its number."""
    with api.runtime.database.session() as session:
        repo = CaseRepository(session)
        case = repo.create_case(
            item_code=ITEM, acceptance_date=date.today(), created_by=api.key_ids["clerk"])
        repo.add_assessment(
            case, report={"status": "incomplete", "documents": [
                {"id": "d1", "type": "id_card",
                 "fields": {"id_number": {"value": holder, "valid": True}}}], "slots": []},
            catalog_version="", inputs={}, inputs_digest="", reason="test", actor="test",
            applicant_name=None)
        return case.number


def _audit(api: CertApi, **params: Any) -> list[dict[str, Any]]:
    with api.client("admin") as admin:
        response = admin.get("/audit", params=params)
    assert response.status_code == 200
    entries: list[dict[str, Any]] = response.json()
    return entries


def test_system_key_needs_purpose_sees_only_its_scopes_and_is_audited(
        cert_api: CertApi) -> None:
    holder = resident_id(31)
    ids = _seed(cert_api, holder)
    with cert_api.client("system") as system:  # scoped to id_card
        refused = system.get("/certificates", params={"holder_id": holder})
        no_case = system.get("/certificates", params={"holder_id": holder,
                                                      "purpose": "核验"})
        ok = system.get("/certificates", params={"holder_id": holder, **PURPOSE})
        other_type = system.get("/certificates", params={
            "holder_id": CREDIT_CODE, "type": "business_license", **PURPOSE})
        unscoped_list = system.get("/certificates", params={"holder_id": CREDIT_CODE,
                                                            **PURPOSE})
        hidden = system.get(f"/certificates/{ids['licence']}", params=PURPOSE)
        missing = system.get("/certificates/no-such-id", params=PURPOSE)
        detail = system.get(f"/certificates/{ids['card']}", params=PURPOSE)
    for response in (refused, no_case):
        assert response.status_code == 422
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["code"] == "certificate.purpose_required"
    assert ok.status_code == 200
    assert [c["id"] for c in ok.json()] == [ids["card"]]
    assert ok.json()[0]["holder_id"] == holder  # a system key asking by holder sees it
    assert other_type.status_code == 403
    assert other_type.json()["code"] == "certificate.scope_denied"
    assert unscoped_list.json() == []
    # Out of scope is indistinguishable from absent.
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json()["code"] == missing.json()["code"] == "certificate.not_found"
    assert detail.status_code == 200 and detail.json()["fields"]["id_number"]["page"] == 1

    with cert_api.client("system_all") as wide:
        both = wide.get(f"/certificates/{ids['licence']}", params=PURPOSE)
    assert both.status_code == 200 and both.json()["valid_until"] is None

    entries = _audit(cert_api, key=cert_api.key_ids["system"])
    assert len(entries) == 8  # every query, refused ones included
    results = sorted((e["action"], e["result"]) for e in entries)
    assert results == sorted([
        ("certificate.search", "invalid"), ("certificate.search", "invalid"),
        ("certificate.search", "ok"), ("certificate.search", "denied"),
        ("certificate.search", "ok"), ("certificate.read", "denied"),
        ("certificate.read", "not_found"), ("certificate.read", "ok")])
    good = next(e for e in entries if e["action"] == "certificate.search"
                and e["result"] == "ok" and e["holder_id"] and e["holder_id"][4] == "*")
    assert good["purpose"] == PURPOSE["purpose"] and good["case_ref"] == PURPOSE["case_ref"]
    assert holder not in str(entries)  # the admin list masks holder IDs
    assert len(_audit(cert_api, holder_id=holder)) >= 3
    assert _audit(cert_api, since="2999-01-01T00:00:00Z") == []


def test_a_system_lookup_binds_its_case_without_loading_the_report(cert_api: CertApi
                                                                   ) -> None:
    holder = resident_id(33)
    ids = _seed(cert_api, holder)
    statements: list[str] = []

    def note(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        statements.append(statement)

    engine = cert_api.runtime.database.engine
    event.listen(engine, "before_cursor_execute", note)
    try:
        with cert_api.client("system") as system:
            ok = system.get("/certificates", params={"holder_id": holder, **PURPOSE})
    finally:
        event.remove(engine, "before_cursor_execute", note)
    assert ok.status_code == 200 and [c["id"] for c in ok.json()] == [ids["card"]]
    case_reads = [s for s in statements if "FROM cases" in s]
    assert case_reads and not any("cases.report" in s for s in case_reads)


def test_a_lookup_answers_exactly_what_the_public_schema_would(cert_api: CertApi) -> None:
    holder = resident_id(34)
    _seed(cert_api, holder)
    with cert_api.runtime.database.session() as session:  # a licence of the same holder
        CertificateRegistry(session).add(NewCertificate(
            material_type="business_license", type_name="营业执照", number=CREDIT_CODE,
            holder_name="王小明", holder_id=holder, holder_id_type="id_number",
            verification="reviewer", verified_by="r", issuer="某某市市场监督管理局",
            issue_date=date(2020, 3, 1), valid_from=date(2020, 3, 1),
            valid_until=date(2040, 2, 29), source_pages=[2, 3],
            fields={"credit_code": {"value": CREDIT_CODE, "confidence": 0.97, "page": 2,
                                    "box": [1, 2, 3, 4]}}))
    with cert_api.client("system_all") as system:
        response = system.get("/certificates", params={"holder_id": holder, **PURPOSE})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.headers["cache-control"] == "no-store"
    # Serialised from the views without building the models: the same bytes as the
    # models' own serialisation, and every item valid against the schema.
    schema = TypeAdapter(list[CertificatePublic])
    answered = schema.validate_json(response.content)
    assert [c.type for c in answered] == ["business_license", "id_card"]  # latest end first
    assert schema.dump_json(answered) == response.content
    assert answered[0].verified_at.tzinfo is not None and answered[0].source_pages == [2, 3]


def test_each_lookup_answers_only_after_its_audit_entry_is_durable(
        cert_api: CertApi) -> None:
    holder = resident_id(35)
    _seed(cert_api, holder)
    database = cert_api.runtime.database
    unseen: list[str] = []

    def client(n: int) -> None:
        with cert_api.client("system") as system:
            for i in range(5):
                purpose = f"{PURPOSE['purpose']}: request {n}.{i}"
                response = system.get("/certificates", params={
                    "holder_id": holder, "purpose": purpose, "case_ref": PURPOSE["case_ref"]})
                assert response.status_code == 200
                # The moment the answer arrives, any other connection sees the entry.
                with database.reading() as conn:
                    if not conn.scalar(select(func.count()).where(
                            AuditEntry.action == "certificate.search",
                            AuditEntry.purpose == purpose)):
                        unseen.append(purpose)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert unseen == []
    with database.session() as session:
        state = verify_chain(session)
    assert state.broken is None and state.count >= 30


def test_roles_masking_revocation_and_audit_access(cert_api: CertApi) -> None:
    holder = resident_id(41)
    ids = _seed(cert_api, holder)
    query = {"holder_id": holder, **PURPOSE}
    party_case = _case_naming(cert_api, holder)
    by_case = {"holder_id": holder, "case_ref": party_case}
    with cert_api.client("clerk") as clerk:
        stranger = clerk.get("/certificates", params=query)
        masked = clerk.get("/certificates", params=by_case).json()
        clerk_revoke = clerk.post(f"/certificates/{ids['card']}/revoke",
                                  json={"reason": "x"})
        clerk_file = clerk.get(f"/certificates/{ids['card']}/file", params=PURPOSE)
    with cert_api.client("reviewer") as reviewer:
        full = reviewer.get("/certificates", params=by_case).json()
        reviewer_audit = reviewer.get("/audit")
    with cert_api.client("system") as system:
        system_audit = system.get("/audit")
        system_revoke = system.post(f"/certificates/{ids['card']}/revoke",
                                    json={"reason": "x"})
    with httpx.Client(base_url=cert_api.base_url + "/api/v1") as anonymous:
        assert anonymous.get("/certificates", params=query).status_code == 401
        assert anonymous.get("/audit").status_code == 401
    # Staff ask only about parties to a case of theirs: not by an arbitrary ID number.
    assert stranger.status_code == 403
    assert stranger.json()["code"] == "certificate.not_a_party"
    assert masked[0]["holder_id"] == holder[:4] + "*" * 10 + holder[-4:]
    assert holder not in str(masked)
    assert full[0]["holder_id"] == holder
    assert clerk_revoke.status_code == system_revoke.status_code == 403
    assert clerk_file.status_code == 403
    assert reviewer_audit.status_code == system_audit.status_code == 403

    with cert_api.client("admin") as admin:
        revoked = admin.post(f"/certificates/{ids['card']}/revoke", json={"reason": "吊销"})
        after = admin.get(f"/certificates/{ids['card']}", params=PURPOSE).json()
    assert revoked.status_code == 200
    assert after["status"] == "revoked" and after["revoke_reason"] == "吊销"
    denied = [e for e in _audit(cert_api, action="certificate.revoke")]
    assert sorted(e["result"] for e in denied) == ["denied", "denied", "ok"]


def test_reviewer_verifies_a_document_and_the_scan_is_served(
        api_factory: ApiFactory, deployment: dict[str, Any]) -> None:
    api = api_factory(auto_verify_types=[])  # reviewers only
    holder = resident_id(51)
    with api.client("clerk") as clerk:
        case = clerk.post("/cases", json={"item_code": ITEM}).json()
        batch = clerk.post(f"/cases/{case['id']}/batches", files=[
            ("files", ("p.pdf", packet("王小明", holder), "application/pdf"))]).json()
    api.wait_for_batch(batch["id"])
    with api.client("system") as system:
        assert system.get("/certificates", params={"holder_id": holder, **PURPOSE}
                          ).json() == []  # not verified automatically
    with api.client("reviewer") as reviewer:
        report = reviewer.get(f"/cases/{case['id']}/report").json()
        card = next(d for d in report["documents"] if d["type"] == "id_card")
        form = next(d for d in report["documents"] if d["type"] == "application_form")
        stale = reviewer.post(f"/cases/{case['id']}/documents/{card['id']}/verify",
                              json={"pages": [7]})
        not_a_cert = reviewer.post(f"/cases/{case['id']}/documents/{form['id']}/verify")
        first = reviewer.post(f"/cases/{case['id']}/documents/{card['id']}/verify",
                              json={"pages": card["pages"]})
        second = reviewer.post(f"/cases/{case['id']}/documents/{card['id']}/verify")
    with api.client("clerk") as clerk:
        assert clerk.post(f"/cases/{case['id']}/documents/{card['id']}/verify"
                          ).status_code == 403
    assert stale.status_code == 409 and stale.json()["code"] == "document.changed"
    assert not_a_cert.status_code == 422
    assert first.status_code == 201 and second.status_code == 200
    cert = first.json()
    assert second.json()["id"] == cert["id"]
    assert cert["verification"] == "reviewer" and cert["verified_by"] == "test reviewer"
    assert cert["source_case_id"] == case["id"] and cert["has_scan"]
    with api.client("reviewer") as reviewer:
        # the new certificate is an input of the case: it was assessed again, once
        assessed = reviewer.get(f"/cases/{case['id']}/report").json()["assessment"]
    assert assessed["reason"] == "certificate_verified"
    assert assessed["actor"] == "test reviewer"

    with api.client("system") as system:
        no_purpose = system.get(f"/certificates/{cert['id']}/file")
        response = system.get(f"/certificates/{cert['id']}/file", params=PURPOSE)
    assert no_purpose.status_code == 422
    if deployment.get("object_store") == "s3":
        assert response.status_code == 307
        url = response.headers["location"]
        assert "X-Amz-Signature" in url and "X-Amz-Expires=60" in url
        scan = httpx.get(url).content  # no API key: the URL itself is the permission
    else:
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/pdf"
        scan = response.content
    import pypdfium2

    document = pypdfium2.PdfDocument(scan)
    assert len(document) == 1  # only the certificate's page, not the whole packet
    assert holder in document[0].get_textpage().get_text_range()
    files = _audit(api, action="certificate.file")
    assert sorted(e["result"] for e in files) == ["invalid", "ok"]
    assert next(e for e in files if e["result"] == "ok")["detail"]["delivery"] == (
        "presigned" if deployment.get("object_store") == "s3" else "stream")


@pytest.mark.parametrize("deployment", ["production"], indirect=True)
def test_expire_sweep_is_admin_only(cert_api: CertApi) -> None:
    with cert_api.runtime.database.session() as session:
        CertificateRegistry(session).add(NewCertificate(
            material_type="id_card", type_name="居民身份证", number="X", holder_name="x",
            holder_id=resident_id(61), holder_id_type="id_number", verification="reviewer",
            verified_by="r", valid_until=date(2020, 1, 1)))
    with cert_api.client("reviewer") as reviewer:
        assert reviewer.post("/certificates/expire").status_code == 403
    with cert_api.client("admin") as admin:
        assert admin.post("/certificates/expire").json() == {"expired": 1}
        listed = admin.get("/certificates", params={"holder_id": resident_id(61),
                                                    "as_of": "2019-01-01", **PURPOSE})
    assert listed.json()[0]["status"] == "expired"
