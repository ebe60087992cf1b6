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
import os
import re
import tempfile
import uuid
import warnings
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Final

import cv2
import numpy as np
from PIL import Image, ImageOps

from ocr.errors import SourceError
from ocr.limits import MB, Limits
from ocr.pdf import PdfDocument, text_layer_usable
from ocr.prepare import pil_to_array
from ocr.sandbox import PdfSandbox, sandbox_for
from ocr.types import OcrPage, RasterPage

__all__ = ["Limits", "PdfSource", "RasterPage", "Source", "detect_format", "open_source",
           "sniff", "stored_bytes", "text_layer_usable"]

log = logging.getLogger(__name__)

DEFAULT_LIMITS: Final = Limits()


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

    def render_page(self, index: int) -> RasterPage:
        """Page `index` (0-based) as pixels, even where `read_page` would use a text layer:
        for what only the picture shows (a cover sheet's QR code)."""
        page = self.read_page(index)
        assert isinstance(page, RasterPage), "only PDF pages have a text layer"
        return page

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


def open_source(data: bytes, filename: str, *, limits: Limits = DEFAULT_LIMITS,
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
    try:
        if fmt == "pdf":
            return PdfSource(data, filename, limits=limits, dpi=dpi)
        return ImageSource(data, filename, fmt, limits=limits)
    except SourceError:
        raise
    except Exception as exc:  # a parser crashing on hostile input: the file is damaged
        log.warning("%s: unexpected error opening the file", filename, exc_info=True)
        raise SourceError.of("file.corrupt") from exc


# -- PDF -----------------------------------------------------------------------------

class PdfSource(Source):
    """PDF pages (`ocr.pdf`): text layer when usable, else rendered by PDFium. With
    `Limits.sandbox` (the default) the document is read in this process's helper
    (`ocr.sandbox`), from a temporary copy of the file, under per-page memory and CPU
    limits; otherwise here, with only the checks made before interpreting a page."""

    format = "pdf"

    def __init__(self, data: bytes, name: str, *, limits: Limits, dpi: int) -> None:
        super().__init__(name)
        self._limits = limits
        self._dpi = dpi
        self._over_budget = 0
        self._path: Path | None = None
        self._local: PdfDocument | None = None
        self._sandbox: PdfSandbox | None = None
        if not limits.sandbox:
            self._local = PdfDocument(data, name, limits=limits, dpi=dpi)
            self.page_count = self._local.page_count
            return
        self._token = uuid.uuid4().hex
        fd, path = tempfile.mkstemp(prefix="docintake-", suffix=".pdf")
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        self._path = Path(path)
        self._sandbox = sandbox_for(limits)
        try:
            self.page_count = self._sandbox.open(self._token, self._path, name, dpi)
        except BaseException:
            self._path.unlink(missing_ok=True)
            raise

    def close(self) -> None:
        if self._local is not None:
            self._local.close()
        if self._sandbox is not None:
            self._sandbox.close_document(self._token)
        if self._path is not None:
            self._path.unlink(missing_ok=True)
            self._path = None

    def read_page(self, index: int) -> RasterPage | OcrPage:
        return self._page(index, raster=False)

    def render_page(self, index: int) -> RasterPage:
        page = self._page(index, raster=True)
        assert isinstance(page, RasterPage)
        return page

    def _page(self, index: int, *, raster: bool) -> RasterPage | OcrPage:
        self._check_index(index)
        number = index + 1
        if self._over_budget >= self._limits.too_complex_pages_per_file:
            # Each page of a hostile file would spend its whole budget again.
            raise SourceError.of("page.too_complex", page=number)
        try:
            if self._local is not None:
                return self._local.read_page(index, raster=raster)
            assert self._sandbox is not None and self._path is not None
            if self._sandbox.document != self._token:  # another file, or a new helper
                self._sandbox.open(self._token, self._path, self.name, self._dpi)
            return self._sandbox.read_page(index, raster=raster)
        except SourceError as exc:
            if exc.code in ("page.too_complex", "page.content_too_large"):
                self._over_budget += 1
            raise


# -- image files ---------------------------------------------------------------------

_BOMB_SIZE: Final = re.compile(r"\((\d+) pixels\)")


# Bytes per pixel of a decoded Pillow image (what `load` allocates) ...
_STORED_BYTES: Final = {"1": 1, "L": 1, "P": 1, "I;16": 2, "I;16L": 2, "I;16B": 2,
                        "I;16N": 2}
# ... and of the whole conversion to the reader's uint8 array (`pil_to_array`: Pillow's
# image, NumPy's view of it, the BGR result; float32 for alpha compositing, float64 for
# 16-bit scaling).
_CONVERSION_BYTES: Final = {"1": 3, "L": 3, "I;16": 20, "I;16L": 20, "I;16B": 20,
                            "I;16N": 20, "I": 20, "F": 20, "LA": 24, "La": 24, "PA": 40,
                            "RGBA": 40, "RGBa": 40}


def stored_bytes(mode: str) -> int:
    """Bytes per pixel Pillow allocates to decode an image of `mode`."""
    return _STORED_BYTES.get(mode, 4)


def _conversion_bytes(image: Image.Image) -> int:
    if image.mode == "P":
        return 40 if "transparency" in image.info else 14
    return _CONVERSION_BYTES.get(image.mode, 14)


class ImageSource(Source):
    """PNG, JPEG (single page) and TIFF (one page per frame, including CCITT G4).

    Memory stays within `Limits.max_decoded_bytes` whatever the header claims: the
    dimensions are checked before anything is decoded; a JPEG too large for the budget
    is decoded at 1/2, 1/4 or 1/8 size (libjpeg scales while decoding); other formats,
    which cannot be decoded smaller, are refused beyond it. A decoded image is reduced
    (box filter) before it is converted, and the file is reopened for each page, so no
    decoded frame outlives its page."""

    def __init__(self, data: bytes, name: str, fmt: str, *, limits: Limits) -> None:
        super().__init__(name)
        self.format = fmt
        self._limits = limits
        self._data = data
        try:
            with self._open() as image:
                # Multi-picture JPEGs (MPO) and animated PNGs: the first picture is the page.
                frames = self._count_frames(image) if fmt == "tiff" else 1
        except SourceError:
            raise
        except Image.DecompressionBombError as exc:
            found = _BOMB_SIZE.search(str(exc))
            raise SourceError.of(
                "page.too_many_pixels", page=1,
                mpixels=round(int(found.group(1)) / 1e6) if found else "?",
                limit=round(limits.max_image_pixels / 1e6),
            ) from exc
        except Exception as exc:  # Pillow raises whatever a damaged header leads it to
            raise SourceError.of("file.corrupt") from exc
        self.page_count = frames

    def _open(self) -> Image.Image:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            return Image.open(io.BytesIO(self._data))

    def _count_frames(self, image: Image.Image) -> int:
        """Frames of a TIFF, walking at most `max_pages` + 1 of them (a file can chain
        millions of tiny directories)."""
        limit = self._limits.max_pages
        try:
            image.seek(limit)
        except EOFError:
            with self._open() as fresh:  # Pillow miscounts after a failed seek
                return int(getattr(fresh, "n_frames", 1))
        raise SourceError.of("file.too_many_pages", pages=f">{limit}", limit=limit)

    def close(self) -> None:
        self._data = b""

    def read_page(self, index: int) -> RasterPage:
        self._check_index(index)
        number = index + 1
        try:
            with warnings.catch_warnings(), self._open() as image:
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                if index:
                    image.seek(index)
                image_array, declared, scale = self._decode(image, number)
        except SourceError:
            raise
        except MemoryError as exc:
            raise SourceError.of("page.too_complex", page=number) from exc
        except Exception as exc:
            # A damaged single image is a damaged file; one bad TIFF frame is one bad page.
            if self.page_count == 1:
                raise SourceError.of("file.corrupt") from exc
            raise SourceError.of("page.render_failed", page=number) from exc
        dpi = _declared_dpi(declared) * scale
        h, w = image_array.shape[:2]
        if h * w > self._limits.max_pixels_per_page:
            factor = math.sqrt(self._limits.max_pixels_per_page / (h * w)) * 0.999
            image_array = cv2.resize(image_array,
                                     (max(1, int(w * factor)), max(1, int(h * factor))),
                                     interpolation=cv2.INTER_AREA)
            dpi *= factor
        return RasterPage(source=self.name, page=number, image=image_array, dpi=dpi)

    def _decode(self, frame: Image.Image, number: int) -> tuple[np.ndarray, object, float]:
        """The frame as the reader's array, its declared dpi, and the scale it was
        decoded at (< 1 when it was decoded or reduced smaller)."""
        limits = self._limits
        width, height = frame.size
        pixels = width * height
        too_many = SourceError.of("page.too_many_pixels", page=number,
                                  mpixels=round(pixels / 1e6),
                                  limit=round(limits.max_image_pixels / 1e6))
        if pixels > limits.max_image_pixels:
            raise too_many
        if self.format == "jpeg":
            # libjpeg decodes at 1/2, 1/4 or 1/8 size directly: far less memory.
            for divisor in (1, 2, 4, 8):
                reduced = math.ceil(width / divisor) * math.ceil(height / divisor)
                if (reduced * stored_bytes(frame.mode) <= limits.max_decoded_bytes
                        and reduced <= limits.max_pixels_per_page):
                    break
            if divisor > 1:
                frame.draft(frame.mode, (math.ceil(width / divisor),
                                         math.ceil(height / divisor)))
        decoded = frame.size[0] * frame.size[1]
        if decoded * stored_bytes(frame.mode) > limits.max_decoded_bytes:
            too_many = SourceError.of(
                "page.too_many_pixels", page=number, mpixels=round(pixels / 1e6),
                limit=round(limits.max_decoded_bytes / stored_bytes(frame.mode) / 1e6))
            raise too_many
        frame.load()
        declared = frame.info.get("dpi")
        loaded: Image.Image = frame
        # Reduce before converting when the conversion would need more than twice the
        # budget (~14 bytes a pixel for colour): a huge gray TIFF, an alpha PNG, colour
        # beyond 24 MP (a 600 dpi A4 scan becomes 300 dpi). Phone photos stay whole.
        target = min(limits.max_pixels_per_page,
                     2 * limits.max_decoded_bytes // _conversion_bytes(loaded))
        if decoded > target:
            if loaded.mode in ("1", "P", "PA", "LA", "La", "I;16", "I;16L", "I;16B", "I;16N"):
                loaded = _reducible(loaded)
            loaded = loaded.reduce(math.ceil(math.sqrt(decoded / target)))
        scale = loaded.size[0] / width
        loaded = ImageOps.exif_transpose(loaded)
        return pil_to_array(loaded), declared, scale


def _reducible(image: Image.Image) -> Image.Image:
    """A mode `Image.reduce` handles, keeping what `pil_to_array` would make of it."""
    if image.mode == "1":
        return image.convert("L")
    if image.mode == "P":
        return image.convert("RGBA" if "transparency" in image.info else "RGB")
    if image.mode in ("PA", "LA", "La"):
        return image.convert("RGBA")
    return image.convert("I")  # 16-bit gray


def _declared_dpi(value: object) -> float:
    try:
        dpi = float(value[0]) if isinstance(value, tuple) else float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, IndexError):
        return 200.0
    # 72/96 dpi is what cameras and screenshot tools write when they know nothing.
    return dpi if 100.0 <= dpi <= 2400.0 else 200.0
