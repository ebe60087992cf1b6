"""The archive copy is wired into the batch pipeline: after assessment, the batch's PDF is
in the object store, with the original scan embedded and the OCR text searchable."""

from __future__ import annotations

import io

import pikepdf
import pypdfium2 as pdfium

from intake.pipeline import archive_key
from intake.runners import InlineRunner
from intake.service import IntakeService, Upload
from tests.helpers import text_pdf
from tests.ocr.pagekit import RIC, draw_page, encode


def test_batch_archive_is_stored_after_assessment(runtime, engine):
    scan, _ = draw_page([("公民身份号码 " + RIC, (140, 200))], size=(1240, 500))
    jpeg = encode(scan, "JPEG", quality=85, dpi=(150, 150))
    digital = text_pdf([["营业执照", "统一社会信用代码 91350211MA2Y1234XN"]])
    service = IntakeService(runtime, InlineRunner(runtime))
    case = service.create_case(next(iter(runtime.catalog.items)))
    progress = service.upload_batch(case.id, [Upload.from_bytes("id.jpg", jpeg),
                                              Upload.from_bytes("licence.pdf", digital)])
    assert progress.status == "completed"
    pdf = runtime.objects.get(archive_key(progress.id))
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        assert len(doc.pages) == 2
        images = [img for page in doc.pages for img in page.get_images().values()]
        assert images[0].read_raw_bytes() == jpeg
    document = pdfium.PdfDocument(pdf)
    texts = {document[i].get_textpage().get_text_range().replace(" ", "")
             for i in range(len(document))}
    assert any(RIC in t for t in texts) and any("营业执照" in t for t in texts)
