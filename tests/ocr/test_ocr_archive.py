"""The searchable archive PDF: scans embedded as they are, OCR text invisible on top,
findable by pdfium where the reader saw it. No OCR runs here: OcrPages are built by hand."""

from __future__ import annotations

import io

import numpy as np
import pikepdf
import pypdfium2 as pdfium
import pytest

from ocr.archive import ArchiveFile, build_archive
from ocr.types import OcrLine, OcrPage
from tests.ocr.pagekit import RIC, draw_page, encode, image_pdf, rotate_ccw, text_pdf, tiff_pages

LINE = "公民身份号码 " + RIC


def _page(width: int, height: int, box: tuple[float, float, float, float],
          rotation: int = 0, method: str = "ocr") -> OcrPage:
    return OcrPage(source="f", page=1, method=method, width=width, height=height,  # type: ignore[arg-type]
                   lines=(OcrLine(LINE, 0.99, box),), rotation=rotation, engine="test")


@pytest.fixture(scope="module")
def scan() -> tuple[np.ndarray, tuple[float, float, float, float]]:
    image, drawn = draw_page([(LINE, (140, 420))])
    return image, drawn[0].box


def _images(pdf_bytes: bytes) -> list[list[str]]:
    """The filters of every page image, in page order."""
    with pikepdf.open(io.BytesIO(pdf_bytes)) as pdf:
        return [[str(f) for f in pikepdf.PdfImage(img).filters]
                for page in pdf.pages for img in page.get_images().values()]


def _char_centre_px(pdf_bytes: bytes, page_index: int, char_index: int,
                    dpi: float) -> tuple[float, float, str]:
    """Centre of a character as pixels of the page rendered at `dpi` (y down)."""
    doc = pdfium.PdfDocument(pdf_bytes)
    page = doc[page_index]
    text = page.get_textpage()
    left, bottom, right, top = text.get_charbox(char_index)
    _, height = page.get_size()
    k = dpi / 72.0
    return (left + right) / 2 * k, (height - (top + bottom) / 2) * k, text.get_text_range()


def test_jpeg_is_embedded_as_is_and_its_text_is_found_where_it_was_read(scan):
    image, box = scan
    data = encode(image, "JPEG", quality=80, dpi=(150, 150))
    pdf = build_archive([ArchiveFile(data, [_page(image.shape[1], image.shape[0], box)])])
    assert _images(pdf) == [["/DCTDecode"]]
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        raw = next(iter(doc.pages[0].get_images().values())).read_raw_bytes()
    assert raw == data  # the scan's own bytes: not re-encoded
    x, y, text = _char_centre_px(pdf, 0, 0, 150)
    assert text.replace(" ", "") == LINE.replace(" ", "")
    assert box[0] <= x <= box[0] + (box[3] - box[1]) and box[1] <= y <= box[3]


def test_sideways_scan_text_lands_on_the_rotated_line(scan):
    image, box = scan
    turned = rotate_ccw(image, 90)  # fed sideways; the reader turned it 90° clockwise
    data = encode(turned, "PNG", dpi=(150, 150))
    page = _page(image.shape[1], image.shape[0], box, rotation=90)
    pdf = build_archive([ArchiveFile(data, [page])])
    assert _images(pdf) == [["/FlateDecode"]]
    x, y, text = _char_centre_px(pdf, 0, 0, 150)
    assert RIC in text.replace(" ", "")
    # the first character, upright at box's left end, is at the bottom-left after turning
    # the page back counter-clockwise: raster (y_up, H - x_up)
    h_up = image.shape[1]
    cx, cy = box[1] + (box[3] - box[1]) / 2, h_up - box[0]
    assert (x, y) == pytest.approx((cx, cy), abs=(box[3] - box[1]))


def test_g4_tiff_and_pdf_pages_are_kept_and_born_digital_pages_get_no_second_layer(scan):
    image, box = scan
    h, w = image.shape[:2]
    tiff = tiff_pages([image, image])
    scanned = image_pdf([rotate_ccw(image, 180)])
    digital = text_pdf([("营业执照 统一社会信用代码", 72, 100)])
    pdf = build_archive([
        ArchiveFile(tiff, [_page(w, h, box), None]),
        ArchiveFile(scanned, [_page(w, h, box, rotation=180)]),
        ArchiveFile(digital, [_page(595, 842, (72, 90, 300, 110), method="text_layer")]),
    ])
    images = _images(pdf)
    assert images[:2] == [["/CCITTFaxDecode"]] * 2
    doc = pdfium.PdfDocument(pdf)
    texts = [doc[i].get_textpage().get_text_range().replace(" ", "") for i in range(len(doc))]
    assert len(texts) == 4
    assert RIC in texts[0] and texts[1] == "" and RIC in texts[2]
    assert texts[3].count("统一社会信用代码") == 1
    x, y, _ = _char_centre_px(pdf, 2, 0, 150)  # upside down: first char at the far end
    assert x > w - box[0] - (box[3] - box[1]) * 1.5 and y > h - box[3] - 5


def test_unopenable_files_are_left_out():
    pdf = build_archive([ArchiveFile(b"not a file", [None])])
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        assert len(doc.pages) == 0


def test_a_pixel_bomb_is_left_out_rather_than_decoded():
    from tests.ocr.hostile import png_pixel_bomb

    scan = encode(draw_page(size=(400, 300))[0], "PNG")
    pdf = build_archive([ArchiveFile(png_pixel_bomb(12_000, 12_000), [None]),
                         ArchiveFile(png_pixel_bomb(20_000, 20_000, rgb=False), [None]),
                         ArchiveFile(scan, [None])])
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        assert len(doc.pages) == 1  # only the ordinary scan
