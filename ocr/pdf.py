"""PDF pages: the text layer through pdfplumber when it is usable, else a rendering by
PDFium; each page first checked against its budget (`ocr.limits`).

`PdfDocument` does the work in the calling process. `ocr.sources.PdfSource` runs it in
the resource-limited helper process of `ocr.sandbox`, because what a page costs to
interpret is only known by interpreting it. This module therefore imports only what that
helper needs (no OpenCV, no OCR engine).
"""

from __future__ import annotations

import logging
import math
import re
import unicodedata
import warnings
import zlib
from importlib import metadata
from pathlib import Path
from typing import Any, Final

import numpy as np
import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from ocr.errors import SourceError
from ocr.layout import reading_order
from ocr.limits import MB, Limits
from ocr.types import OcrLine, OcrPage, RasterPage

log = logging.getLogger(__name__)

_PLUMBER_VERSION: Final = f"pdfplumber {metadata.version('pdfplumber')}"

MAX_TEXT_LAYER_CHARS: Final = 30_000
"""A page with more characters than this has no text layer a person wrote (a dense A4
page holds ~5,000): it is rendered and read like a scan, and pdfplumber — pure Python,
minutes per 100,000 characters — is never asked."""


def open_document(source: bytes | Path, name: str, *, limits: Limits,
                  dpi: int) -> PdfDocument:
    return PdfDocument(source, name, limits=limits, dpi=dpi)


class PdfDocument:
    """An open PDF. Raises `SourceError` (``file.*``) when it cannot be used at all."""

    def __init__(self, source: bytes | Path, name: str, *, limits: Limits, dpi: int) -> None:
        self.name = name
        self._source = source
        self._limits = limits
        self._dpi = dpi
        self._plumber: Any = None
        self._plumber_failed = False
        self._pike: Any = None
        try:
            self._doc = pdfium.PdfDocument(source)
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
        if self._pike is not None:
            self._pike.close()
            self._pike = None
        self._doc.close()

    def read_page(self, index: int, *, raster: bool = False) -> RasterPage | OcrPage:
        """Page `index` (0-based); with `raster`, rendered even where a text layer would
        do. Raises `SourceError` (``page.*``) for this page."""
        number = index + 1
        self._check_content(index, number)
        try:
            page = self._doc[index]
        except pdfium.PdfiumError as exc:
            raise SourceError.of("page.render_failed", page=number) from exc
        try:
            self._check_images(page, number)
            if not raster and page.get_rotation() == 0 and self._few_chars(page):
                # pdfplumber does not map /Rotate'd pages consistently; those are OCR'd.
                text_page = self._text_layer(index)
                if text_page is not None:
                    return text_page
            return self._render(page, number)
        except SourceError:
            raise
        except MemoryError as exc:
            raise SourceError.of("page.too_complex", page=number) from exc
        except Exception as exc:  # PDFium object walk or render on a damaged page
            raise SourceError.of("page.render_failed", page=number) from exc
        finally:
            page.close()

    # budgets ---------------------------------------------------------------------------
    def _check_content(self, index: int, number: int) -> None:
        """Refuse a page whose content streams inflate beyond `max_content_bytes`, before
        PDFium or pdfminer inflate them whole (a 3 MB file can hold a 1.5 GB stream)."""
        limit = self._limits.max_content_bytes
        try:
            streams = list(self._content_streams(index))
        except Exception:  # qpdf cannot walk it: PDFium, under the helper's limits, may
            log.debug("%s p%d: content streams not inspected", self.name, number,
                      exc_info=True)
            return
        total = 0
        for stream in streams:
            total += decoded_size(stream, limit - total + 1)
            if total > limit:
                raise SourceError.of("page.content_too_large", page=number,
                                     limit_mb=limit // MB)

    def _content_streams(self, index: int) -> Any:
        import pikepdf

        if self._pike is None:
            source = self._source
            self._pike = pikepdf.open(source if isinstance(source, Path) else
                                      _bytes_io(source))
        page = self._pike.pages[index].obj
        seen: set[tuple[int, int]] = set()
        todo: list[tuple[Any, int]] = [(page, 0)]
        while todo:
            holder, depth = todo.pop()
            contents = holder.get("/Contents") if depth == 0 else holder
            items = contents if isinstance(contents, pikepdf.Array) else [contents]
            for item in items:
                if isinstance(item, pikepdf.Stream) and item.objgen not in seen:
                    seen.add(item.objgen)
                    yield item
            # Form XObjects are content streams too, drawn from the page's.
            if depth >= 8:
                continue
            resources = holder.get("/Resources")
            xobjects = resources.get("/XObject") if resources is not None else None
            if xobjects is None:
                continue
            for key in list(xobjects.keys())[:1000]:
                form = xobjects.get(key)
                if (isinstance(form, pikepdf.Stream) and form.get("/Subtype") == "/Form"
                        and form.objgen not in seen):
                    todo.append((form, depth + 1))

    def _check_images(self, page: pdfium.PdfPage, number: int) -> None:
        """Refuse a page drawing an image beyond `max_image_pixels` (a bomb: a few bytes
        of Flate declaring 100,000 x 100,000 pixels). Below that, PDFium decodes images
        at the size they are drawn (a 9,000 x 9,000 JPEG on a poster page cost 67 MB),
        and the helper's memory limit bounds the rest."""
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

    # reading -----------------------------------------------------------------------------
    def _few_chars(self, page: pdfium.PdfPage) -> bool:
        text = page.get_textpage()
        try:
            return bool(text.count_chars() <= MAX_TEXT_LAYER_CHARS)
        finally:
            text.close()

    def _render(self, page: pdfium.PdfPage, number: int) -> RasterPage:
        limits = self._limits
        width_pt, height_pt = page.get_size()
        if not (width_pt > 0 and height_pt > 0):
            raise SourceError.of("page.render_failed", page=number)
        scale = self._dpi / 72.0
        pixels = width_pt * height_pt * scale * scale
        if pixels > limits.max_pixels_per_page:
            # Large-format page (poster, plan): lower the dpi rather than refuse it.
            scale *= math.sqrt(limits.max_pixels_per_page / pixels) * 0.999
        bitmap = page.render(scale=scale, may_draw_forms=True, fill_color=(255, 255, 255, 255))
        try:
            pixels_bgrx = bitmap.to_numpy()
            # PDFium renders BGRA (or BGR); the reader wants BGR, in memory it owns.
            image = np.ascontiguousarray(pixels_bgrx[:, :, :3]) if pixels_bgrx.ndim == 3 \
                else np.array(pixels_bgrx, dtype=np.uint8, copy=True)
        finally:
            bitmap.close()
        return RasterPage(source=self.name, page=number, image=image, dpi=scale * 72.0)

    def _open_plumber(self) -> Any:
        if self._plumber is None and not self._plumber_failed:
            import pdfplumber

            try:
                source = self._source
                self._plumber = pdfplumber.open(source if isinstance(source, Path)
                                                else _bytes_io(source))
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


def _bytes_io(data: bytes) -> Any:
    import io

    return io.BytesIO(data)


_FLATE: Final = ("/FlateDecode", "/Fl")


def decoded_size(stream: Any, limit: int) -> int:
    """The decompressed size of a pikepdf stream, or any number above `limit` once it is
    clear that it exceeds it: Flate (the usual filter) is inflated in bounded steps and
    never held whole; other filter chains are decoded by qpdf (under the helper's memory
    limit when sandboxed)."""
    import pikepdf

    filters = stream.get("/Filter")
    names = ([] if filters is None else [str(f) for f in filters]
             if isinstance(filters, pikepdf.Array) else [str(filters)])
    raw = stream.read_raw_bytes()
    if not names:
        return len(raw)
    if all(name in _FLATE for name in names):
        return _inflated_size(raw, len(names), limit)
    return len(stream.read_bytes())


def _inflated_size(data: bytes, rounds: int, limit: int) -> int:
    """Inflate `data` `rounds` times (a chain of Flate filters), counting the bytes of
    the last round and stopping as soon as they exceed `limit`."""
    if rounds > 1:  # chained Flate is rare; the inner rounds are bounded by the limit too
        inner = bytearray()
        decoder = zlib.decompressobj()
        chunk = data
        while chunk and len(inner) <= limit:
            inner += decoder.decompress(chunk, MB)
            chunk = decoder.unconsumed_tail
        return _inflated_size(bytes(inner), rounds - 1, limit)
    decoder = zlib.decompressobj()
    size, chunk = 0, data
    try:
        while chunk:
            size += len(decoder.decompress(chunk, MB))
            if size > limit:
                return size
            chunk = decoder.unconsumed_tail
        return size + len(decoder.flush())
    except zlib.error:  # damaged data: PDFium stops where the damage starts
        return size


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
