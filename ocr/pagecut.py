"""Cut one page out of an uploaded file as a file of its own, without losing quality.

A scanned stack is one file holding several cases' pages; each case gets its pages as
files it can keep. PDF pages are copied object for object (the scan inside is not
re-encoded); a TIFF frame becomes a one-page TIFF (bilevel frames CCITT G4, others
lossless LZW, resolution kept); a single-page PNG or JPEG is returned as it is.
"""

from __future__ import annotations

import io
import warnings

import pypdfium2 as pdfium
from PIL import Image

from ocr.errors import SourceError
from ocr.pdfium_lock import PDFIUM


def cut_page(data: bytes, fmt: str, index: int) -> tuple[bytes, str]:
    """Page `index` (0-based) of a file of format `fmt` (as `ocr.sources.detect_format`
    names it) as (file bytes, file suffix). Raises `SourceError` for a page that cannot
    be copied."""
    if fmt == "pdf":
        return _pdf_page(data, index), ".pdf"
    if fmt == "tiff":
        return _tiff_frame(data, index), ".tif"
    if index != 0:
        raise IndexError(f"a {fmt} file has one page, asked for index {index}")
    return data, ".jpg" if fmt == "jpeg" else f".{fmt}"


def _pdf_page(data: bytes, index: int) -> bytes:
    with PDFIUM:
        try:
            source = pdfium.PdfDocument(data)
        except pdfium.PdfiumError as exc:
            raise SourceError.of("file.corrupt") from exc
        target = pdfium.PdfDocument.new()
        try:
            target.import_pages(source, [index])
            out = io.BytesIO()
            target.save(out)
            return out.getvalue()
        except pdfium.PdfiumError as exc:
            raise SourceError.of("page.render_failed", page=index + 1) from exc
        finally:
            target.close()
            source.close()


def _tiff_frame(data: bytes, index: int) -> bytes:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            image.seek(index)
            image.load()
            dpi = image.info.get("dpi")
            frame = image.copy()
    except EOFError as exc:
        raise IndexError(f"no frame {index}") from exc
    except Exception as exc:
        raise SourceError.of("page.render_failed", page=index + 1) from exc
    out = io.BytesIO()
    options: dict[str, object] = {"compression": "group4" if frame.mode == "1"
                                  else "tiff_lzw"}
    if dpi:
        options["dpi"] = dpi
    frame.save(out, "TIFF", **options)
    return out.getvalue()
