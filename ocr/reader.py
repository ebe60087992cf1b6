"""Read pages and files: the OCR pipeline in one visible order.

For a raster page, `read_page` runs these stages, in this order:

1. normalise   — any uint8/16-bit gray/BGR/BGRA array -> uint8 gray or BGR
2. blank       — a page with no ink is returned with ``blank=True``; no OCR is run
3. orient      — 0/90/180/270 rotation and small skew from the engine's line probe
4. size        — downscale for the detector, rotate upright, straighten the skew
5. recognise   — the engine finds and reads lines on the prepared image
6. map back    — boxes go back to the upright page's own pixel coordinates
7. order       — rows top-to-bottom, left-to-right within a row

`read_file` opens a file and reads every page, turning file- and page-level failures into
`ReadResult.errors` so that one bad page never fails a batch.
"""

from __future__ import annotations

import logging

from ocr.engine import LineProbe, OcrEngine
from ocr.errors import SourceError
from ocr.layout import reading_order
from ocr.prepare import (
    Orientation,
    ensure_uint8,
    estimate_orientation,
    is_blank,
    prepare_for_detector,
)
from ocr.sources import Limits, RasterPage, open_source
from ocr.types import FileError, OcrLine, OcrPage, ReadResult

log = logging.getLogger(__name__)


def read_page(page: RasterPage | OcrPage, engine: OcrEngine) -> OcrPage:
    """Read one page. Text-layer pages (`OcrPage`) are returned unchanged.

    Boxes of the result are in pixels of the page image *after* the reported clockwise
    `rotation`, at the page's own resolution (not the detector's); `width`/`height` are
    that upright image's size.
    """
    if isinstance(page, OcrPage):
        return page
    image = ensure_uint8(page.image)
    height, width = image.shape[:2]

    if is_blank(image):
        return OcrPage(source=page.source, page=page.page, method="ocr", width=width,
                       height=height, lines=(), blank=True)

    orientation = (estimate_orientation(image, engine) if isinstance(engine, LineProbe)
                   else Orientation())

    prepared, geometry = prepare_for_detector(image, orientation)

    found = engine.recognize(prepared)

    lines = [OcrLine(text=ln.text, confidence=ln.confidence, box=geometry.to_page(ln.box))
             for ln in found]

    return OcrPage(
        source=page.source, page=page.page, method="ocr",
        width=geometry.width, height=geometry.height,
        lines=tuple(reading_order(lines)),
        rotation=orientation.rotation, engine=engine.version,
    )


def read_file(data: bytes, filename: str, engine: OcrEngine, *,
              limits: Limits = Limits()) -> ReadResult:  # noqa: B008
    """Read every page of an uploaded file. Never raises for bad input.

    File-level failures give one `FileError` and no pages; page-level failures give a
    `FileError` with its page number, and the other pages are still read.
    """
    result = ReadResult()
    try:
        source = open_source(data, filename, limits=limits)
    except SourceError as exc:
        result.errors.append(FileError(filename, exc.code, exc.message))
        return result
    except Exception:
        # A parser crashing on hostile input is still "this file is damaged" to the clerk.
        log.exception("%s: unexpected error opening file", filename)
        err = SourceError.of("file.corrupt")
        result.errors.append(FileError(filename, err.code, err.message))
        return result

    with source:
        for index in range(source.page_count):
            number = index + 1
            try:
                result.pages.append(read_page(source.read_page(index), engine))
            except SourceError as exc:
                result.errors.append(FileError(filename, exc.code, exc.message,
                                               page=exc.page or number))
            except Exception:
                log.exception("%s p%d: unexpected error reading page", filename, number)
                err = SourceError.of("page.read_failed", page=number)
                result.errors.append(FileError(filename, err.code, err.message, page=number))
    return result
