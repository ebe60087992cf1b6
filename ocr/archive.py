"""The searchable archive copy: original pages plus an invisible text layer, as one PDF.

Pure: bytes of the original files and their `OcrPage`s in, PDF bytes out. The scans are
not re-encoded: PDF pages are copied as they are (their image streams untouched), JPEG
files are embedded as their DCT stream, PNG as their deflate stream and G4 TIFF as CCITT
(img2pdf's direct embedding). Only images that PDF cannot carry as they are (an alpha
channel, JPEG-in-TIFF, ...) are re-encoded, losslessly (PNG/deflate).

Text is drawn in render mode 3 (invisible) with a Type0 font (``Identity-H``, a
``ToUnicode`` CMap where code = Unicode), one text object per OCR line, stretched over
the line's box, so pdfium, poppler and viewers find, select and copy it where the reader
sees it. Born-digital pages (``method == "text_layer"``) already carry their text and get
no second layer.
"""

from __future__ import annotations

import io
import logging
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pikepdf
from pikepdf import Array, Dictionary, Name

from ocr.prepare import rotation_matrix
from ocr.sources import ImageSource, Limits, detect_format, stored_bytes
from ocr.types import OcrLine, OcrPage

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ArchiveFile:
    """One original file and what was read from it: `pages[i]` is page i + 1 of the file
    (None: unreadable; the page is archived without text)."""

    data: bytes
    pages: Sequence[OcrPage | None]


def build_archive(files: Sequence[ArchiveFile], *, title: str = "") -> bytes:
    """One PDF of every page of `files`, in order, with the OCR text invisibly on top.
    Files that cannot be opened at all are skipped (they were already reported as
    unreadable when the batch was read)."""
    out = pikepdf.new()
    font = out.make_indirect(_font(out))
    opened: list[pikepdf.Pdf] = []
    try:
        for item in files:
            try:
                src = pikepdf.open(io.BytesIO(_as_pdf(item.data)))
            except Exception:
                log.warning("archive: a file could not be converted and is left out",
                            exc_info=True)
                continue
            opened.append(src)
            for index, page in enumerate(src.pages):
                out.pages.append(page)
                ocr = item.pages[index] if index < len(item.pages) else None
                if ocr is not None and ocr.method == "ocr" and ocr.lines:
                    _add_text_layer(out, out.pages[-1], ocr, font)
        if title:
            out.docinfo[Name.Title] = title
        buf = io.BytesIO()
        # Streams are copied as they are, never decoded: an original's stream may
        # inflate to gigabytes (a Flate bomb the reader refused).
        out.save(buf, compress_streams=True, deterministic_id=True,
                 stream_decode_level=pikepdf.StreamDecodeLevel.none)
        return buf.getvalue()
    finally:
        for src in opened:
            src.close()
        out.close()


# -- originals as PDF pages ----------------------------------------------------------

def _as_pdf(data: bytes) -> bytes:
    fmt = detect_format(data)
    if fmt == "pdf":
        return data
    if fmt is None:
        raise ValueError("not a PDF or image file")
    import img2pdf

    _refuse_beyond_budget(data)
    try:
        # Direct embedding (no re-encoding); EXIF orientation becomes the page /Rotate,
        # which is how the reader saw the page (`ImageOps.exif_transpose`).
        return bytes(img2pdf.convert(data, rotation=img2pdf.Rotation.ifvalid))
    except Exception:
        log.info("archive: image needs a lossless re-encode", exc_info=True)
    import cv2

    pngs = []
    source = ImageSource(data, "archive", fmt, limits=Limits())
    try:
        for index in range(source.page_count):
            page = source.read_page(index)
            ok, png = cv2.imencode(".png", page.image)
            if not ok:
                raise ValueError("cannot encode page")
            pngs.append(png.tobytes())
    finally:
        source.close()
    return bytes(img2pdf.convert(pngs))


def _refuse_beyond_budget(data: bytes) -> None:
    """Embedding an image can mean decoding it (img2pdf re-encodes PNG, Pillow converts
    the rest): an image beyond the reader's decode budget — a pixel bomb whose page was
    refused — is left out of the archive rather than decoded here (+550 MB for a
    144-megapixel PNG)."""
    from PIL import Image

    limit = Limits().max_decoded_bytes
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
            if width * height * stored_bytes(image.mode) > limit:
                raise ValueError(f"image of {width} x {height} beyond the decode budget")


# -- the invisible text layer --------------------------------------------------------

def _to_unicode_cmap() -> bytes:
    ranges = [f"<{hi:02X}00> <{hi:02X}FF> <{hi:02X}00>" for hi in range(256)
              if not 0xD8 <= hi <= 0xDF]
    blocks = []
    for start in range(0, len(ranges), 100):
        chunk = ranges[start:start + 100]
        blocks.append(f"{len(chunk)} beginbfrange\n" + "\n".join(chunk) + "\nendbfrange")
    return ("/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n"
            "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"
            "/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n"
            "1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n"
            + "\n".join(blocks)
            + "\nendcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n"
            ).encode("ascii")


def _font(pdf: pikepdf.Pdf) -> Dictionary:
    descriptor = pdf.make_indirect(Dictionary(
        Type=Name.FontDescriptor, FontName=Name("/GlyphLessFont"), Flags=5,
        FontBBox=Array([0, -200, 1000, 800]), ItalicAngle=0, Ascent=800, Descent=-200,
        CapHeight=800, StemV=80))
    cid_font = pdf.make_indirect(Dictionary(
        Type=Name.Font, Subtype=Name.CIDFontType2, BaseFont=Name("/GlyphLessFont"),
        CIDSystemInfo=Dictionary(Registry=pikepdf.String("Adobe"),
                                 Ordering=pikepdf.String("Identity"), Supplement=0),
        FontDescriptor=descriptor, DW=1000, CIDToGIDMap=Name.Identity))
    return Dictionary(
        Type=Name.Font, Subtype=Name.Type0, BaseFont=Name("/GlyphLessFont"),
        Encoding=Name("/Identity-H"), DescendantFonts=Array([cid_font]),
        ToUnicode=pdf.make_stream(_to_unicode_cmap()))


def _page_to_pdf(page: pikepdf.Page, ocr: OcrPage) -> np.ndarray:
    """3x3 matrix (or homography) from the OcrPage's pixel coordinates to PDF user
    space of `page` (y up), through /Rotate and the box origin."""
    box = [float(v) for v in (page.obj.get(Name.CropBox) or page.mediabox)]
    bx0, by0 = min(box[0], box[2]), min(box[1], box[3])
    bw, bh = abs(box[2] - box[0]), abs(box[3] - box[1])
    r_pdf = int(page.obj.get(Name.Rotate, 0)) % 360
    wd, hd = (bw, bh) if r_pdf in (0, 180) else (bh, bw)
    # page pixels -> displayed raster (y down) -> displayed points (y up)
    if ocr.warp is not None:
        # a photographed document: `warp` goes to fractions of the photo's width/height
        to_raster = np.array(ocr.warp, dtype=np.float64).reshape(3, 3)
        wr, hr = 1.0, 1.0
    else:
        sideways = ocr.rotation % 180 == 90
        wr, hr = (ocr.height, ocr.width) if sideways else (ocr.width, ocr.height)
        to_raster = np.linalg.inv(rotation_matrix(ocr.rotation, wr, hr))
    to_display = np.array([[wd / wr, 0, 0], [0, -hd / hr, hd], [0, 0, 1]], dtype=np.float64)
    # displayed (y up) -> user space, undoing the clockwise /Rotate
    undo = {0: [[1, 0, 0], [0, 1, 0]], 90: [[0, -1, bw], [1, 0, 0]],
            180: [[-1, 0, bw], [0, -1, bh]], 270: [[0, 1, 0], [-1, 0, bh]]}[r_pdf]
    to_user = np.vstack([np.array(undo, dtype=np.float64), [0, 0, 1]])
    origin = np.array([[1, 0, bx0], [0, 1, by0], [0, 0, 1]], dtype=np.float64)
    return origin @ to_user @ to_display @ to_raster


def _apply(m: np.ndarray, pts: np.ndarray) -> np.ndarray:
    homo = np.concatenate([pts.astype(np.float64), np.ones((len(pts), 1))], axis=1) @ m.T
    return homo[:, :2] / homo[:, 2:3]


def _encode(text: str) -> str:
    return "".join(f"{ord(c):04X}" if ord(c) <= 0xFFFF and not 0xD800 <= ord(c) <= 0xDFFF
                   else "FFFD" for c in text)


def _line_ops(line: OcrLine, to_pdf: np.ndarray) -> str:
    text = line.text
    x0, y0, x1, y1 = line.box
    if not text or x1 <= x0 or y1 <= y0:
        return ""
    # baseline at the box bottom, one em = the box height, the string stretched to the
    # box width: each glyph is 1 unit wide (DW 1000) at font size 1
    p0, p1, p2 = _apply(to_pdf, np.array([[x0, y1], [x1, y1], [x0, y0]]))
    a, b = (p1 - p0) / len(text)
    c, d = p2 - p0
    e, f = p0
    return (f"{a:.4f} {b:.4f} {c:.4f} {d:.4f} {e:.3f} {f:.3f} Tm <{_encode(text)}> Tj\n")


def _add_text_layer(pdf: pikepdf.Pdf, page: pikepdf.Page, ocr: OcrPage,
                    font: pikepdf.Object) -> None:
    to_pdf = _page_to_pdf(page, ocr)
    name = page.add_resource(font, Name.Font, prefix="OCR")
    body = "".join(_line_ops(line, to_pdf) for line in ocr.lines)
    # q/Q around the original content: whatever state it leaves does not move our text
    page.contents_add(pdf.make_stream(b"q\n"), prepend=True)
    page.contents_add(pdf.make_stream(
        f"Q\nq\nBT\n3 Tr\n{name} 1 Tf\n{body}ET\nQ\n".encode("ascii")), prepend=False)
