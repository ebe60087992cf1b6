"""Open an uploaded file and hand out its pages, one at a time.

`open_source` detects the format from the file's bytes (never from its name: window
scanners and applicants mislabel files), enforces size limits before anything large is
decoded, and returns a `Source`. `Source.read_page(i)` returns either

- an `OcrPage` read from the PDF text layer (born-digital pages: exact text, no OCR), or
- a `RasterPage` (pixels) for the OCR reader.

File-level problems raise `SourceError` from `open_source`; page-level problems raise
`SourceError` from `read_page` and leave the other pages readable.
"""

from __future__ import annotations

import io
import logging
import math
import re
import unicodedata
import warnings
from abc import ABC, abstractmethod
from dataclasses import dataclass
from importlib import metadata
from types import TracebackType
from typing import Any, Final

import cv2
import numpy as np
import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
from PIL import Image, ImageOps, UnidentifiedImageError

from ocr.errors import SourceError
from ocr.layout import reading_order
from ocr.prepare import pil_to_array
from ocr.types import OcrLine, OcrPage

log = logging.getLogger(__name__)

MB: Final = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """What we are willing to open. Exceeding one is the uploader's problem, reported with
    a code, never a crash or an out-of-memory kill of the worker."""

    max_bytes: int = 200 * MB
    max_pages: int = 500
    max_pixels_per_page: int = 60_000_000
    """Largest raster we produce for one page. Larger pages (posters, A0 plans) are
    rendered at a reduced dpi instead of being refused."""
    max_image_pixels: int = 150_000_000
    """Largest single image we agree to decode, embedded in a PDF or as an image file.
    Beyond this it is a decompression bomb (or a 1200 dpi A0 scan) and is refused.
    Pillow independently refuses image files above ~179 megapixels."""


@dataclass
class RasterPage:
    """One page as pixels. `page` is 1-based; `image` is uint8 gray or BGR; `dpi` is the
    resolution of `image` (what the file declares, or the render dpi for PDFs; 200 when
    an image file does not say)."""

    source: str
    page: int
    image: np.ndarray
    dpi: float


class Source(ABC):
    """An opened file: its format, page count and pages. Close it (or use it as a context
    manager) to release native PDF resources early.

    Not thread-safe, and PDFium is not thread-safe even across documents: open and read
    sources from one thread per process, like the OCR engine."""

    format: str
    page_count: int

    def __init__(self, name: str) -> None:
        self.name = name

    @abstractmethod
    def read_page(self, index: int) -> RasterPage | OcrPage:
        """Page `index` (0-based). Raises `SourceError` for a page-level failure."""

    @abstractmethod
    def close(self) -> None:
        """Release what the source holds; reading pages afterwards is an error."""

    def __enter__(self) -> Source:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def _check_index(self, index: int) -> None:
        if not 0 <= index < self.page_count:
            raise IndexError(f"page index {index} out of range 0..{self.page_count - 1}")


# -- format detection ----------------------------------------------------------------
# By the leading magic bytes first: a file is what it says it is at offset 0, whatever
# else it carries (a PNG with "%PDF-" in a text chunk is a PNG; a ZIP holding a PDF is a
# ZIP). Only when nothing is recognised at offset 0 is "%PDF-" looked for further in,
# because PDF readers accept up to 1 KiB of junk before the header and so must we.

_SUPPORTED: Final = (
    (b"%PDF-", "pdf"),
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"\xff\xd8\xff", "jpeg"),
    (b"II*\x00", "tiff"),
    (b"MM\x00*", "tiff"),
    (b"II+\x00", "tiff"),   # BigTIFF
    (b"MM\x00+", "tiff"),
)
PDF_HEADER_WINDOW: Final = 1024


@dataclass(frozen=True)
class Refusal:
    """Why a file is not opened: a ``file.*`` code and what the file looks like
    (Chinese, English), filled into the code's message."""

    code: str
    what_zh: str = ""
    what_en: str = ""

    def error(self) -> SourceError:
        return SourceError.of(self.code, what_zh=self.what_zh, what_en=self.what_en)


def _looks_like(code: str, zh: str, en: str) -> Refusal:
    return Refusal(code, f"（检测为{zh}）", f" (looks like {en})")


# Recognised at offset 0 but not read, named so the clerk knows what the applicant
# actually sent: (magic, offset, code, Chinese name, English name).
_UNSUPPORTED = "file.unsupported_format"
_ARCHIVE = "file.archive_unsupported"
_DOCUMENT = "file.document_unsupported"
_KNOWN_OTHERS: Final = (
    (b"GIF8", 0, _UNSUPPORTED, "GIF 动图", "a GIF image"),
    (b"BM", 0, _UNSUPPORTED, "BMP 位图", "a BMP bitmap"),
    (b"WEBP", 8, _UNSUPPORTED, "WebP 图片", "a WebP image"),
    (b"ftypheic", 4, _UNSUPPORTED, "HEIC 手机照片", "an HEIC phone photo"),
    (b"ftypheix", 4, _UNSUPPORTED, "HEIC 手机照片", "an HEIC phone photo"),
    (b"ftypmif1", 4, _UNSUPPORTED, "HEIF 手机照片", "an HEIF phone photo"),
    (b"\x00\x00\x00\x0cjP  ", 0, _UNSUPPORTED, "JPEG 2000 图片", "a JPEG 2000 image"),
    (b"AT&TFORM", 0, _UNSUPPORTED, "DjVu 文档", "a DjVu document"),
    (b"Rar!\x1a\x07", 0, _ARCHIVE, "RAR 压缩包", "a RAR archive"),
    (b"7z\xbc\xaf\x27\x1c", 0, _ARCHIVE, "7z 压缩包", "a 7z archive"),
    (b"\x1f\x8b", 0, _ARCHIVE, "gzip 压缩包", "a gzip archive"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", 0, _DOCUMENT, "旧版 Office 文档（.doc/.xls）",
     "a legacy Office document (.doc/.xls)"),
    (b"{\\rtf", 0, _DOCUMENT, "RTF 文档", "an RTF document"),
)
_ZIP_MAGICS: Final = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
_HTML: Final = re.compile(
    rb"^(\xef\xbb\xbf)?\s*(<\?xml[^>]*>\s*)?(<!--.*?-->\s*)*"
    rb"<(!doctype\s+html|html|head|body|meta|title|script)\b", re.I | re.S)

# Member names that say what a ZIP container is, most specific first.
_ZIP_KINDS: Final = (
    (b"OFD.xml", _DOCUMENT, "OFD 版式文件", "an OFD document"),
    (b"word/", _DOCUMENT, "Word 文档（.docx）", "a Word document (.docx)"),
    (b"xl/", _DOCUMENT, "Excel 表格（.xlsx）", "an Excel workbook (.xlsx)"),
    (b"ppt/", _DOCUMENT, "PowerPoint 演示文稿（.pptx）", "a PowerPoint file (.pptx)"),
    (b"mimetypeapplication/vnd.oasis.opendocument", _DOCUMENT, "OpenDocument 文档",
     "an OpenDocument file"),
)
_ZIP_DIRECTORY_SCAN: Final = 4 * MB


def _zip_member_names(data: bytes) -> bytes:
    """The bytes that hold a ZIP's member names, without unpacking anything: the central
    directory named by the end record (at most a few MiB of it), else the file's head,
    where the local headers of the first members are. Never `zipfile`: a hostile central
    directory can declare millions of entries."""
    end = data.rfind(b"PK\x05\x06", max(0, len(data) - 65_557))
    if end >= 0 and end + 22 <= len(data):
        size = int.from_bytes(data[end + 12:end + 16], "little")
        offset = int.from_bytes(data[end + 16:end + 20], "little")
        if size > 0 and offset + size <= end:
            return data[offset:offset + min(size, _ZIP_DIRECTORY_SCAN)]
    return data[:_ZIP_DIRECTORY_SCAN]


def _zip_refusal(data: bytes) -> Refusal:
    # The first members' local headers (and an OpenDocument's stored mimetype) are at
    # the head of the file.
    names = _zip_member_names(data) + data[:4096]
    for marker, code, zh, en in _ZIP_KINDS:
        if marker in names:
            return _looks_like(code, zh, en)
    if b"[Content_Types].xml" in names:
        return _looks_like(_DOCUMENT, "Office 文档", "an Office document")
    return _looks_like(_ARCHIVE, "ZIP 压缩包", "a ZIP archive")


def sniff(data: bytes) -> str | Refusal:
    """The format to read `data` as ("pdf" | "tiff" | "jpeg" | "png"), or why not."""
    for magic, fmt in _SUPPORTED:
        if data.startswith(magic):
            return fmt
    if data.startswith(_ZIP_MAGICS):
        return _zip_refusal(data)
    for magic, offset, code, zh, en in _KNOWN_OTHERS:
        if data[offset:offset + len(magic)] == magic:
            return _looks_like(code, zh, en)
    if _HTML.match(data[:4096]):
        return _looks_like(_UNSUPPORTED, " HTML 网页", "an HTML web page")
    if b"%PDF-" in data[:PDF_HEADER_WINDOW]:
        return "pdf"
    return Refusal(_UNSUPPORTED)


def detect_format(data: bytes) -> str | None:
    """"pdf" | "tiff" | "jpeg" | "png" (see `sniff`), or None."""
    found = sniff(data)
    return found if isinstance(found, str) else None


def _mb(size: int) -> str:
    return f"{size / MB:.0f}" if size >= 10 * MB else f"{size / MB:.1f}"


def open_source(data: bytes, filename: str, *, limits: Limits = Limits(),
                dpi: int = 200) -> Source:
    """Open `data` (the file's bytes; `filename` is only used to label pages and errors).

    Raises `SourceError` with a ``file.*`` code when nothing in the file can be used.
    """
    if not data:
        raise SourceError.of("file.empty")
    if len(data) > limits.max_bytes:
        raise SourceError.of("file.too_large", size_mb=_mb(len(data)),
                             limit_mb=_mb(limits.max_bytes))
    fmt = sniff(data)
    if isinstance(fmt, Refusal):
        raise fmt.error()
    if fmt == "pdf":
        return PdfSource(data, filename, limits=limits, dpi=dpi)
    return ImageSource(data, filename, fmt, limits=limits)


# -- PDF -----------------------------------------------------------------------------

_PLUMBER_VERSION: Final = f"pdfplumber {metadata.version('pdfplumber')}"


class PdfSource(Source):
    """PDF pages: text layer through pdfplumber when usable, else rendered by PDFium."""

    format = "pdf"

    def __init__(self, data: bytes, name: str, *, limits: Limits, dpi: int) -> None:
        super().__init__(name)
        self._data = data
        self._limits = limits
        self._dpi = dpi
        self._plumber: Any = None
        self._plumber_failed = False
        try:
            self._doc = pdfium.PdfDocument(data)
        except pdfium.PdfiumError as exc:
            if exc.err_code in (pdfium_c.FPDF_ERR_PASSWORD, pdfium_c.FPDF_ERR_SECURITY):
                raise SourceError.of("file.encrypted") from exc
            raise SourceError.of("file.corrupt") from exc
        self.page_count = len(self._doc)
        if self.page_count == 0:
            self.close()
            raise SourceError.of("file.empty")
        if self.page_count > limits.max_pages:
            self.close()
            raise SourceError.of("file.too_many_pages", pages=self.page_count,
                                 limit=limits.max_pages)
        try:
            # Filled-in form fields are part of what the applicant submitted.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                self._doc.init_forms()
        except Exception:  # a broken AcroForm must not cost us the page content
            log.debug("%s: could not initialise PDF forms", name, exc_info=True)

    def close(self) -> None:
        if self._plumber is not None:
            self._plumber.close()
            self._plumber = None
        self._doc.close()

    def read_page(self, index: int) -> RasterPage | OcrPage:
        self._check_index(index)
        number = index + 1
        try:
            page = self._doc[index]
        except pdfium.PdfiumError as exc:
            raise SourceError.of("page.render_failed", page=number) from exc
        try:
            if page.get_rotation() == 0:
                # pdfplumber does not map /Rotate'd pages consistently; those are OCR'd.
                text_page = self._text_layer(index)
                if text_page is not None:
                    return text_page
            return self._render(page, number)
        except SourceError:
            raise
        except Exception as exc:  # PDFium object walk or render on a damaged page
            raise SourceError.of("page.render_failed", page=number) from exc
        finally:
            page.close()

    def _render(self, page: pdfium.PdfPage, number: int) -> RasterPage:
        limits = self._limits
        for obj in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE], max_depth=8):
            try:
                w, h = obj.get_px_size()
            except Exception:
                continue
            if w * h > limits.max_image_pixels:
                raise SourceError.of("page.too_many_pixels", page=number,
                                     mpixels=round(w * h / 1e6),
                                     limit=round(limits.max_image_pixels / 1e6))
        width_pt, height_pt = page.get_size()
        if not (width_pt > 0 and height_pt > 0):
            raise SourceError.of("page.render_failed", page=number)
        scale = self._dpi / 72.0
        pixels = width_pt * height_pt * scale * scale
        if pixels > limits.max_pixels_per_page:
            # Large-format page (poster, plan): lower the dpi rather than refuse it.
            scale *= math.sqrt(limits.max_pixels_per_page / pixels) * 0.999
        bitmap = page.render(scale=scale, may_draw_forms=True, fill_color=(255, 255, 255, 255))
        image: np.ndarray = np.array(bitmap.to_numpy(), dtype=np.uint8, copy=True)
        bitmap.close()
        if image.ndim == 3 and image.shape[2] == 4:
            image = cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
        return RasterPage(source=self.name, page=number, image=image, dpi=scale * 72.0)

    def _open_plumber(self) -> Any:
        if self._plumber is None and not self._plumber_failed:
            import pdfplumber

            try:
                self._plumber = pdfplumber.open(io.BytesIO(self._data))
            except Exception:
                # pdfminer is stricter than PDFium; pages are then simply OCR'd.
                log.debug("%s: pdfplumber cannot open the file", self.name, exc_info=True)
                self._plumber_failed = True
        return self._plumber

    def _text_layer(self, index: int) -> OcrPage | None:
        """The page from its text layer, or None when it has no trustworthy one."""
        plumber = self._open_plumber()
        if plumber is None:
            return None
        try:
            page = plumber.pages[index]
            try:
                width, height = float(page.width), float(page.height)
                covered = sum(
                    max(0.0, min(float(im["x1"]), width) - max(float(im["x0"]), 0.0))
                    * max(0.0, min(float(im["bottom"]), height) - max(float(im["top"]), 0.0))
                    for im in page.images
                )
                if covered >= 0.5 * width * height:
                    # A scan, perhaps with someone else's OCR layer of unknown quality
                    # and language: we OCR it ourselves.
                    return None
                rows = page.extract_text_lines(strip=True, return_chars=True)
            finally:
                page.close()
            lines = [line for row in rows for line in _split_at_gaps(row["chars"])]
        except Exception:
            log.debug("%s p%d: text layer unreadable", self.name, index + 1, exc_info=True)
            return None
        if not text_layer_usable("".join(ln.text for ln in lines)):
            return None
        return OcrPage(source=self.name, page=index + 1, method="text_layer", width=width,
                       height=height, lines=tuple(reading_order(lines)),
                       engine=_PLUMBER_VERSION)


COLUMN_GAP: Final = 1.5
"""A horizontal gap wider than this many character heights separates two lines on one
row (label column and value column, two fields side by side), as the OCR detector does."""


def _split_at_gaps(chars: list[dict[str, Any]]) -> list[OcrLine]:
    """One pdfplumber text line -> one OcrLine per run of characters without a column gap.
    pdfplumber drops space glyphs from a line's chars, so a space is put back wherever
    glyphs are at least ~a narrow space (0.15 em) apart."""
    lines: list[OcrLine] = []
    run: list[dict[str, Any]] = []

    def flush() -> None:
        text = re.sub(r"\s+", " ", "".join(str(c["text"]) for c in run)).strip()
        if text:
            box = (min(float(c["x0"]) for c in run), min(float(c["top"]) for c in run),
                   max(float(c["x1"]) for c in run), max(float(c["bottom"]) for c in run))
            lines.append(OcrLine(text=text, confidence=1.0, box=box))
        run.clear()

    previous: dict[str, Any] | None = None
    for char in sorted(chars, key=lambda c: float(c["x0"])):
        if previous is not None:
            size = max(float(previous["bottom"]) - float(previous["top"]), 1.0)
            gap = float(char["x0"]) - float(previous["x1"])
            if gap > COLUMN_GAP * size:
                flush()
            elif gap > 0.15 * size and not str(previous["text"]).isspace():
                run.append({**char, "text": " "})
        if not (str(char["text"]).isspace() and not run):
            run.append(char)
        previous = char
    flush()
    return lines


MIN_TEXT_CHARS: Final = 10


def text_layer_usable(text: str) -> bool:
    """Is this extracted text real text rather than font-encoding garbage?

    Rejects: too little text (a page number, a stray label: OCR reads that too and also
    sees what is drawn as images), unmapped glyphs (``(cid:123)``, U+FFFD, private use,
    control characters), and UTF-16 read with the wrong byte order — a known failure of
    some writers where ASCII "Mu" comes out as CJK-looking "䴀甀": real Chinese text
    almost never has many ideographs whose low byte is 0x00.
    """
    if "(cid:" in text:
        return False
    chars = [c for c in text if not c.isspace()]
    if len(chars) < MIN_TEXT_CHARS:
        return False
    bad = sum(1 for c in chars if unicodedata.category(c) in ("Co", "Cc", "Cs", "Cn")
              or c == "\ufffd")
    if bad > 0.05 * len(chars):
        return False
    cjk = [c for c in chars if "\u3400" <= c <= "\u9fff"]
    return not (len(cjk) >= 4 and sum(1 for c in cjk if ord(c) & 0xFF == 0) > 0.3 * len(cjk))


# -- image files ---------------------------------------------------------------------

_BOMB_SIZE: Final = re.compile(r"\((\d+) pixels\)")


class ImageSource(Source):
    """PNG, JPEG (single page) and TIFF (one page per frame, including CCITT G4)."""

    def __init__(self, data: bytes, name: str, fmt: str, *, limits: Limits) -> None:
        super().__init__(name)
        self.format = fmt
        self._limits = limits
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                self._image = Image.open(io.BytesIO(data))
                # Multi-picture JPEGs (MPO) and animated PNGs: the first picture is the page.
                frames = int(getattr(self._image, "n_frames", 1)) if fmt == "tiff" else 1
        except Image.DecompressionBombError as exc:
            found = _BOMB_SIZE.search(str(exc))
            raise SourceError.of(
                "page.too_many_pixels", page=1,
                mpixels=round(int(found.group(1)) / 1e6) if found else "?",
                limit=round(limits.max_image_pixels / 1e6),
            ) from exc
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
            raise SourceError.of("file.corrupt") from exc
        self.page_count = frames
        if frames > limits.max_pages:
            raise SourceError.of("file.too_many_pages", pages=frames, limit=limits.max_pages)

    def close(self) -> None:
        self._image.close()

    def read_page(self, index: int) -> RasterPage:
        self._check_index(index)
        number = index + 1
        limits = self._limits
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                if self.page_count > 1 or index:
                    self._image.seek(index)
                width, height = self._image.size
                if width * height > limits.max_image_pixels:
                    raise SourceError.of("page.too_many_pixels", page=number,
                                         mpixels=round(width * height / 1e6),
                                         limit=round(limits.max_image_pixels / 1e6))
                frame: Image.Image = self._image
                if self.format == "jpeg" and width * height > limits.max_pixels_per_page:
                    # JPEG can decode at 1/2, 1/4, 1/8 size directly: far less memory.
                    k = math.sqrt(width * height / limits.max_pixels_per_page)
                    frame.draft(frame.mode, (int(width / k), int(height / k)))
                frame.load()
                declared = frame.info.get("dpi")
                decoded_scale = frame.size[0] / width  # < 1 after a JPEG draft decode
                frame = ImageOps.exif_transpose(frame)
                image = pil_to_array(frame)
        except SourceError:
            raise
        except Exception as exc:
            # A damaged single image is a damaged file; one bad TIFF frame is one bad page.
            if self.page_count == 1:
                raise SourceError.of("file.corrupt") from exc
            raise SourceError.of("page.render_failed", page=number) from exc
        dpi = _declared_dpi(declared) * decoded_scale
        h, w = image.shape[:2]
        if h * w > limits.max_pixels_per_page:
            factor = math.sqrt(limits.max_pixels_per_page / (h * w)) * 0.999
            image = cv2.resize(image, (max(1, int(w * factor)), max(1, int(h * factor))),
                               interpolation=cv2.INTER_AREA)
            dpi *= factor
        return RasterPage(source=self.name, page=number, image=image, dpi=dpi)


def _declared_dpi(value: object) -> float:
    try:
        dpi = float(value[0]) if isinstance(value, tuple) else float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, IndexError):
        return 200.0
    # 72/96 dpi is what cameras and screenshot tools write when they know nothing.
    return dpi if 100.0 <= dpi <= 2400.0 else 200.0
