"""Builders for synthetic scans and files used by the OCR tests.

Pages are drawn with Noto Sans CJK SC, like a printed form, and then degraded the way a
window scanner degrades them (blur, sensor noise, JPEG). Every builder returns what it
drew (text and box), so tests can check both what OCR read and where.
"""

from __future__ import annotations

import io
import struct
import zlib
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont
from stdnum.cn import ric, uscc

FONT_PATH = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
FONT_INDEX_SC = 2

# Real, checksum-valid identifiers (computed, not typed: a wrong check digit would let a
# test pass on an impossible number).
RIC = "11010519491231002X"
assert ric.is_valid(RIC)
USCC = "91350211MA2Y1234X" + uscc.calc_check_digit("91350211MA2Y1234X")
assert uscc.is_valid(USCC)

A4_150DPI = (1240, 1754)


@dataclass(frozen=True)
class Drawn:
    text: str
    box: tuple[float, float, float, float]


FORM_LINES: list[tuple[str, tuple[int, int]]] = [
    ("居民身份证申领登记表", (420, 160)),
    ("姓名 张三", (140, 300)),
    ("性别 男", (760, 300)),
    ("公民身份号码 " + RIC, (140, 420)),
    ("统一社会信用代码 " + USCC, (140, 540)),
    ("住址 北京市东城区景山前街4号", (140, 660)),
    ("申请日期 2024年3月15日", (140, 780)),
]


def draw_page(lines: list[tuple[str, tuple[int, int]]] = FORM_LINES,
              size: tuple[int, int] = A4_150DPI, font_px: int = 34) -> tuple[np.ndarray,
                                                                            list[Drawn]]:
    """A white gray page with `lines` drawn at their top-left positions."""
    image = Image.new("L", size, 255)
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(FONT_PATH, font_px, index=FONT_INDEX_SC)
    drawn = []
    for text, (x, y) in lines:
        draw.text((x, y), text, font=font, fill=20)
        x0, y0, x1, y1 = draw.textbbox((x, y), text, font=font)
        drawn.append(Drawn(text, (float(x0), float(y0), float(x1), float(y1))))
    return np.asarray(image).copy(), drawn


def degrade(image: np.ndarray, *, seed: int = 0, blur: float = 0.8,
            noise: float = 8.0) -> np.ndarray:
    """Slight optical blur and sensor noise."""
    rng = np.random.default_rng(seed)
    out = cv2.GaussianBlur(image, (0, 0), blur).astype(np.float32)
    out += rng.normal(0.0, noise, out.shape).astype(np.float32)
    return np.clip(out, 0, 255).astype(np.uint8)


def encode(image: np.ndarray, fmt: str, **params: object) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format=fmt, **params)
    return buffer.getvalue()


def rotate_ccw(image: np.ndarray, degrees: int) -> np.ndarray:
    """The page as it lies when the applicant put it in the scanner turned `degrees`
    counter-clockwise (so the reader must turn it `degrees` clockwise)."""
    codes = {90: cv2.ROTATE_90_COUNTERCLOCKWISE, 180: cv2.ROTATE_180,
             270: cv2.ROTATE_90_CLOCKWISE}
    return image if degrees % 360 == 0 else cv2.rotate(image, codes[degrees % 360])


def skew(image: np.ndarray, degrees: float) -> np.ndarray:
    """Rotate by `degrees` clockwise (as a crooked sheet on the glass), white background."""
    h, w = image.shape[:2]
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), -degrees, 1.0)
    return cv2.warpAffine(image, matrix, (w, h), borderValue=255)


def blank_scan(size: tuple[int, int] = A4_150DPI, seed: int = 1) -> np.ndarray:
    """An empty sheet as a scanner returns it: off-white paper, noise, dust specks,
    faint show-through from the back side and a dark border along two edges."""
    rng = np.random.default_rng(seed)
    w, h = size
    page = np.full((h, w), 236, np.float32)
    page += rng.normal(0, 6, page.shape).astype(np.float32)
    # show-through: light grey text mirrored from the back
    back, _ = draw_page(size=size)
    page = np.minimum(page, np.where(back[:, ::-1] < 128, 205, 255).astype(np.float32))
    for _ in range(40):  # dust: single dark pixels
        page[rng.integers(0, h), rng.integers(0, w)] = 30
    page[:, :18] = 15      # dark border of the scanner lid
    page[h - 25:, :] = 25
    return np.clip(page, 0, 255).astype(np.uint8)


def tiff_pages(pages: list[np.ndarray], compression: str = "group4") -> bytes:
    """Multi-page bilevel TIFF (CCITT G4 by default, as fax-style scanners write)."""
    frames = [Image.fromarray(p).point(lambda v: 255 if v > 140 else 0).convert("1")
              for p in pages]
    buffer = io.BytesIO()
    frames[0].save(buffer, format="TIFF", save_all=True, append_images=frames[1:],
                   compression=compression, dpi=(150, 150))
    return buffer.getvalue()


def image_pdf(pages: list[np.ndarray], dpi: float = 150.0) -> bytes:
    """A "scanned" PDF: one JPEG image per page, no text layer."""
    frames = [Image.fromarray(p).convert("RGB") for p in pages]
    buffer = io.BytesIO()
    frames[0].save(buffer, format="PDF", save_all=True, append_images=frames[1:],
                   resolution=dpi)
    return buffer.getvalue()


def text_pdf(lines: list[tuple[str, float, float]], *, password: str | None = None,
             owner_password: str | None = None) -> bytes:
    """A born-digital A4 PDF with a real text layer in Adobe's STSong-Light CID font
    (reportlab built-in, as many government PDF writers use). Lines are
    (text, x, y-from-top) in points. Optionally encrypted."""
    from reportlab.lib import pdfencrypt
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    encrypt = None
    if password is not None or owner_password is not None:
        encrypt = pdfencrypt.StandardEncryption(password or "", owner_password or "owner",
                                                strength=128)
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4, encrypt=encrypt)
    _, height = A4
    pdf.setFont("STSong-Light", 14)
    for text, x, y in lines:
        pdf.drawString(x, height - y, text)
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def png_bomb(width: int, height: int) -> bytes:
    """A tiny PNG that declares `width` x `height` pixels (a decompression bomb)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1-bit gray
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
            + chunk(b"IDAT", zlib.compress(b"\x00" * 1024)) + chunk(b"IEND", b""))


def pdf_with_huge_image(width: int = 100_000, height: int = 100_000) -> bytes:
    """Two pages: page 1 draws an image XObject declaring `width` x `height` pixels (a
    bomb: its data is a few bytes of Flate), page 2 carries ordinary text."""
    text = b"BT /F1 18 Tf 72 700 Td (Page two carries an ordinary text layer.) Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R 4 0 R] /Count 2 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 5 0 R "
        b"/Resources << /XObject << /Im1 6 0 R >> >> >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 7 0 R "
        b"/Resources << /Font << /F1 8 0 R >> >> >>",
        stream(b"q 612 0 0 792 0 0 cm /Im1 Do Q"),
        stream(zlib.compress(b"\x00" * 64),
                f"/Type /XObject /Subtype /Image /Width {width} /Height {height} "
                "/ColorSpace /DeviceGray /BitsPerComponent 8 /Filter /FlateDecode".encode()),
        stream(text),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    return build_pdf(objects)


def build_pdf(objects: list[bytes]) -> bytes:
    """A PDF of numbered objects (object 1 is the catalog) with a correct xref table."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += (f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\n"
            f"startxref\n{xref}\n%%EOF\n").encode()
    return bytes(out)


def stream(data: bytes, extra: bytes = b"") -> bytes:
    return (b"<< " + extra + b" /Length " + str(len(data)).encode() + b" >>\nstream\n"
            + data + b"\nendstream")


def iou(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def photocopy(image: np.ndarray, *, seed: int = 0, skew_degrees: float = 4.0,
              turn: int = 0, generations: int = 1, scale: float = 1.0) -> np.ndarray:
    """A printed sheet photocopied `generations` times and scanned back: each copy sits a
    little crooked and out of square on the glass (rotation up to `skew_degrees`, corners
    pulled a few millimetres), loses contrast (grey toner background, washed-out black),
    blurs, and picks up toner speckle and dropouts; the scan is then resampled by `scale`,
    turned `turn` degrees counter-clockwise (fed the wrong way) and JPEG-compressed."""
    rng = np.random.default_rng(seed)
    page = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    for _ in range(generations):
        h, w = page.shape
        pull = 0.012 * min(h, w)
        src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
        dst = src + rng.uniform(-pull, pull, src.shape).astype(np.float32)
        angle = rng.uniform(-skew_degrees, skew_degrees)
        rot = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
        dst = cv2.transform(dst[None], rot)[0].astype(np.float32)
        warp = cv2.getPerspectiveTransform(src, dst)
        page = cv2.warpPerspective(page, warp, (w, h), flags=cv2.INTER_LINEAR,
                                   borderValue=235)
        out = page.astype(np.float32)
        out = 70 + out * (170 / 255)  # washed-out black, grey paper
        out = cv2.GaussianBlur(out, (0, 0), rng.uniform(0.8, 1.4))
        out += rng.normal(0, 7, out.shape).astype(np.float32)
        speckle = rng.random(out.shape)
        out[speckle < 0.002] = 40  # toner specks
        out[speckle > 0.998] = 250  # dropouts
        page = np.clip(out, 0, 255).astype(np.uint8)
    if scale != 1.0:
        page = cv2.resize(page, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    page = rotate_ccw(page, turn)
    ok, jpeg = cv2.imencode(".jpg", page, [cv2.IMWRITE_JPEG_QUALITY, 60])
    assert ok
    return cv2.imdecode(jpeg, cv2.IMREAD_GRAYSCALE)
