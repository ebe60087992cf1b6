"""Hostile files uploaded together with a good one, through the service and the pipeline:
each hostile file fails with its own code (for the file, or for each of its pages), the
good file is read, and the batch completes."""

from __future__ import annotations

from pathlib import Path

from intake.runners import InlineRunner
from intake.runtime import Runtime
from intake.service import IntakeService, Upload
from intake.settings import load_settings
from storage.cases import CaseRepository
from tests.helpers import text_pdf
from tests.ocr import hostile

MIB = 1024 * 1024


def test_a_batch_of_hostile_files_completes_with_each_its_own_code(tmp_path: Path) -> None:
    # One CPU-second per PDF page, so that the heavy pages are stopped quickly.
    settings = load_settings(data_dir=tmp_path / "data", task_mode="inline",
                             page_cpu_seconds=1)
    runtime = Runtime.from_settings(settings)
    try:
        service = IntakeService(runtime, InlineRunner(runtime))
        case = service.create_case("company-establishment")
        uploads = [
            Upload.from_bytes("申请书.pdf", text_pdf([["公司设立登记申请书", "申请人：王小明"]])),
            Upload.from_bytes("bomb.pdf", hostile.flate_bomb_pdf(64 * MIB)),
            Upload.from_bytes("scan.png", hostile.png_pixel_bomb(12_000, 12_000)),
            Upload.from_bytes("heavy.pdf", hostile.heavy_text_pdf(pages=4, operators=800_000)),
            Upload.from_bytes("材料.zip", hostile.zip_of({"a.pdf": b"%PDF-1.7"})),
            Upload.from_bytes("材料.docx", hostile.docx()),
            Upload.from_bytes("证照.ofd", hostile.ofd()),
            Upload.from_bytes("login.pdf", hostile.html_named_pdf()),
            Upload.from_bytes("pages.pdf", hostile.many_pages_pdf(5000)),
        ]
        progress = service.upload_batch(case.id, uploads)
        assert progress.status == "completed"
        files = {f.filename: f for f in progress.files}
        assert files["材料.zip"].error_code == "file.archive_unsupported"
        assert files["材料.docx"].error_code == "file.document_unsupported"
        assert files["证照.ofd"].error_code == "file.document_unsupported"
        assert files["login.pdf"].error_code == "file.unsupported_format"
        assert files["pages.pdf"].error_code == "file.too_many_pages"
        with runtime.database.session() as session:
            pages = {(p.file.filename, p.index_in_file): (p.status, p.error_code)
                     for p in CaseRepository(session).pages_of_batch(progress.id)}
        assert pages[("申请书.pdf", 1)] == ("done", None)
        assert pages[("bomb.pdf", 1)] == ("failed", "page.content_too_large")
        assert pages[("bomb.pdf", 2)] == ("done", None)  # the rest of the file is read
        assert pages[("scan.png", 1)] == ("failed", "page.too_many_pixels")
        assert [pages[("heavy.pdf", n)] for n in range(1, 5)] == \
            [("failed", "page.too_complex")] * 4
        report = service.case_report(case.id)
        assert {u["code"] for u in report["unreadable"]} >= {
            "page.content_too_large", "page.too_many_pixels", "page.too_complex",
            "file.archive_unsupported", "file.document_unsupported"}
    finally:
        runtime.close()
