"""Page image preparation before OCR: normalise, detect blank pages, find orientation and
skew, and size the image for the text detector.

Everything here is plain OpenCV/numpy except `estimate_orientation`, which asks the
engine's optional `LineProbe` (text detection on a small copy + the 0/180° line
classifier). Geometry is tracked explicitly (`Geometry`) so that boxes found on the
prepared image can be mapped back to the page's own pixel coordinates.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import cv2
import numpy as np
from PIL import Image

from ocr.engine import LineProbe, LineReader
from ocr.types import OcrLine

ANALYSIS_SIDE = 1024
"""Long side of the copy used for the orientation probe: text lines of a 200 dpi A4 page
are still ~13 px high, and detection costs ~0.2 s instead of ~0.9 s at full size."""

BLANK_SIDE = 1600
"""Long side for blank-page detection: large enough that one thin 10 pt character still
survives downscaling as dark pixels."""

DETECT_MAX_SIDE = 1600
"""Pages are fed to the detector with the long side at most this. Measured with bench/ocr
on one quiet run (16 pages, 2 cores): 1600 against 2400 gave CER 0.33% vs 0.80%, 1.43x
the pages per minute and 0.66x the peak memory; the smaller input also rescued an
upside-down licence whose seal confused the larger one."""

LINE_INPUT_HEIGHT = 48
"""PP-OCR recognisers read lines scaled to this height."""
LINE_MAX_HEIGHT = 2 * LINE_INPUT_HEIGHT
"""Line crops are at most this high."""
LINE_WIDTHS = (128, 192, 256, 320, 448, 640, 960, 1280, 1920, 2560)
"""Recogniser inputs are padded to one of these widths (wider ones to multiples of
640 px): runtimes compile kernels per input shape, so a few shapes mean few compilations
and a small kernel cache."""

MAX_CROP_ASPECT = 12
MAX_DESKEW = 5.0
MIN_DESKEW = 0.3


# -- normalisation -------------------------------------------------------------------

def pil_to_array(img: Image.Image) -> np.ndarray:
    """Any Pillow image -> uint8 gray ``(h, w)`` or BGR ``(h, w, 3)``.

    Bilevel, palette, CMYK, alpha and 16-/32-bit images are all normalised; transparency
    is composited onto white paper (a transparent PNG background is usually black in the
    colour channels, which would otherwise read as a black page).
    """
    mode = img.mode
    if mode in ("1", "L"):
        return np.asarray(img.convert("L"), dtype=np.uint8).copy()
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        return _scale_to_uint8(np.asarray(img))
    if mode == "P":
        img = img.convert("RGBA" if "transparency" in img.info else "RGB")
    elif mode == "PA":
        img = img.convert("RGBA")
    elif mode in ("LA", "La"):
        la = np.asarray(img.convert("LA"), dtype=np.float32)
        return _over_white(la[..., :1], la[..., 1:2])[..., 0]
    if img.mode in ("RGBA", "RGBa"):
        rgba = np.asarray(img.convert("RGBA"), dtype=np.float32)
        rgb = _over_white(rgba[..., :3], rgba[..., 3:4])
        return cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
    if img.mode != "RGB":
        img = img.convert("RGB")  # CMYK, YCbCr, LAB, HSV, ...
    return cv2.cvtColor(np.asarray(img, dtype=np.uint8), cv2.COLOR_RGB2BGR)


def _over_white(color: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    a = alpha / 255.0
    return np.clip(color * a + 255.0 * (1.0 - a), 0, 255).astype(np.uint8)


def _scale_to_uint8(arr: np.ndarray) -> np.ndarray:
    arr = arr.astype(np.float64)
    if arr.ndim == 3:
        arr = arr[..., 0]
    hi = float(arr.max()) if arr.size else 0.0
    # 16-bit scans use the full 0..65535 range; float images are usually 0..1.
    top = 65535.0 if hi > 255.0 else (1.0 if hi <= 1.0 else 255.0)
    return np.clip(arr * (255.0 / top), 0, 255).astype(np.uint8)


def ensure_uint8(image: np.ndarray) -> np.ndarray:
    """Accept the array forms callers hand us (gray, BGR, BGRA, bool, 16-bit)."""
    if image.dtype != np.uint8:
        image = (image.astype(np.uint8) * 255 if image.dtype == np.bool_
                 else _scale_to_uint8(image) if image.ndim == 2
                 else np.clip(image, 0, 255).astype(np.uint8))
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[..., 0]
    elif image.ndim == 3 and image.shape[2] == 4:
        image = cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    if image.ndim not in (2, 3):
        raise ValueError(f"expected a gray or BGR image, got shape {image.shape}")
    return np.ascontiguousarray(image)


def to_gray(image: np.ndarray) -> np.ndarray:
    return image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)


def downscale(image: np.ndarray, max_side: int) -> tuple[np.ndarray, float]:
    """Shrink so the long side is at most `max_side`; returns (image, scale <= 1)."""
    h, w = image.shape[:2]
    scale = min(1.0, max_side / max(h, w))
    if scale >= 1.0:
        return image, 1.0
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA), scale


# -- blank pages ---------------------------------------------------------------------

def is_blank(image: np.ndarray) -> bool:
    """True when the page has (almost) no ink.

    Errs towards "not blank": a wrong "blank" silently loses a page, a wrong "not blank"
    only costs one OCR run that finds nothing. Robust to scanner noise (isolated specks
    are ignored), to show-through from the back side (light grey is not ink) and to dark
    scanner borders (anything touching the edge of the inspected area is ignored).
    """
    small, _ = downscale(ensure_uint8(image), BLANK_SIDE)
    gray = to_gray(small)
    h, w = gray.shape
    margin = round(0.03 * min(h, w))
    inner = gray[margin:h - margin, margin:w - margin]
    if inner.size == 0:
        return True
    paper = float(np.median(inner))
    if paper < 100:
        return False  # a dark page (a photo, a negative): let OCR decide
    ink = (inner < paper - max(60.0, 0.3 * paper)).astype(np.uint8)
    count, _labels, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    ih, iw = ink.shape
    total = 0
    for i in range(1, count):
        x, y, cw, ch, area = (int(v) for v in stats[i])
        if area < 4:
            continue  # scanner specks
        if x == 0 or y == 0 or x + cw >= iw or y + ch >= ih:
            continue  # dark border / page edge shadow
        total += area
    return total < max(30.0, 5e-5 * ih * iw)


# -- orientation and skew ------------------------------------------------------------

@dataclass(frozen=True)
class Orientation:
    rotation: int = 0
    """Clockwise rotation (0/90/180/270) that makes the text upright."""
    skew: float = 0.0
    """Angle in degrees of text lines on the upright page (positive: lines descend to the
    right); the page is rotated by this much counter-clockwise to straighten it."""
    quads: np.ndarray = field(default_factory=lambda: np.zeros((0, 4, 2)), compare=False,
                              repr=False)
    """The text-line boxes the probe found, in pixels of the image it was given (before
    rotation): the quality gate reuses them instead of detecting again."""


def rotate90(image: np.ndarray, rotation: int) -> np.ndarray:
    """Rotate clockwise by 0/90/180/270 degrees."""
    codes = {90: cv2.ROTATE_90_CLOCKWISE, 180: cv2.ROTATE_180,
             270: cv2.ROTATE_90_COUNTERCLOCKWISE}
    rotation %= 360
    return image if rotation == 0 else cv2.rotate(image, codes[rotation])


def rotate_points(pts: np.ndarray, rotation: int, width: float, height: float) -> np.ndarray:
    """Where points of a `width` x `height` image land after `rotate90(image, rotation)`."""
    x, y = pts[..., 0], pts[..., 1]
    rotation %= 360
    if rotation == 90:
        out = np.stack([height - y, x], axis=-1)
    elif rotation == 180:
        out = np.stack([width - x, height - y], axis=-1)
    elif rotation == 270:
        out = np.stack([y, width - x], axis=-1)
    else:
        out = pts.copy()
    return out.astype(np.float64)


def _line_geometry(quads: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per quad: length of the long side and its angle in degrees in (-90, 90].
    Quads that are not line-like (long side < 2x short side) get length 0."""
    e1 = quads[:, 1] - quads[:, 0]
    e2 = quads[:, 2] - quads[:, 1]
    n1, n2 = np.linalg.norm(e1, axis=1), np.linalg.norm(e2, axis=1)
    long_edge = np.where((n1 >= n2)[:, None], e1, e2)
    length, short = np.maximum(n1, n2), np.minimum(n1, n2)
    angle = np.degrees(np.arctan2(long_edge[:, 1], long_edge[:, 0]))
    angle = np.where(angle > 90, angle - 180, np.where(angle <= -90, angle + 180, angle))
    length = np.where(length >= 2.0 * np.maximum(short, 1e-6), length, 0.0)
    return length, angle


def estimate_orientation(image: np.ndarray, probe: LineProbe,
                         max_crops: int = 6) -> Orientation:
    """Find the page rotation and skew from text-line boxes of a small copy of the page.

    90/270: text lines of a sideways page are tall, narrow boxes, so the direction of
    the (length-weighted) majority of line boxes says whether the page lies on its side.
    180: the few longest lines, turned horizontal, go to the probe's `upside_down`;
    their length-weighted vote decides. Skew is the median angle of the
    horizontal lines once the page is upright.
    """
    small, scale = downscale(image, ANALYSIS_SIDE)
    return orientation_from_quads(small, probe.detect(small), probe, scale=scale,
                                  max_crops=max_crops)


def orientation_from_quads(small: np.ndarray, quads: np.ndarray, probe: LineProbe, *,
                           scale: float = 1.0, max_crops: int = 6) -> Orientation:
    """`estimate_orientation` on line boxes already detected on `small`, a copy of the
    page shrunk by `scale`; the returned quads are in the page's own pixels."""
    h, w = small.shape[:2]
    quads = np.asarray(quads, dtype=np.float64).reshape(-1, 4, 2)
    found = quads / scale
    if len(quads) == 0:
        return Orientation()
    length, angle = _line_geometry(quads)
    horizontal = np.abs(angle) <= 45
    h_weight = float(length[horizontal].sum())
    v_weight = float(length[~horizontal].sum())
    if h_weight == 0 and v_weight == 0:
        return Orientation(quads=found)
    base = 0 if h_weight >= v_weight else 90
    chosen = horizontal if base == 0 else ~horizontal

    # Crop the longest lines from the page turned by `base`, so they read horizontally.
    turned = rotate90(small, base)
    th, tw = turned.shape[:2]
    turned_quads = rotate_points(quads, base, w, h)
    order = [int(i) for i in np.argsort(-length) if chosen[i] and length[i] > 0][:max_crops]
    crops, weights = [], []
    for i in order:
        x0, y0 = np.maximum(np.floor(turned_quads[i].min(axis=0)).astype(int) - 2, 0)
        x1, y1 = np.ceil(turned_quads[i].max(axis=0)).astype(int) + 2
        # The start of a line is enough to judge it; long crops only cost time.
        x1 = min(x1, x0 + MAX_CROP_ASPECT * (y1 - y0))
        crop = turned[y0:min(th, y1), x0:min(tw, x1)]
        if crop.shape[0] >= 4 and crop.shape[1] >= 4:
            crops.append(np.ascontiguousarray(crop))
            weights.append(float(length[i]))
    flip = False
    if crops:
        probs = probe.upside_down(crops)
        flip = float(np.average(probs, weights=weights)) > 0.5
    rotation = (base + (180 if flip else 0)) % 360

    upright = rotate_points(quads, rotation, w, h)
    up_length, up_angle = _line_geometry(upright)
    keep = (up_length > 0) & (np.abs(up_angle) <= 45)
    skew = float(np.median(up_angle[keep])) if keep.sum() >= 3 else 0.0
    return Orientation(rotation=rotation, skew=round(skew, 2), quads=found)


# -- geometry ------------------------------------------------------------------------

def rotation_matrix(rotation: int, width: float, height: float) -> np.ndarray:
    """3x3 matrix of `rotate90` on a `width` x `height` image (same as `rotate_points`)."""
    rotation %= 360
    rows = {
        0: [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]],
        90: [[0.0, -1.0, height], [1.0, 0.0, 0.0]],
        180: [[-1.0, 0.0, width], [0.0, -1.0, height]],
        270: [[0.0, 1.0, 0.0], [-1.0, 0.0, width]],
    }[rotation]
    return np.vstack([np.array(rows), [0.0, 0.0, 1.0]])


def _h(matrix: np.ndarray) -> np.ndarray:
    """2x3 affine or 3x3 projective -> 3x3."""
    m = np.asarray(matrix, dtype=np.float64)
    return m if m.shape == (3, 3) else np.vstack([m, [0.0, 0.0, 1.0]])


def apply(matrix: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """Apply a 2x3 or 3x3 matrix to (..., 2) points (with the perspective division)."""
    m = _h(matrix)
    pts = np.asarray(pts, dtype=np.float64)
    homo = np.concatenate([pts, np.ones((*pts.shape[:-1], 1))], axis=-1) @ m.T
    return homo[..., :2] / homo[..., 2:3]


@dataclass(frozen=True)
class Geometry:
    """How the detector image relates to the upright page: ``det ~ M @ [x, y, 1]`` where
    (x, y) are pixels of the upright page at its own resolution. `matrix` is a 2x3 affine
    (scans) or a 3x3 homography."""

    matrix: np.ndarray  # upright page -> detector image
    width: int          # upright page size, pixels
    height: int

    def to_page(self, box: tuple[float, float, float, float]) -> tuple[float, float,
                                                                     float, float]:
        """Detector-image box -> axis-aligned box on the upright page, clipped to it."""
        x0, y0, x1, y1 = box
        corners = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], dtype=np.float64)
        pts = apply(np.linalg.inv(_h(self.matrix)), corners)
        lo, hi = pts.min(axis=0), pts.max(axis=0)
        return (float(np.clip(lo[0], 0, self.width)), float(np.clip(lo[1], 0, self.height)),
                float(np.clip(hi[0], 0, self.width)), float(np.clip(hi[1], 0, self.height)))


Crop = tuple[int, int, int, int]


def prepare_for_detector(image: np.ndarray, orientation: Orientation, *,
                         crop: Crop | None = None) -> tuple[np.ndarray, Geometry]:
    """Crop to the paper, downscale for the detector, turn upright, straighten small skew.

    `crop` (x0, y0, x1, y1 in `image` pixels) drops a scanner border; page coordinates
    stay those of the whole upright image. Cropping and downscaling come first so that a
    60-megapixel page is never rotated at full size.
    """
    full_h, full_w = image.shape[:2]
    x0, y0, x1, y1 = crop if crop is not None else (0, 0, full_w, full_h)
    small, _ = downscale(image[y0:y1, x0:x1], DETECT_MAX_SIDE)
    sh, sw = small.shape[:2]
    rotation = orientation.rotation % 360
    upright = rotate90(small, rotation)
    dh, dw = upright.shape[:2]
    # page (upright full) -> image -> crop -> small -> upright small. Per-axis scale:
    # rounding the small size makes the two axes differ by a hair.
    to_image = np.linalg.inv(rotation_matrix(rotation, full_w, full_h))
    to_crop = np.array([[1.0, 0.0, -x0], [0.0, 1.0, -y0], [0.0, 0.0, 1.0]])
    to_small = np.diag([sw / (x1 - x0), sh / (y1 - y0), 1.0])
    matrix = rotation_matrix(rotation, sw, sh) @ to_small @ to_crop @ to_image
    skew = orientation.skew
    if MIN_DESKEW <= abs(skew) <= MAX_DESKEW:
        # Positive angle in getRotationMatrix2D turns the image counter-clockwise, which
        # is what a line descending to the right needs.
        rot = cv2.getRotationMatrix2D((dw / 2.0, dh / 2.0), skew, 1.0)
        white = (255.0, 255.0, 255.0)  # a scalar for gray images too (only [0] is used)
        upright = cv2.warpAffine(upright, rot, (dw, dh), flags=cv2.INTER_LINEAR,
                                 borderMode=cv2.BORDER_CONSTANT, borderValue=white)
        matrix = _h(rot) @ matrix
    width, height = (full_h, full_w) if rotation in (90, 270) else (full_w, full_h)
    return np.ascontiguousarray(upright), Geometry(matrix=matrix[:2], width=width,
                                                   height=height)


def crop_line(image: np.ndarray, quad: np.ndarray, *, turn_tall: bool = True) -> np.ndarray:
    """The line under `quad` (corners top-left, top-right, bottom-right, bottom-left of
    the text as it reads), warped to a horizontal strip as PaddleOCR crops lines. With
    `turn_tall`, strips much taller than wide are turned: on a page of unknown
    orientation they are vertical text. A strip taller than twice the recogniser's input
    is made from a shrunk copy of its region, so it is not aliased."""
    pts = np.asarray(quad, dtype=np.float32).reshape(4, 2)
    width = int(max(np.linalg.norm(pts[0] - pts[1]), np.linalg.norm(pts[2] - pts[3])))
    height = int(max(np.linalg.norm(pts[0] - pts[3]), np.linalg.norm(pts[1] - pts[2])))
    width, height = max(width, 1), max(height, 1)
    shrink = min(1.0, LINE_MAX_HEIGHT / height)
    if shrink < 1.0:
        x0, y0 = np.floor(pts.min(axis=0)).astype(int)
        x1, y1 = np.ceil(pts.max(axis=0)).astype(int) + 1
        x0, y0 = max(0, x0), max(0, y0)
        region = image[y0:y1, x0:x1]
        if region.size:
            small = cv2.resize(region, (max(1, round(region.shape[1] * shrink)),
                                        max(1, round(region.shape[0] * shrink))),
                               interpolation=cv2.INTER_AREA)
            image, pts = small, (pts - [x0, y0]) * shrink
            width, height = max(1, round(width * shrink)), max(1, round(height * shrink))
    dst = np.array([[0, 0], [width, 0], [width, height], [0, height]], np.float32)
    strip = cv2.warpPerspective(image, cv2.getPerspectiveTransform(pts.astype(np.float32),
                                                                   dst),
                                (width, height), borderMode=cv2.BORDER_REPLICATE,
                                flags=cv2.INTER_CUBIC)
    if turn_tall and height >= 1.5 * width:
        strip = np.rot90(strip)
    return np.ascontiguousarray(strip)


def recognize_with(reader: LineReader, image: np.ndarray) -> list[OcrLine]:
    """`OcrEngine.recognize` for an engine that can detect and read cut lines: detect on
    `image`, cut each line, read it; boxes in `image` pixels, empty readings dropped."""
    quads = reader.detect(image)
    if len(quads) == 0:
        return []
    read = reader.read_lines([crop_line(image, quad) for quad in quads])
    lines: list[OcrLine] = []
    for quad, (text, score) in zip(quads, read, strict=True):
        text = text.strip()
        if not text:
            continue
        x0, y0 = quad.min(axis=0)
        x1, y1 = quad.max(axis=0)
        lines.append(OcrLine(text=text, confidence=score,
                             box=(float(x0), float(y0), float(x1), float(y1))))
    return lines


def line_input_width(width: int) -> int:
    """The padded recogniser input width for a line `width` px wide at 48 px high."""
    for bucket in LINE_WIDTHS:
        if width <= bucket:
            return bucket
    return max(LINE_WIDTHS[-1], math.ceil(width / 640) * 640)


# -- paper border and documents photographed on a desk -------------------------------

FIND_SIDE = 800
"""Long side of the copy used to look for the paper edge or a card outline."""
CARD_ASPECT = 85.6 / 54.0
"""ISO/IEC 7810 ID-1 (resident ID card, bank card)."""
MIN_DOC_AREA = 0.08
MAX_DOC_AREA = 0.92
MIN_DOC_CONTRAST = 25.0
"""A document photographed on a desk is brighter than the desk by at least this many grey
levels; a photocopied card on white paper is darker than its surroundings and is not
mistaken for a photo."""


@dataclass(frozen=True)
class Document:
    """A card or sheet found in a photo: its corners in image pixels (top-left, top-right,
    bottom-right, bottom-left, long side first) and the size of the straightened copy."""

    quad: np.ndarray
    size: tuple[int, int]
    kind: Literal["card", "sheet"]

    @property
    def homography(self) -> np.ndarray:
        """3x3, image pixels -> straightened document pixels."""
        w, h = self.size
        dst = np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=np.float32)
        return cv2.getPerspectiveTransform(self.quad.astype(np.float32), dst).astype(np.float64)

    def straighten(self, image: np.ndarray) -> np.ndarray:
        white = (255.0, 255.0, 255.0)  # a scalar for gray images too (only [0] is used)
        return cv2.warpPerspective(image, self.homography, self.size, flags=cv2.INTER_LINEAR,
                                   borderMode=cv2.BORDER_CONSTANT, borderValue=white)


def _order_quad(quad: np.ndarray) -> np.ndarray:
    """Corners as top-left, top-right, bottom-right, bottom-left; then turned so that the
    first edge is a long one (the straightened copy is landscape for cards)."""
    pts = quad.reshape(4, 2).astype(np.float64)
    centre = pts.mean(axis=0)
    angles = np.arctan2(pts[:, 1] - centre[1], pts[:, 0] - centre[0])
    pts = pts[np.argsort(angles)]  # clockwise in image coordinates (y down), from left-ish
    start = int(np.argmin(pts.sum(axis=1)))  # top-left: smallest x + y
    return np.roll(pts, -start, axis=0)


def _quad_of(contour: np.ndarray) -> np.ndarray | None:
    hull = cv2.convexHull(contour)
    peri = cv2.arcLength(hull, True)
    for eps in (0.02, 0.04, 0.06, 0.08):
        approx = cv2.approxPolyDP(hull, eps * peri, True)
        if len(approx) == 4:
            return approx.reshape(4, 2).astype(np.float64)
        if len(approx) < 4:
            break
    return None


def find_document(image: np.ndarray) -> Document | None:
    """A card or sheet lying on a darker background (a phone photo on a desk), or None.

    Scans (paper to the edges, or a photocopied card on white paper) return None. The
    straightened copy keeps the document's resolution in the photo (no upsampling: the
    quality gate judges what the camera captured).
    """
    small, scale = downscale(ensure_uint8(image), FIND_SIDE)
    gray = cv2.GaussianBlur(to_gray(small), (5, 5), 0)
    h, w = gray.shape
    area = float(h * w)
    _, bright = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    edges = cv2.dilate(cv2.Canny(gray, 40, 120), np.ones((3, 3), np.uint8))
    candidates: list[tuple[float, np.ndarray]] = []
    for mask in (bright, edges):
        contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        for contour in contours:
            c_area = cv2.contourArea(cv2.convexHull(contour))
            if not MIN_DOC_AREA * area <= c_area <= MAX_DOC_AREA * area:
                continue
            quad = _quad_of(contour)
            if quad is not None and cv2.isContourConvex(quad.astype(np.float32)):
                candidates.append((cv2.contourArea(quad.astype(np.float32)), quad))
    for _, quad in sorted(candidates, key=lambda c: -c[0]):
        inside = np.zeros((h, w), np.uint8)
        cv2.fillConvexPoly(inside, np.round(quad).astype(np.int32), (1,))
        # Compare the document with what surrounds it, not the whole rest of the photo.
        ring = cv2.dilate(inside, np.ones((25, 25), np.uint8)) - inside
        core = cv2.erode(inside, np.ones((9, 9), np.uint8))
        if ring.sum() < 100 or core.sum() < 100:
            continue
        if float(np.median(gray[core > 0])) - float(np.median(gray[ring > 0])) < \
                MIN_DOC_CONTRAST:
            continue
        ordered = _order_quad(quad / scale)
        top = float(np.linalg.norm(ordered[1] - ordered[0])
                    + np.linalg.norm(ordered[2] - ordered[3]))
        side = float(np.linalg.norm(ordered[3] - ordered[0])
                     + np.linalg.norm(ordered[2] - ordered[1]))
        if side > top:
            ordered = np.roll(ordered, -1, axis=0)
            top, side = side, top
        aspect = top / max(side, 1e-6)
        if not 1.0 <= aspect <= 2.2:
            continue
        kind: Literal["card", "sheet"] = ("card" if abs(aspect - CARD_ASPECT) < 0.2
                                          else "sheet")
        if kind == "card":
            # Perspective shortens one side; the card's true proportions are known.
            out_w = round(top / 2)
            size = (out_w, round(out_w / CARD_ASPECT))
        else:
            size = (round(top / 2), round(side / 2))
        return Document(quad=ordered, size=size, kind=kind)
    return None


def find_paper(image: np.ndarray) -> Crop | None:
    """The paper inside a dark scanner border (ADF with a black backing), as a crop box;
    None when the page reaches the image edges (the usual case)."""
    small, scale = downscale(ensure_uint8(image), FIND_SIDE)
    gray = to_gray(small)
    h, w = gray.shape
    frame = max(2, round(0.01 * min(h, w)))
    border = np.concatenate([gray[:frame].ravel(), gray[-frame:].ravel(),
                             gray[:, :frame].ravel(), gray[:, -frame:].ravel()])
    if float(np.median(border)) >= 100:
        return None
    _, paper = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    count, _labels, stats, _ = cv2.connectedComponentsWithStats(paper, connectivity=8)
    if count < 2:
        return None
    best = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    x, y, cw, ch, _comp_area = (int(v) for v in stats[best])
    if not 0.3 * h * w <= cw * ch <= 0.98 * h * w:
        return None
    full_h, full_w = image.shape[:2]
    x0, y0 = max(0, int((x + 1) / scale)), max(0, int((y + 1) / scale))
    x1, y1 = min(full_w, int((x + cw - 1) / scale)), min(full_h, int((y + ch - 1) / scale))
    if x1 - x0 < 32 or y1 - y0 < 32:
        return None
    return (x0, y0, x1, y1)
