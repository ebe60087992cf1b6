"""Find QR codes on a scanned page: the cover sheets that split a scanned stack by case.

`read_qr_codes(image)` is pure (pixels in, texts and corner points out) and uses zxing-cpp.
zxing finds QR codes in any orientation (the finder patterns fix it) and through moderate
perspective, so a sheet fed upside down, turned a quarter or skewed a few degrees reads
as it is. Photocopies are the hard case: toner speckle, washed-out greys and blur. The
reader therefore tries a few cheap views of the page, stopping at the first that yields a
code: the page as it is, a globally thresholded copy (a washed-out grey copy whose modules
the local binariser loses), and a sharpened copy at a lower resolution (blurred modules
and speckle merge back into clean squares when the image shrinks).

A page with no QR code (nearly every page) costs all the views; they run on a gray copy
no larger than `MAX_SIDE`, which keeps that at a few tens of milliseconds on a 200 dpi A4
page — small next to the OCR of the same page.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final

import cv2
import numpy as np
import zxingcpp

from ocr.prepare import downscale, ensure_uint8, to_gray

MAX_SIDE: Final = 2400
"""Long side (pixels) of the view the reader searches; a 200 dpi A4 page is 2339. A cover
sheet's QR code is 45 mm wide, ~10 px per module at this size."""
_QR_ONLY: Final = zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)
SQUARE_TOLERANCE: Final = 1.25
"""Longest over shortest edge of a located but undecoded symbol; zxing also "locates"
finder-like clusters of text lines, whose outline is no square."""
SMALL_SIDE: Final = 1200
"""Long side of the reduced view for blurred and speckled copies (~5 px per module)."""


@dataclass(frozen=True)
class QrCode:
    """One QR code found on a page: its text and its four corners (page pixels, clockwise
    from the code's own top-left), which also tell how the sheet was turned."""

    text: str
    corners: tuple[tuple[float, float], ...]

    @property
    def side(self) -> float:
        """Mean edge length in page pixels (with the page's dpi: the printed size)."""
        return float(np.mean(self._edges()))

    @property
    def square(self) -> bool:
        """Whether the corners outline a square as a scan shows one (skew and a copier's
        slight perspective allowed): what a located symbol must be to count as one."""
        edges = self._edges()
        return bool(edges.min() > 0 and edges.max() / edges.min() <= SQUARE_TOLERANCE)

    def _edges(self) -> np.ndarray:
        pts = np.asarray(self.corners, dtype=np.float64)
        return np.linalg.norm(pts - np.roll(pts, 1, axis=0), axis=1)


@dataclass(frozen=True)
class QrScan:
    """What the reader found: codes it decoded, and symbols it located but could not
    decode (`damaged`: text empty), e.g. a cover sheet torn or scribbled over."""

    codes: tuple[QrCode, ...]
    damaged: tuple[QrCode, ...] = ()


def read_qr_codes(image: np.ndarray) -> tuple[QrCode, ...]:
    """Every QR code zxing can decode on the page (gray or BGR, any size), in the order
    found; empty when there is none."""
    return scan_qr_codes(image).codes


def scan_qr_codes(image: np.ndarray) -> QrScan:
    """`read_qr_codes`, plus the symbols found that no view could decode."""
    gray = to_gray(ensure_uint8(image))
    work, scale = downscale(gray, MAX_SIDE)
    damaged: list[QrCode] = []
    for view, view_scale in _views(work):
        factor = 1.0 / (scale * view_scale)
        found = [QrCode(text, tuple((x * factor, y * factor) for x, y in corners))
                 for text, corners in _decode(view)]
        codes = tuple(c for c in found if c.text)
        if codes:
            return QrScan(codes)
        damaged.extend(c for c in found if not c.text and c.square)
    return QrScan((), tuple(damaged))


def _views(gray: np.ndarray) -> Iterator[tuple[np.ndarray, float]]:
    yield gray, 1.0
    # A washed-out copy: Otsu over a lightly smoothed page splits the grey modules from the
    # paper where the local-average binariser sees only noise.
    smooth = cv2.GaussianBlur(gray, (3, 3), 0)
    _, binary = cv2.threshold(smooth, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    yield binary, 1.0
    small, scale = downscale(gray, SMALL_SIDE)
    blurred = cv2.GaussianBlur(small, (0, 0), 1.5)
    sharp = cv2.addWeighted(small, 1.8, blurred, -0.8, 0)
    yield sharp, scale


def _decode(view: np.ndarray) -> list[tuple[str, list[tuple[float, float]]]]:
    """(text, corners) of each QR symbol located; text "" for one that failed to decode."""
    try:
        results = zxingcpp.read_barcodes(
            np.ascontiguousarray(view), formats=_QR_ONLY,
            try_rotate=True, try_downscale=True, try_invert=False, return_errors=True)
    except (ValueError, RuntimeError):  # an image zxing cannot take is a page without codes
        return []
    out = []
    for result in results:
        pos = result.position
        corners = [(float(p.x), float(p.y))
                   for p in (pos.top_left, pos.top_right, pos.bottom_right, pos.bottom_left)]
        out.append((result.text if result.valid else "", corners))
    return out
