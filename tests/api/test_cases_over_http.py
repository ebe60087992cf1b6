"""A clerk's path through the API: create a case, upload a batch, follow it, read the report
and print the one-time notification."""

from __future__ import annotations

import io

import pypdfium2

from tests.api.conftest import LiveApi
from tests.helpers import text_pdf

APPLICATION_FORM = [
    "个体工商户设立登记申请书",
    "申请事项：个体工商户设立登记",
    "申请人：王小明",
    "身份证号码：11010519491231002X",
    "联系电话：13800138000",
    "经营场所：北京市朝阳区建国路88号",
    "申请日期：2026年11月2日",
]


def _pdf_text(data: bytes) -> str:
    document = pypdfium2.PdfDocument(data)
    return "".join(page.get_textpage().get_text_range() for page in document)


def test_upload_batch_report_and_notification(live_api: LiveApi) -> None:
    form = text_pdf([APPLICATION_FORM])
    with live_api.client("clerk") as clerk:
        case = clerk.post("/cases", json={"item_code": "individual-business-registration"}
                          ).json()
        files = [
            ("files", ("form.pdf", form, "application/pdf")),
            ("files", ("form-again.pdf", form, "application/pdf")),
            ("files", ("broken.pdf", b"%PDF-1.7\n garbage that is not a pdf", "application/pdf")),
            ("files", ("empty.jpg", b"", "image/jpeg")),
        ]
        accepted = clerk.post(f"/cases/{case['id']}/batches", files=files,
                              headers={"Idempotency-Key": "window-1-0001"})
        assert accepted.status_code == 202
        batch_id = accepted.json()["id"]

        # The client retries after a dropped connection: same key, same batch.
        retry = clerk.post(f"/cases/{case['id']}/batches", files=files[:1],
                           headers={"Idempotency-Key": "window-1-0001"})
        assert retry.status_code == 202 and retry.json()["id"] == batch_id

    progress = live_api.wait_for_batch(batch_id)
    assert progress["status"] == "completed"
    outcomes = {f["filename"]: f for f in progress["files"]}
    assert outcomes["form.pdf"]["outcome"] == "accepted"
    assert outcomes["form.pdf"]["pages"] == 1
    assert outcomes["form-again.pdf"]["outcome"] == "duplicate"
    assert outcomes["broken.pdf"]["status"] == "failed"
    assert outcomes["broken.pdf"]["error_code"].startswith("file.")
    assert "(" in outcomes["broken.pdf"]["error_message"]  # bilingual clerk message
    assert outcomes["empty.jpg"]["outcome"] == "rejected"
    assert outcomes["empty.jpg"]["error_code"] == "file.empty"
    assert progress["pages_total"] == 1 and progress["pages_read"] == 1

    with live_api.client("reviewer") as reviewer:
        report = reviewer.get(f"/cases/{case['id']}/report").json()
        notice = reviewer.get(f"/cases/{case['id']}/notification.pdf")
        again = reviewer.get(f"/cases/{case['id']}/report").json()
    # served as stored: the assessment the batch made, the same on every read
    assert report["assessment"]["reason"] == "batch_completed"
    assert again == report
    states = {s["code"]: s["state"] for s in report["slots"]}
    assert states["application_form"] == "present"
    assert states["operator_id_card"] == "missing"
    assert report["status"] == "incomplete"
    assert report["case_number"] == case["number"]
    form_doc = next(d for d in report["documents"] if d["type"] == "application_form")
    assert form_doc["pages"] == [1]
    assert any(u["source"] == "broken.pdf" for u in report["unreadable"])

    assert notice.status_code == 200
    assert notice.headers["content-type"] == "application/pdf"
    text = _pdf_text(notice.content)
    assert case["number"] in text
    assert "个体工商户设立登记" in text
    operator_slot = next(s for s in report["slots"] if s["code"] == "operator_id_card")
    assert operator_slot["name"] in text


def test_reuploading_the_same_scan_adds_no_pages(live_api: LiveApi) -> None:
    form = text_pdf([APPLICATION_FORM])
    with live_api.client("clerk") as clerk:
        case = clerk.post("/cases", json={"item_code": "individual-business-registration"}
                          ).json()
        first = clerk.post(f"/cases/{case['id']}/batches",
                           files=[("files", ("a.pdf", io.BytesIO(form), "application/pdf"))])
        live_api.wait_for_batch(first.json()["id"])
        second = clerk.post(f"/cases/{case['id']}/batches",
                            files=[("files", ("renamed.pdf", io.BytesIO(form), "application/pdf"))])
        progress = live_api.wait_for_batch(second.json()["id"])
        report = clerk.get(f"/cases/{case['id']}/report").json()
    assert progress["files"][0]["outcome"] == "duplicate"
    assert progress["files"][0]["file_id"] == first.json()["files"][0]["file_id"]
    assert progress["pages_total"] == 0
    assert [d["pages"] for d in report["documents"]] == [[1]]
