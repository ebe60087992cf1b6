"""The page quality gate: flags a clerk can act on at the window ("rescan this page now").

Checks are cheap image statistics plus what the orientation probe already found (text-line
boxes), so the gate costs a few milliseconds and never runs a model of its own. A flag
never stops a page from being read: the page is OCR'd as well as it can be and the flags
travel with it (`OcrPage.quality`), so the intake layer can show the reason next to it.

Every flag has a stable code (``quality.*``) and a bilingual message saying what is wrong
and what to do, in the style of `ocr.errors`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import cv2
import numpy as np

MESSAGES: Final[dict[str, tuple[str, str]]] = {
    "quality.blurry": (
        "本页图像模糊，部分文字可能识别错误。请放平材料、对准焦距后重新扫描或拍摄。",
        "This page is blurred and some text may be misread; please flatten the document, "
        "focus and scan or photograph it again.",
    ),
    "quality.too_dark": (
        "本页过暗或对比度过低，文字难以辨认。请在光线充足处重新扫描或拍摄。",
        "This page is too dark or has too little contrast; please rescan or photograph it "
        "in good light.",
    ),
    "quality.cut_off": (
        "本页内容被截断（文字贴到图像边缘）。请将整页放入扫描范围后重新扫描。",
        "Text on this page runs off the edge of the image; please rescan the whole page.",
    ),
    "quality.low_resolution": (
        "本页分辨率过低，文字太小无法可靠识别。请以不低于 200 dpi 重新扫描。",
        "The resolution of this page is too low to read the text reliably; please rescan "
        "at 200 dpi or more.",
    ),
}

CODES: Final = frozenset(MESSAGES)

# Thresholds, measured on the synthetic scans of `samples` (light and medium
# degradation pass; sigma >= ~0.35 line heights of blur or text under ~12 px fails OCR).
BLUR_SIGMA_PER_LINE_HEIGHT: Final = 0.09
"""Estimated Gaussian blur (sigma, px) above this fraction of the median text-line height
is flagged: at ~0.1 strokes of Chinese characters start to merge."""
MIN_LINE_HEIGHT_PX: Final = 14.0
"""Median text-line height below this (page pixels) is flagged as too low a resolution:
PP-OCR's recogniser works on 48 px lines and fails on characters under ~12 px."""
BLUR_LINES: Final = 24
"""The blur estimate samples the longest this many lines."""
MIN_PAPER_LEVEL: Final = 110.0
MIN_CONTRAST: Final = 60.0
EDGE_MARGIN: Final = 0.004
"""A text line within this fraction of the image size of an edge counts as touching it."""


def message(code: str) -> str:
    """The clerk-facing message for a quality code ("Chinese(English)")."""
    zh, en = MESSAGES[code]
    return f"{zh}({en})"


@dataclass(frozen=True)
class QualityInputs:
    """What the gate looks at. `quads` are the text-line boxes found by the probe, in the
    pixels of `image` (N x 4 x 2); empty when the engine has no probe."""

    image: np.ndarray
    quads: np.ndarray


def _line_heights(quads: np.ndarray) -> np.ndarray:
    if len(quads) == 0:
        return np.zeros(0)
    e1 = np.linalg.norm(quads[:, 1] - quads[:, 0], axis=1)
    e2 = np.linalg.norm(quads[:, 2] - quads[:, 1], axis=1)
    return np.minimum(e1, e2)


def blur_sigma(gray: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Estimated Gaussian blur of the ink edges, in pixels.

    A step edge of contrast C blurred with sigma s has a peak gradient of
    C / (s * sqrt(2 pi)); so s ~ C / (2.5 * g), with g a high percentile of the gradient
    magnitude over edge pixels and C the paper-ink contrast of the same area. Independent
    of contrast and brightness, so a grey, dim scan is not called blurred.
    """
    region = mask if mask is not None else np.ones(gray.shape, bool)
    return _sigma(gray[region], _gradient(gray)[region])


def _gradient(gray: np.ndarray) -> np.ndarray:
    g = gray.astype(np.float32)
    gx = cv2.Sobel(g, cv2.CV_32F, 1, 0, ksize=3) / np.float32(8.0)
    gy = cv2.Sobel(g, cv2.CV_32F, 0, 1, ksize=3) / np.float32(8.0)
    return np.asarray(cv2.magnitude(gx, gy))


def _sigma(values: np.ndarray, magnitudes: np.ndarray) -> float:
    if values.size < 100:
        return 0.0
    contrast = float(np.percentile(values, 95) - np.percentile(values, 3))
    edges = magnitudes[magnitudes > 0.15 * contrast / 2.5]
    if edges.size < 50 or contrast < 10:
        return 0.0
    peak = float(np.percentile(edges, 90))
    return contrast / (2.5 * max(peak, 1e-6))


def _lines_blur_sigma(gray: np.ndarray, quads: np.ndarray) -> float:
    """`blur_sigma` over the text lines, computed line by line on their own boxes (the
    longest `BLUR_LINES` lines are a sample as good as the whole page, at a fraction of
    the cost of filtering a full-resolution scan)."""
    h, w = gray.shape
    lengths = np.linalg.norm(quads[:, 1] - quads[:, 0], axis=1)
    values, magnitudes = [], []
    for quad in quads[np.argsort(-lengths)[:BLUR_LINES]]:
        x0, y0 = np.maximum(np.floor(quad.min(axis=0)).astype(int) - 1, 0)
        x1, y1 = np.minimum(np.ceil(quad.max(axis=0)).astype(int) + 2, [w, h])
        if x1 - x0 < 3 or y1 - y0 < 3:
            continue
        sub = gray[y0:y1, x0:x1]
        inside = np.zeros(sub.shape, np.uint8)
        cv2.fillConvexPoly(inside, np.round(quad - [x0, y0]).astype(np.int32), (1,))
        keep = inside.astype(bool)
        values.append(sub[keep])
        magnitudes.append(_gradient(sub)[keep])
    if not values:
        return 0.0
    return _sigma(np.concatenate(values), np.concatenate(magnitudes))


def check(inputs: QualityInputs) -> tuple[str, ...]:
    """Quality codes for a non-blank page, most actionable first."""
    image, quads = inputs.image, np.asarray(inputs.quads, dtype=np.float64).reshape(-1, 4, 2)
    gray = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    h, w = gray.shape
    flags: list[str] = []

    sample = gray[::2, ::2]  # a quarter of the pixels give the same percentiles
    paper = float(np.percentile(sample, 90))
    ink = float(np.percentile(sample, 1))
    if paper < MIN_PAPER_LEVEL or paper - ink < MIN_CONTRAST:
        flags.append("quality.too_dark")

    heights = _line_heights(quads)
    line_height = float(np.median(heights)) if heights.size else 0.0
    if heights.size and line_height < MIN_LINE_HEIGHT_PX:
        flags.append("quality.low_resolution")

    if heights.size and line_height >= MIN_LINE_HEIGHT_PX:
        sigma = _lines_blur_sigma(gray, quads)
        if sigma > BLUR_SIGMA_PER_LINE_HEIGHT * line_height:
            flags.append("quality.blurry")

    if len(quads):
        mx, my = EDGE_MARGIN * w + 1, EDGE_MARGIN * h + 1
        lo, hi = quads.min(axis=1), quads.max(axis=1)
        touching = ((lo[:, 0] <= mx) | (lo[:, 1] <= my)
                    | (hi[:, 0] >= w - mx) | (hi[:, 1] >= h - my))
        if touching.any():
            flags.append("quality.cut_off")
    return tuple(flags)
