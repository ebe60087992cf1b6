"""Builders for scanned stacks: cover sheets printed and scanned back (photocopied, turned,
skewed), applicants' pages, blank backs, and forged sheets."""

from __future__ import annotations

import io

import numpy as np
import pypdfium2 as pdfium
import segno
from PIL import Image

from intake.coversheet import MARGIN, QR_SIDE_MM
from tests.ocr.pagekit import blank_scan, degrade, draw_page, image_pdf, photocopy

SCAN_DPI = 150


def raster(pdf: bytes, dpi: float = SCAN_DPI) -> np.ndarray:
    """The first page of a PDF as a gray image, as a scanner sees the printout."""
    doc = pdfium.PdfDocument(pdf)
    try:
        return np.asarray(doc[0].render(scale=dpi / 72).to_pil().convert("L")).copy()
    finally:
        doc.close()


def material_page(label: str, seed: int) -> np.ndarray:
    """An applicant's page, told apart from the others by `label`."""
    lines = [(f"申请材料 {label}", (140, 160)), ("姓名 张三", (140, 300)),
             (f"编号 {label}-{seed:04d}", (140, 420)), ("住址 北京市东城区景山前街4号", (140, 540))]
    page, _ = draw_page(lines)
    return degrade(page, seed=seed)


def blank_back(seed: int) -> np.ndarray:
    """The empty back of a simplex sheet scanned duplex."""
    return blank_scan(seed=seed)


def with_qr(sheet: np.ndarray, payload: str, dpi: float = SCAN_DPI) -> np.ndarray:
    """`sheet` (a cover sheet at `dpi`) with both QR codes replaced by one saying
    `payload`: a copied sheet whose code was edited."""
    px = dpi / 25.4
    side = round(QR_SIDE_MM * px)
    qr = segno.make_qr(payload, error="q")
    buffer = io.BytesIO()
    qr.save(buffer, kind="png", scale=10, border=0)
    code = np.asarray(Image.open(buffer).convert("L").resize((side, side), Image.NEAREST))
    out = sheet.copy()
    h, w = out.shape
    margin = round(MARGIN * px)
    out[margin:margin + side, w - margin - side:w - margin] = code
    out[h - margin - side:h - margin, margin:margin + side] = code
    return out


def scribbled(sheet: np.ndarray, dpi: float = SCAN_DPI) -> np.ndarray:
    """A cover sheet whose codes were scribbled over with a marker: found, not readable."""
    px = dpi / 25.4
    side = round(QR_SIDE_MM * px)
    out = sheet.copy()
    h, w = out.shape
    margin = round(MARGIN * px)
    for y0, x0 in ((margin, w - margin - side), (h - margin - side, margin)):
        # Thick strokes across the data area, sparing the three finder patterns.
        for k in range(9, side - 9, 9):
            out[y0 + k:y0 + k + 4, x0 + side // 3:x0 + side - side // 3] = 0
            out[y0 + side // 3:y0 + side - side // 3, x0 + k:x0 + k + 4] = 255
    return out


def copied(sheet: np.ndarray, seed: int, *, turn: int = 0, generations: int = 1,
           skew_degrees: float = 4.0) -> np.ndarray:
    return photocopy(sheet, seed=seed, turn=turn, generations=generations,
                     skew_degrees=skew_degrees)


def stack_pdf(pages: list[np.ndarray]) -> bytes:
    """The stack as a scanner writes it: one PDF, one JPEG image per page."""
    return image_pdf(pages, dpi=SCAN_DPI)
