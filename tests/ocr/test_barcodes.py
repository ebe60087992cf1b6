"""QR codes on scanned pages (`ocr.barcodes`): found where they are printed, in page pixels,
at any resolution; nothing found on pages of text."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import cv2
import numpy as np
import pytest
import segno

from intake.coversheet import MARGIN, QR_SIDE_MM, render_cover_sheet
from ocr.barcodes import QrCode, read_qr_codes, scan_qr_codes
from ocr.sources import open_source
from samples import build_packet
from tests.intake.stackkit import raster
from tests.ocr.pagekit import draw_page


@pytest.mark.parametrize("dpi", [100, 200, 300])
def test_codes_are_read_where_they_are_printed(dpi: int) -> None:
    sheet = raster(render_cover_sheet(
        case_number="SQ20261129-ABC123", item_name="事项", item_code="x", checklist=[],
        secret="s", center_name="中心", acceptance_date=date(2026, 1, 5)), dpi)
    codes = read_qr_codes(sheet)
    assert len(codes) == 2 and len({c.text for c in codes}) == 1
    px = dpi / 25.4
    side = QR_SIDE_MM * px
    h, w = sheet.shape
    expected = sorted([(w - MARGIN * px - side / 2, MARGIN * px + side / 2),
                       (MARGIN * px + side / 2, h - MARGIN * px - side / 2)])
    centres = sorted(tuple(np.mean(c.corners, axis=0)) for c in codes)
    for (x, y), (ex, ey) in zip(centres, expected, strict=True):
        assert abs(x - ex) < 0.05 * side and abs(y - ey) < 0.05 * side
    assert all(abs(c.side - side) < 0.08 * side for c in codes)


def test_a_turned_code_reports_where_its_own_top_left_is() -> None:
    qr = segno.make_qr("DOCINTAKE:COVER:1:SQ1:AAAA", error="q")
    code = np.kron(np.array(qr.matrix, dtype=np.uint8), np.ones((8, 8), np.uint8))
    page = np.full((800, 800), 255, np.uint8)
    page[200:200 + code.shape[0], 200:200 + code.shape[1]] = 255 - 255 * code
    upright = read_qr_codes(page)[0]
    turned = read_qr_codes(cv2.rotate(page, cv2.ROTATE_180))[0]
    assert upright.text == turned.text
    # the code's own top-left corner is at the page's top left upright, bottom right turned
    assert upright.corners[0][0] < 400 and upright.corners[0][1] < 400
    assert turned.corners[0][0] > 400 and turned.corners[0][1] > 400


def test_pages_of_text_and_blank_pages_have_no_codes(tmp_path: Path) -> None:
    page, _ = draw_page()
    assert scan_qr_codes(page) == scan_qr_codes(np.full_like(page, 245)) == \
        type(scan_qr_codes(page))(())
    packet = build_packet("food-complete", tmp_path, seed=1)
    for path in packet.files:
        with open_source(path.read_bytes(), path.name, dpi=200) as source:
            for i in range(source.page_count):
                found = scan_qr_codes(source.render_page(i).image)
                assert found.codes == () and found.damaged == (), (path.name, i)


def test_only_square_outlines_count_as_damaged_symbols() -> None:
    square = QrCode("", ((0, 0), (100, 0), (103, 98), (2, 101)))
    trapezoid = QrCode("", ((783, 1590), (163, 1590), (409, 549), (1017, 549)))
    assert square.square and not trapezoid.square
