"""Scanner stations over HTTP with the real pipeline: cover sheets printed from the API,
scanned back in a stack between two applicants' packets (blank backs everywhere, as a
duplex scan of simplex pages gives), and each case's report is what the packet would get
uploaded on its own: the cover sheets are no material, blank backs neither split a
document nor count as one."""

from __future__ import annotations

import io
import time
from pathlib import Path
from typing import Any

import img2pdf
import numpy as np
import pytest
from PIL import Image

from intake.coversheet import cover_payload
from ocr.sources import open_source
from samples import build_packet
from tests.api.conftest import LiveApi
from tests.intake.stackkit import blank_back, copied, material_page, raster, with_qr

DPI = 200


def _pages(files: list[Path]) -> list[np.ndarray]:
    out = []
    for path in files:
        with open_source(path.read_bytes(), path.name, dpi=DPI) as source:
            out += [source.render_page(i).image for i in range(source.page_count)]
    return out


def _pdf(pages: list[np.ndarray]) -> bytes:
    encoded = []
    for page in pages:
        buffer = io.BytesIO()
        Image.fromarray(page).save(buffer, "PNG")
        encoded.append(buffer.getvalue())
    layout = img2pdf.get_fixed_dpi_layout_fun((DPI, DPI))
    out = img2pdf.convert(encoded, layout_fun=layout)
    assert out is not None
    return out


def _wait_stack(live: LiveApi, stack_id: str, timeout: float = 300) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    with live.client("admin") as c:
        while True:
            body: dict[str, Any] = c.get(f"/stacks/{stack_id}").json()
            if body["status"] == "completed" or time.monotonic() > deadline:
                return body
            time.sleep(0.3)


def test_cover_sheets_are_for_clerks_and_name_their_case(live_api: LiveApi) -> None:
    with live_api.client("clerk") as clerk:
        case = clerk.post("/cases", json={"item_code": "food-business-license"}).json()
        sheet = clerk.get(f"/cases/{case['id']}/cover-sheet.pdf")
        assert sheet.status_code == 200 and sheet.headers["content-type"] == "application/pdf"
        assert case["number"] in sheet.headers["content-disposition"]
        missing = clerk.get("/cases/nope/cover-sheet.pdf")
        assert missing.status_code == 404 and missing.json()["code"] == "case.not_found"
    with live_api.client("reviewer") as reviewer:
        assert reviewer.get(f"/cases/{case['id']}/cover-sheet.pdf").status_code == 403
        assert reviewer.get("/inbox").status_code == 403
    with live_api.client() as anonymous:
        assert anonymous.get(f"/cases/{case['id']}/cover-sheet.pdf").status_code == 401
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(sheet.content)
    text = doc[0].get_textpage().get_text_range()
    assert len(doc) == 1 and case["number"] in text and "食品经营许可证核发" in text
    for slot in ("食品经营许可申请书", "营业执照", "食品安全管理制度"):
        assert slot in text
    from ocr.barcodes import read_qr_codes

    codes = {c.text for c in read_qr_codes(raster(sheet.content))}
    assert codes == {cover_payload(case["number"],
                                   live_api.runtime.settings.cover_sheet_secret
                                   .get_secret_value())}


@pytest.mark.ocr
def test_a_scanned_stack_feeds_each_case_what_its_packet_would(live_api: LiveApi,
                                                                tmp_path: Path) -> None:
    packets = [build_packet("company-complete-no-agent", tmp_path / "a", seed=5),
               build_packet("individual-committed", tmp_path / "b", seed=6)]
    # An admin: the packets' acceptance dates lie in the past (clerks may not back-date).
    with live_api.client("admin") as clerk:
        cases = [clerk.post("/cases", json={
            "item_code": p.item_code, "acceptance_date": p.acceptance_date.isoformat()}).json()
            for p in packets]
        sheets = [raster(clerk.get(f"/cases/{c['id']}/cover-sheet.pdf").content, DPI)
                  for c in cases]
    secret = live_api.runtime.settings.cover_sheet_secret.get_secret_value()
    mac_a = cover_payload(cases[0]["number"], secret).rsplit(":", 1)[1]
    forged = with_qr(sheets[0], f"DOCINTAKE:COVER:1:{cases[1]['number']}:{mac_a}", DPI)

    stack = [material_page("L1", 1), copied(sheets[0], seed=1, turn=180), blank_back(2)]
    for n, page in enumerate(_pages(packets[0].files)):
        stack += [page, blank_back(10 + n)]  # every sheet scanned duplex
    stack += [copied(sheets[1], seed=2, turn=90, generations=2, skew_degrees=3.0)]
    stack += _pages(packets[1].files)
    stack += [copied(forged, seed=3), material_page("F1", 4)]
    with live_api.client("admin") as clerk:
        posted = clerk.post("/stacks", files=[("files", ("stack.pdf", _pdf(stack)))],
                            headers={"Idempotency-Key": "station-1:0001"})
        assert posted.status_code == 202, posted.text
    body = _wait_stack(live_api, posted.json()["id"])
    assert body["status"] == "completed"
    assert body["pages_total"] == len(stack) and len(body["cover_sheets"]) == 3
    fed = {c["case_id"]: c for c in body["cases"]}
    assert fed[cases[0]["id"]]["pages"] == 2 * packets[0].page_count + 1
    assert fed[cases[1]["id"]]["pages"] == packets[1].page_count
    assert [(p["sequence"], p["reason_code"]) for p in body["inbox"]] == [
        (1, "stack.no_cover_sheet"), (len(stack), "cover.forged")]

    for case, packet in zip(cases, packets, strict=True):
        for batch_id in fed[case["id"]]["batch_ids"]:
            assert live_api.wait_for_batch(batch_id, timeout=600)["status"] == "completed"
        with live_api.client("admin") as clerk:
            report = clerk.get(f"/cases/{case['id']}/report").json()
        states = {slot["code"]: slot["state"] for slot in report["slots"]}
        assert states == packet.expected_states, case["number"]
        assert report["status"] == packet.expected_status
        documents = report["documents"]
        assert len(documents) == len(packet.documents)
        # blank backs are never part of a document; documents keep their pages together
        for doc, truth in zip(sorted(documents, key=lambda d: d["pages"][0]),
                              sorted(packet.documents, key=lambda d: d.pages[0]),
                              strict=True):
            assert doc["type"] == truth.material_type
            assert len(doc["pages"]) == len(truth.pages)

    # The inbox holds the two pages, and one goes to its case by hand.
    with live_api.client("admin") as clerk:
        inbox = clerk.get("/inbox").json()
        assert inbox["total"] == 2
        leading = inbox["pages"][0]
        done = clerk.post(f"/inbox/{leading['id']}/attach", json={"case_id": cases[1]["id"]})
        assert done.status_code == 200 and done.json()["case_id"] == cases[1]["id"]
        again = clerk.post(f"/inbox/{leading['id']}/attach", json={"case_id": cases[0]["id"]})
        assert again.status_code == 409 and again.json()["code"] == "inbox.page_not_held"
        assert clerk.get("/inbox").json()["total"] == 1
        bad = clerk.post("/inbox/nope/attach", json={"case_id": cases[0]["id"]})
        assert bad.status_code == 404 and bad.json()["code"] == "inbox.page_not_found"
