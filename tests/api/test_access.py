"""Who may see what, over HTTP with two service centers: centers are walls (404, never
403), clerks change only the cases they handle, reviewers see what is routed to them or to
their center, the one masking policy holds in every response a clerk gets, typed facts
never satisfy a slot, and every certificate lookup is audited with the key that caused it."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.api.centers import SYSTEM_PURPOSE, TwoCenters, two_centers
from tests.certificates.packets import ITEM, packet, resident_id

FULL_ID = re.compile(r"(?<!\d)\d{17}[\dX](?!\d)")


@pytest.fixture
def centers(tmp_path: Path) -> Iterator[TwoCenters]:
    yield from two_centers(tmp_path)


def _open_case(api: TwoCenters, who: str, pdf: bytes | None = None,
               **body: Any) -> dict[str, Any]:
    with api.client(who) as c:
        response = c.post("/cases", json={"item_code": ITEM, **body})
        assert response.status_code == 201, response.text
        case: dict[str, Any] = response.json()
        if pdf is not None:
            batch = c.post(f"/cases/{case['id']}/batches",
                           files=[("files", ("packet.pdf", pdf, "application/pdf"))])
            assert batch.status_code == 202, batch.text
            assert api.wait_for_batch(batch.json()["id"])["status"] == "completed"
            case["batch_id"] = batch.json()["id"]
    return case


def _slot(report: dict[str, Any], code: str = "operator_id_card") -> dict[str, Any]:
    slot: dict[str, Any] = next(s for s in report["slots"] if s["code"] == code)
    return slot


def test_a_center_never_sees_another_centers_case(centers: TwoCenters) -> None:
    case = _open_case(centers, "a.clerk", packet("王小明", resident_id(1)))
    paths = [f"/cases/{case['id']}", f"/cases/{case['id']}/report",
             f"/cases/{case['id']}/notification.pdf", f"/batches/{case['batch_id']}"]
    for who in ("b.clerk", "b.reviewer", "b.admin"):
        with centers.client(who) as other:
            for path in paths:
                response = other.get(path)
                assert response.status_code == 404, (who, path)
                assert response.json()["code"] in ("case.not_found", "batch.not_found")
            upload = other.post(f"/cases/{case['id']}/batches",
                                files=[("files", ("x.pdf", b"%PDF-1.4", "application/pdf"))])
            assert upload.status_code == 404 or (who == "b.reviewer"
                                                 and upload.status_code == 403)
    # The same answers as for a case that does not exist: existence does not leak.
    with centers.client("b.clerk") as other:
        assert other.get("/cases/no-such-case").json()["code"] == "case.not_found"
    for who in ("a.clerk", "a.clerk2", "a.reviewer", "a.admin", "global"):
        with centers.client(who) as own:
            assert own.get(f"/cases/{case['id']}/report").status_code == 200, who


def test_clerks_change_only_the_cases_they_handle(centers: TwoCenters) -> None:
    case = _open_case(centers, "a.clerk")
    files = [("files", ("form.pdf", packet("王小明", resident_id(2), with_id_card=False),
                        "application/pdf"))]
    with centers.client("a.clerk2") as colleague:
        assert colleague.get(f"/cases/{case['id']}").status_code == 200  # reads: same center
        refused = colleague.post(f"/cases/{case['id']}/batches", files=files)
    assert refused.status_code == 403 and refused.json()["code"] == "case.not_yours"
    with centers.client("a.admin") as admin:
        handed = admin.post(f"/cases/{case['id']}/assignment",
                            json={"handler_key_id": centers.key_ids["a.clerk2"]})
        wrong_center = admin.post(f"/cases/{case['id']}/assignment",
                                  json={"handler_key_id": centers.key_ids["b.clerk"]})
    assert handed.status_code == 200
    assert wrong_center.status_code == 422
    with centers.client("a.clerk2") as colleague:
        assert colleague.post(f"/cases/{case['id']}/batches", files=files).status_code == 202
    with centers.client("a.clerk") as opener:
        assert opener.post(f"/cases/{case['id']}/batches", files=files).status_code == 403
    audit = _audit(centers, "global", action="case.assign")
    assert [e["key_id"] for e in audit] == [centers.key_ids["a.admin"]]


def test_reviewers_see_what_is_routed_to_them_or_their_center(centers: TwoCenters) -> None:
    case = _open_case(centers, "a.clerk")
    for who in ("a.reviewer", "a.reviewer2"):
        with centers.client(who) as reviewer:
            assert reviewer.get(f"/cases/{case['id']}").status_code == 200
    with centers.client("a.clerk") as clerk:
        routed = clerk.post(f"/cases/{case['id']}/assignment",
                            json={"reviewer_key_id": centers.key_ids["a.reviewer2"]})
    assert routed.status_code == 200
    with centers.client("a.reviewer") as reviewer:
        assert reviewer.get(f"/cases/{case['id']}").status_code == 404
    with centers.client("a.reviewer2") as reviewer:
        assert reviewer.get(f"/cases/{case['id']}").status_code == 200
    with centers.client("a.admin") as admin:
        assert admin.post(f"/cases/{case['id']}/assignment",
                          json={"unroute": True}).status_code == 200
    with centers.client("a.reviewer") as reviewer:
        assert reviewer.get(f"/cases/{case['id']}").status_code == 200


def test_a_key_without_a_center_works_in_the_default_center(centers: TwoCenters) -> None:
    case = _open_case(centers, "default.clerk")
    with centers.client("a.admin") as admin:
        assert admin.get(f"/cases/{case['id']}").status_code == 404
    with centers.client("global") as admin:
        assert admin.get(f"/cases/{case['id']}").status_code == 200


def _audit(api: TwoCenters, who: str, **params: Any) -> list[dict[str, Any]]:
    with api.client(who) as admin:
        response = admin.get("/audit", params=params)
    assert response.status_code == 200, response.text
    entries: list[dict[str, Any]] = response.json()
    return entries


def test_clerks_never_get_a_full_id_number(centers: TwoCenters) -> None:
    holder = resident_id(3)
    case = _open_case(centers, "a.clerk", packet("王小明", holder),
                      facts={"note": f"申请人身份证 {holder}"})
    with centers.client("a.clerk") as clerk:
        accepted = clerk.post(f"/cases/{case['id']}/accept",
                              json={"reason": f"核对身份证 {holder}"})
        assert accepted.status_code == 200, accepted.text
        bodies = [accepted.text, clerk.get(f"/cases/{case['id']}/events").text,
                  clerk.get(f"/cases/{case['id']}/notices").text,
                  clerk.get(f"/cases/{case['id']}/report").text,
                  clerk.get(f"/cases/{case['id']}").text,
                  clerk.get(f"/batches/{case['batch_id']}").text,
                  clerk.get(f"/cases/{holder}").text]  # an error echoing the input
    for body in bodies:
        assert holder not in body and not FULL_ID.search(body), body[:300]
    report = json.loads(bodies[3])
    card = next(d for d in report["documents"] if d["type"] == "id_card")
    assert card["fields"]["id_number"]["value"] == holder[:4] + "*" * 10 + holder[-4:]
    assert card["fields"]["birth_date"]["value"] is None  # it rebuilds the masked digits
    assert "建国路" not in json.dumps(report, ensure_ascii=False)  # no full address
    with centers.client("a.reviewer") as reviewer:
        full = reviewer.get(f"/cases/{case['id']}/report").json()
    card = next(d for d in full["documents"] if d["type"] == "id_card")
    assert card["fields"]["id_number"]["value"] == holder


def test_a_masked_certificate_does_not_lead_back_to_the_number(centers: TwoCenters) -> None:
    holder = resident_id(4)
    first = _open_case(centers, "a.clerk", packet("王小明", holder))  # auto-verified card
    # The holder comes to center B: B's clerk opens a case with the form only.
    other = _open_case(centers, "b.clerk", packet("王小明", holder, with_id_card=False))
    with centers.client("b.clerk") as clerk:
        report = clerk.get(f"/cases/{other['id']}/report").json()
        cert_id = _slot(report)["certificate"]
        assert _slot(report)["state"] == "reused"
        cert = clerk.get(f"/certificates/{cert_id}", params={"case_ref": other["number"]})
    assert cert.status_code == 200, cert.text
    body = cert.json()
    assert holder not in cert.text and not FULL_ID.search(cert.text)
    assert body["source_case_id"] is None  # A's case: B's clerk may not open it
    assert "birth_date" not in body["fields"] and "address" not in body["fields"]
    assert holder[6:14] not in cert.text  # the birth date, in any field
    with centers.client("b.clerk") as clerk:
        assert clerk.get(f"/cases/{first['id']}/report").status_code == 404


def test_typed_facts_never_satisfy_a_slot(centers: TwoCenters) -> None:
    holder = resident_id(5)
    _open_case(centers, "a.clerk", packet("王小明", holder))  # the card enters the store
    # A clerk names that person in typed facts, with no paper at all.
    case = _open_case(centers, "a.clerk2", packet("李四", resident_id(6), with_id_card=False),
                      facts={"application_form.applicant_id": holder,
                             "applicant_id": holder})
    with centers.client("a.clerk2") as clerk:
        report = clerk.get(f"/cases/{case['id']}/report").json()
    assert _slot(report)["state"] != "reused"
    assert _slot(report)["certificate"] is None
    typed = report["typed_facts"]
    assert typed["evidence"] is False
    assert typed["typed_by"]["key_id"] == centers.key_ids["a.clerk2"]
    assert holder not in json.dumps(report)  # the typed number is masked for the clerk too


def test_every_certificate_lookup_is_audited_with_the_causing_key(
        centers: TwoCenters) -> None:
    holder = resident_id(7)
    _open_case(centers, "a.clerk", packet("王小明", holder))
    second = _open_case(centers, "a.clerk2", packet("王小明", holder, with_id_card=False))
    entries = _audit(centers, "global", holder_id=holder)
    lookups = [e for e in entries if e["action"] == "certificate.lookup"]
    assert {e["key_id"] for e in lookups} >= {centers.key_ids["a.clerk"],
                                             centers.key_ids["a.clerk2"]}
    assert {e["result"] for e in lookups} == {"ok", "not_found"}  # hits and misses
    reuse = [e for e in entries if e["action"] == "certificate.reuse"]
    assert [(e["key_id"], e["case_ref"]) for e in reuse] == [
        (centers.key_ids["a.clerk2"], second["number"])]
    assert all(e["key_id"] is not None for e in lookups + reuse)  # never "the service"
    # A center's admin sees its own keys' entries only.
    assert all(e["key_id"] in {centers.key_ids[k] for k in centers.key_ids
                               if k.startswith("a.")}
               for e in _audit(centers, "a.admin"))
    assert _audit(centers, "b.admin", holder_id=holder) == []


def test_staff_query_the_store_only_about_parties_to_their_cases(
        centers: TwoCenters) -> None:
    holder, stranger = resident_id(8), resident_id(9)
    case = _open_case(centers, "a.clerk", packet("王小明", holder))
    with centers.client("a.clerk") as clerk:
        own = clerk.get("/certificates", params={"holder_id": holder,
                                                 "case_ref": case["number"]})
        oracle = clerk.get("/certificates", params={"holder_id": stranger,
                                                    "case_ref": case["number"]})
        free_text = clerk.get("/certificates", params={"holder_id": holder,
                                                       "case_ref": "anything",
                                                       "purpose": "x"})
    assert own.status_code == 200 and len(own.json()) == 1
    assert oracle.status_code == 403 and oracle.json()["code"] == "certificate.not_a_party"
    assert free_text.status_code == 422
    with centers.client("b.clerk") as other:
        foreign = other.get("/certificates", params={"holder_id": holder,
                                                     "case_ref": case["number"]})
    assert foreign.status_code == 422 and foreign.json()["code"] == \
        "certificate.case_ref_invalid"
    with centers.client("a.system") as system:
        declared = system.get("/certificates", params={
            "holder_id": holder, "case_ref": case["number"], "purpose": SYSTEM_PURPOSE})
        undeclared = system.get("/certificates", params={
            "holder_id": holder, "case_ref": case["number"], "purpose": "x"})
        unknown_case = system.get("/certificates", params={
            "holder_id": holder, "case_ref": "x", "purpose": SYSTEM_PURPOSE})
    with centers.client("b.system") as system:
        other_center = system.get("/certificates", params={
            "holder_id": holder, "case_ref": case["number"], "purpose": SYSTEM_PURPOSE})
    assert declared.status_code == 200 and declared.json()[0]["holder_id"] == holder
    assert undeclared.status_code == 403
    assert unknown_case.status_code == other_center.status_code == 422
    refused = [e for e in _audit(centers, "global", action="certificate.search")
               if e["result"] != "ok"]
    assert len(refused) == 6  # every refusal audited, with its key
    assert all(e["key_id"] is not None for e in refused)
