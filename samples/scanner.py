"""What a service-centre scanner or a phone makes of a clean page: `degrade` (grey, skew,
blur, noise, uneven light, JPEG artefacts), the scanner's output files (PNG, JPEG,
multi-page TIFF, scanned PDF, born-digital PDF) and `photo_on_desk`.
"""

from __future__ import annotations

import io
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from samples.documents import A4_SIZE, DPI, Level, SamplePage, load_font

# --------------------------------------------------------------------------------------
# Scanner degradation
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Degradation:
    skew: float  # max degrees either way
    blur: tuple[float, float]  # Gaussian sigma range, px
    noise: float  # sensor noise sigma, grey levels
    light: float  # amplitude of uneven illumination (fraction of white)
    jpeg: tuple[int, int]  # quality range


_LEVELS: dict[str, _Degradation] = {
    "light": _Degradation(0.7, (0.3, 0.6), 3.0, 0.05, (82, 92)),
    "medium": _Degradation(1.5, (0.6, 1.0), 6.0, 0.12, (60, 75)),
}


def degrade(
    image: Image.Image,
    rng: random.Random,
    *,
    level: Level = "light",
    grey: bool | None = None,
    rotate: int = 0,
) -> Image.Image:
    """What a flatbed/ADF scanner makes of a clean page: optional grey conversion, a slight
    skew, mild blur, sensor noise, uneven illumination and JPEG artefacts. Text stays
    legible: this feeds OCR tests, it is not meant to defeat OCR.

    `grey` None picks at random (most service-centre scans are grey). `rotate` turns the
    result clockwise by that many degrees (90/180/270 for a page fed the wrong way); off by
    default.
    """
    p = _LEVELS[level]
    nrng = np.random.default_rng(rng.getrandbits(64))
    if grey is None:
        grey = rng.random() < 0.7
    src = image.convert("L" if grey else "RGB")
    arr: np.ndarray = np.asarray(src)
    h, w = arr.shape[:2]
    # Skew about the page centre (OpenCV: several times faster than Image.rotate).
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), rng.uniform(-p.skew, p.skew), 1.0)
    border = 250 if grey else (250, 250, 250)
    arr = cv2.warpAffine(
        arr, matrix, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
        borderValue=border,
    )  # fmt: skip
    arr = cv2.GaussianBlur(arr, (0, 0), rng.uniform(*p.blur))
    # Uneven illumination: a gentle linear gradient plus darker side edges (lid not flat).
    # Smooth, so computed on a small grid and scaled up.
    sh, sw = h // 16, w // 16
    ys, xs = np.mgrid[0:sh, 0:sw].astype(np.float32)
    gx, gy = rng.uniform(-1, 1), rng.uniform(-1, 1)
    gradient = 1 - p.light * 0.5 * (1 + (gx * xs / sw + gy * ys / sh) / 2)
    edge = 1 - p.light * 0.6 * (np.abs(xs / sw - 0.5) * 2) ** 4
    shade = cv2.resize((gradient * edge).astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR)
    if not grey:
        shade = shade[..., None]
    noise = nrng.standard_normal(arr.shape, dtype=np.float32) * np.float32(p.noise)
    out_arr = np.clip(arr.astype(np.float32) * shade + noise, 0, 255).astype(np.uint8)
    out = Image.fromarray(out_arr, "L" if grey else "RGB")
    buf = io.BytesIO()
    out.save(buf, "JPEG", quality=rng.randint(*p.jpeg))
    out = Image.open(io.BytesIO(buf.getvalue()))
    out.load()
    if rotate % 360:
        out = out.rotate(-rotate, expand=True, fillcolor=250 if grey else (250, 250, 250))
    return out


# --------------------------------------------------------------------------------------
# Scanner output files
# --------------------------------------------------------------------------------------


def write_images(path: Path, images: Sequence[Image.Image]) -> None:
    """Write scanned pages in the format the suffix names: .png/.jpg (one page), .tif
    (multi-page, JPEG-compressed) or .pdf (multi-page, images embedded)."""
    suffix = path.suffix.lower()
    first, rest = images[0], list(images[1:])
    if suffix in (".png", ".jpg", ".jpeg") and rest:
        raise ValueError(f"{path.name}: a {suffix} file holds one page, got {len(images)}")
    if suffix == ".png":
        first.save(path, "PNG", dpi=(DPI, DPI))
    elif suffix in (".jpg", ".jpeg"):
        first.save(path, "JPEG", quality=85, dpi=(DPI, DPI))
    elif suffix in (".tif", ".tiff"):
        first.save(
            path, "TIFF", save_all=True, append_images=rest, compression="jpeg", quality=85,
            dpi=(DPI, DPI),
        )  # fmt: skip
    elif suffix == ".pdf":
        first.save(path, "PDF", save_all=True, append_images=rest, resolution=float(DPI))
    else:
        raise ValueError(f"unsupported scan format {suffix!r}")


def write_text_pdf(path: Path, pages: Sequence[SamplePage]) -> None:
    """A born-digital PDF (text layer, no images) with the same layout as `pages`, in
    reportlab's built-in CID font STSong-Light so that pdfplumber can extract the text."""
    from reportlab.lib.colors import Color
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas as rl_canvas

    if "STSong-Light" not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    k = 72 / DPI  # px -> pt
    width_pt, height_pt = A4_SIZE[0] * k, A4_SIZE[1] * k
    # invariant=1: no timestamp or random document id, so output is reproducible.
    c = rl_canvas.Canvas(str(path), pagesize=(width_pt, height_pt), invariant=1)
    for page in pages:
        for shape in page.shapes:
            x0, y0, x1, y1 = shape.coords
            c.setLineWidth(shape.width * k)
            if shape.kind == "line":
                c.line(x0 * k, height_pt - y0 * k, x1 * k, height_pt - y1 * k)
            elif shape.kind == "rect":
                c.rect(x0 * k, height_pt - y1 * k, (x1 - x0) * k, (y1 - y0) * k)
            else:
                c.setStrokeColor(Color(0.85, 0.2, 0.2))
                c.setLineWidth(2)
                c.circle(x0 * k, height_pt - y0 * k, x1 * k)
                c.setStrokeColor(Color(0, 0, 0))
        for t in page.texts:
            size_pt = t.size * k
            c.setFont("STSong-Light", size_pt)
            ascent = load_font(t.size, t.bold, t.serif).getmetrics()[0]
            baseline = height_pt - (t.y + ascent) * k
            if t.align == "m":
                c.drawCentredString(t.x * k, baseline, t.text)
            elif t.align == "r":
                c.drawRightString(t.x * k, baseline, t.text)
            else:
                c.drawString(t.x * k, baseline, t.text)
        c.showPage()
    c.save()


# --------------------------------------------------------------------------------------
# Phone photos of a card on a desk
# --------------------------------------------------------------------------------------


def photo_on_desk(
    card: Image.Image, rng: random.Random, *, size: tuple[int, int] = (2000, 1500)
) -> tuple[Image.Image, np.ndarray]:
    """A phone photo of `card` (an unscaled card face, e.g. `render_id_card_front(...)
    .image`) lying on a wooden desk: turned by up to ±25°, seen at a slant (perspective),
    unevenly lit, slightly blurred and JPEG-compressed. Returns the photo and the card's
    corners in it (top-left, top-right, bottom-right, bottom-left of the card face)."""
    w, h = size
    nrng = np.random.default_rng(rng.getrandbits(64))
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    grain = np.sin(xs / rng.uniform(9, 15) + 3 * np.sin(ys / rng.uniform(90, 160)))
    base = np.array([rng.uniform(70, 110), rng.uniform(95, 130), rng.uniform(125, 160)],
                    np.float32)  # BGR: brown wood
    desk = base[None, None, :] * (1 + 0.08 * grain[..., None])
    cw, ch = card.size
    scale = rng.uniform(0.62, 0.78) * w / cw
    angle = math.radians(rng.uniform(-25, 25))
    cx, cy = w / 2 + rng.uniform(-0.08, 0.08) * w, h / 2 + rng.uniform(-0.08, 0.08) * h
    corners = []
    for px, py in ((-cw / 2, -ch / 2), (cw / 2, -ch / 2), (cw / 2, ch / 2), (-cw / 2, ch / 2)):
        x, y = px * scale, py * scale
        corners.append((cx + x * math.cos(angle) - y * math.sin(angle),
                        cy + x * math.sin(angle) + y * math.cos(angle)))
    quad = np.array(corners, np.float32)
    # Perspective: the edge further from the camera looks shorter.
    squeeze = rng.uniform(0.03, 0.10) * cw * scale
    quad[0, 0] += squeeze
    quad[1, 0] -= squeeze
    src = np.array([[0, 0], [cw, 0], [cw, ch], [0, ch]], np.float32)
    matrix = cv2.getPerspectiveTransform(src, quad)
    face = cv2.cvtColor(np.asarray(card.convert("RGB")), cv2.COLOR_RGB2BGR)
    warped = cv2.warpPerspective(face, matrix, (w, h), flags=cv2.INTER_AREA)
    mask = cv2.warpPerspective(np.full((ch, cw), 255, np.uint8), matrix, (w, h))
    shadow = cv2.GaussianBlur(mask, (0, 0), 12).astype(np.float32)[..., None] / 255.0
    photo = desk * (1 - 0.35 * np.roll(shadow, (12, 10), axis=(0, 1)))
    alpha = (mask.astype(np.float32) / 255.0)[..., None]
    photo = photo * (1 - alpha) + warped.astype(np.float32) * alpha
    light = 1 - 0.18 * ((xs / w - rng.uniform(0.2, 0.8)) ** 2 + (ys / h - 0.5) ** 2)
    photo = photo * light[..., None] + nrng.normal(0, 3.0, photo.shape)
    photo = cv2.GaussianBlur(np.clip(photo, 0, 255).astype(np.uint8), (0, 0), 0.7)
    out = Image.fromarray(cv2.cvtColor(photo, cv2.COLOR_BGR2RGB))
    buf = io.BytesIO()
    out.save(buf, "JPEG", quality=rng.randint(80, 90))
    out = Image.open(io.BytesIO(buf.getvalue()))
    out.load()
    return out, quad
