"""Notices as records and the applicant's progress query over HTTP, on a real server, at
chosen dates: each transition's notice is numbered per center and year, stored once and
downloaded byte-identical; the progress query shows no personal data and throttles guessing;
every transition leaves its event in the outbox."""

from __future__ import annotations

import hashlib
import io
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pypdfium2 as pdfium
import time_machine

from storage.audit import AuditLog
from storage.outbox import Outbox
from tests.api.conftest import LiveApi
from tests.helpers import text_pdf

SHANGHAI = ZoneInfo("Asia/Shanghai")
APPLICANT = "段强军"
ID_NUMBER = "11010519491231002X"


def at(year: int, month: int, day: int, hour: int = 10) -> Any:
    return time_machine.travel(datetime(year, month, day, hour, tzinfo=SHANGHAI), tick=False)


def pdf_text(data: bytes) -> str:
    document = pdfium.PdfDocument(io.BytesIO(data))
    try:
        return "\n".join(page.get_textpage().get_text_range() for page in document)
    finally:
        document.close()


def _case_with_a_form(live_api: LiveApi, clerk: httpx.Client) -> str:
    """A food-licence case whose only material is a born-digital application form naming
    the applicant: every other slot is missing."""
    case_id = clerk.post("/cases", json={"item_code": "food-business-license"}).json()["id"]
    form = text_pdf([["食品经营许可申请书", f"申请人：{APPLICANT}", f"法定代表人：{APPLICANT}",
                      f"身份证号码：{ID_NUMBER}", "联系电话：13800138000",
                      "经营场所：福州市鼓楼区五四路 100 号"]])
    batch = clerk.post(f"/cases/{case_id}/batches",
                       files=[("files", ("form.pdf", form, "application/pdf"))]).json()
    live_api.wait_for_batch(batch["id"])
    return case_id


def test_returning_a_case_issues_a_one_time_notice_kept_byte_identical(live_api: LiveApi
                                                                       ) -> None:
    clerk = live_api.client("clerk")
    with at(2026, 3, 2):
        case_id = _case_with_a_form(live_api, clerk)
        returned = clerk.post(f"/cases/{case_id}/return", json={"reason": "材料不齐"})
        assert returned.status_code == 200, returned.text
        issued = returned.json()["event"]["notices"]
        assert [n["kind"] for n in issued] == ["one_time"]
        assert issued[0]["number"] == "〔2026〕第000001号"
        assert returned.json()["query_code"] is None
    listed = clerk.get(f"/cases/{case_id}/notices").json()
    assert [n["id"] for n in listed] == [issued[0]["id"]]
    notice = listed[0]
    to_bring = notice["content"]["to_bring"]
    assert {s["slot"] for s in to_bring} >= {"business_license", "legal_rep_id_card"}
    assert all(s["reasons"] for s in to_bring)
    # 10 working days after Monday 2 March 2026
    assert notice["content"]["supplement_due"] == "2026-03-16"

    first = clerk.get(f"/notices/{notice['id']}.pdf")
    with at(2027, 1, 5):  # later, in another year, after the catalog could have changed
        second = clerk.get(f"/notices/{notice['id']}.pdf")
    assert first.status_code == 200 and first.headers["content-type"] == "application/pdf"
    assert first.content == second.content
    assert hashlib.sha256(first.content).hexdigest() == notice["sha256"]
    text = pdf_text(first.content)
    assert "一次性告知书" in text and "〔2026〕第000001号" in text
    assert "第三十二条" in text and "2026年3月16日" in text
    for slot in to_bring:
        assert slot["name"] in text
    assert "咨询电话" in text and "办理窗口" in text


def test_acceptance_gives_a_query_code_once_and_progress_shows_no_personal_data(
        live_api: LiveApi) -> None:
    clerk = live_api.client("clerk")
    public = httpx.Client(base_url=live_api.base_url + "/api/v1", timeout=60)
    with at(2026, 3, 2):
        case_id = _case_with_a_form(live_api, clerk)
        accepted = clerk.post(f"/cases/{case_id}/accept").json()
        code = accepted["query_code"]
        assert code and len(code) == 8
        number = clerk.get(f"/cases/{case_id}").json()["number"]
        notice = accepted["event"]["notices"][0]
        assert notice["kind"] == "acceptance"
        pdf = clerk.get(f"/notices/{notice['id']}.pdf").content
        assert code in pdf_text(pdf)  # printed for the applicant
        content = clerk.get(f"/cases/{case_id}/notices").json()[0]["content"]
        assert code not in str(content) and content["query_code_issued"] is True
        with live_api.runtime.database.session() as session:
            from storage.cases import CaseRepository

            stored = CaseRepository(session).get_case(case_id)
            assert stored is not None and code not in (stored.query_code_hash or "")
        # the code is shown once: the case view does not carry it
        assert code not in clerk.get(f"/cases/{case_id}").text

        answer = public.get("/progress", params={"number": number, "code": code.lower()})
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["state"] == "accepted" and body["light"] == "green"
        assert body["committed_due"] and body["next_step"]
        for secret in (APPLICANT, ID_NUMBER, "13800138000", "五四路", case_id):
            assert secret not in answer.text


def _public(live_api: LiveApi, address: str) -> httpx.Client:
    """An applicant's client, from its own loopback address."""
    return httpx.Client(base_url=live_api.base_url + "/api/v1", timeout=60,
                        transport=httpx.HTTPTransport(local_address=address))


def test_guessing_codes_is_throttled_per_client_and_per_case_and_audited(live_api: LiveApi
                                                                        ) -> None:
    clerk = live_api.client("clerk")
    kiosk, phone = _public(live_api, "127.0.0.1"), _public(live_api, "127.0.0.2")
    with at(2026, 3, 2) as clock:
        case_id = clerk.post("/cases", json={"item_code": "food-business-license"}).json()["id"]
        code = clerk.post(f"/cases/{case_id}/accept").json()["query_code"]
        number = clerk.get(f"/cases/{case_id}").json()["number"]
        unknown = kiosk.get("/progress", params={"number": "SQ20260302-000000", "code": code})
        assert unknown.status_code == 404  # an unknown case looks like a wrong code
        wrong = [kiosk.get("/progress", params={"number": number, "code": "AAAAAAAA"})
                 for _ in range(4)]
        assert [r.status_code for r in wrong] == [404] * 4
        assert wrong[0].json()["code"] == "progress.not_found"
        # the kiosk's address failed five times: refused, even with the right code
        throttled = kiosk.get("/progress", params={"number": number, "code": code})
        assert throttled.status_code == 429
        assert int(throttled.headers["Retry-After"]) > 0
        assert throttled.json()["code"] == "progress.too_many_attempts"
        # the case has four failures; one more from another address closes it for everyone
        assert phone.get("/progress", params={"number": number, "code": "BBBBBBBB"}
                         ).status_code == 404
        assert phone.get("/progress", params={"number": number, "code": code}
                         ).status_code == 429
        clock.shift(timedelta(minutes=16))
        assert phone.get("/progress", params={"number": number, "code": code}
                         ).status_code == 200
    with live_api.runtime.database.session() as session:
        entries = AuditLog(session).entries(actions=["progress.query"], limit=50)
    results = sorted(e.result for e in entries)
    assert results.count("not_found") == 6 and results.count("denied") == 2
    assert results.count("ok") == 1
    assert all(e.holder_id is None and e.purpose is None for e in entries)
    assert len({e.detail["client"] for e in entries if e.detail}) == 2  # two tags, no IPs
    assert all("127.0.0" not in str(e.detail) for e in entries)


def test_refusal_and_tolerant_acceptance_notices_and_numbering(live_api: LiveApi) -> None:
    clerk = live_api.client("clerk")
    with at(2026, 12, 30):
        first = clerk.post("/cases", json={"item_code": "food-business-license"}).json()["id"]
        refused = clerk.post(f"/cases/{first}/refuse",
                             json={"reason": "申请事项不属于本机关职权范围"}).json()
        refusal = refused["event"]["notices"][0]
        assert (refusal["kind"], refusal["number"]) == ("refusal", "〔2026〕第000001号")
        second = clerk.post("/cases", json={"item_code": "food-business-license"}).json()["id"]
        tolerant = clerk.post(f"/cases/{second}/accept", json={"outstanding": [
            {"slot": "premises_layout", "due_on": "2027-01-08",
             "commitment": "承诺于期限内补交平面布局图"}]}).json()
        assert tolerant["state"] == "accepted_tolerant"
        assert tolerant["event"]["notices"][0]["number"] == "〔2026〕第000002号"
    with at(2027, 1, 4):
        third = clerk.post("/cases", json={"item_code": "food-business-license"}).json()["id"]
        returned = clerk.post(f"/cases/{third}/return").json()
        assert returned["event"]["notices"][0]["number"] == "〔2027〕第000001号"
    text = pdf_text(clerk.get(f"/notices/{refusal['id']}.pdf").content)
    assert "不予受理通知书" in text and "申请事项不属于本机关职权范围" in text
    assert "行政复议" in text and "行政诉讼" in text
    notice = clerk.get(f"/cases/{second}/notices").json()[0]
    assert notice["kind"] == "tolerant"
    assert notice["content"]["outstanding"][0]["due_on"] == "2027-01-08"
    assert "2027年1月8日" in pdf_text(clerk.get(f"/notices/{notice['id']}.pdf").content)
    assert clerk.get("/notices/00000000-0000-0000-0000-000000000000.pdf").status_code == 404
    with live_api.runtime.database.session() as session:
        kinds = [e.kind for e in Outbox(session).of_case(first)]
        assert kinds == ["case.refused"]
        assert [e.kind for e in Outbox(session).of_case(second)] == ["case.accepted"]
        payload = Outbox(session).of_case(second)[0].payload
        assert payload["notices"] == ["〔2026〕第000002号"] and "case_number" in payload
