"""Read pages and files: the OCR pipeline in one visible order.

For a raster page, `read_page` runs these stages, in this order:

1. normalise   — any uint8/16-bit gray/BGR/BGRA array -> uint8 gray or BGR
2. frame       — a card or sheet photographed on a desk is found and straightened
                 (perspective); otherwise a dark scanner border is cropped away
3. blank       — a page (or the document found on it) with no ink is returned with
                 ``blank=True``; no OCR is run
4. detect      — text lines on a copy sized for the detector (long side
                 `DETECT_MAX_SIDE`)
5. orient      — 0/90/180/270 rotation and small skew from those lines' shapes and the
                 line classifier; a page on its side or upside down is detected again
                 upright, so lines are whole and in reading direction
6. quality     — blurred / too dark / cut off / too low resolution flags for the clerk
7. recognise   — each line is cut straight from the full-resolution page (the cut also
                 undoes skew and rotation) and read
8. order       — rows top-to-bottom, left-to-right within a row (on the straightened page)
9. map back    — boxes go to the upright page's own pixel coordinates

Engines that cannot read cut lines (no `LineReader`) get the older path: orientation on
a small copy, then the whole page downscaled, turned and straightened for `recognize`.

`read_file` opens a file and reads every page, turning file- and page-level failures into
`ReadResult.errors` so that one bad page never fails a batch; `read_files` does the same
for a stream of files, preparing the next page while the models read the current one.
"""

from __future__ import annotations

import logging
import multiprocessing
from collections import deque
from collections.abc import Iterable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import replace

import cv2
import numpy as np

from ocr import quality
from ocr.engine import EngineOptions, LineProbe, LineReader, OcrEngine, get_engine
from ocr.errors import SourceError
from ocr.layout import reading_order
from ocr.prepare import (
    ANALYSIS_SIDE,
    DETECT_MAX_SIDE,
    Orientation,
    apply,
    crop_line,
    downscale,
    ensure_uint8,
    estimate_orientation,
    find_document,
    find_paper,
    is_blank,
    orientation_from_quads,
    prepare_for_detector,
    rotate90,
    rotate_points,
    rotation_matrix,
)
from ocr.sources import Limits, RasterPage, Source, open_source
from ocr.types import FileError, OcrLine, OcrPage, ReadResult

log = logging.getLogger(__name__)


def read_page(page: RasterPage | OcrPage, engine: OcrEngine) -> OcrPage:
    """Read one page. Text-layer pages (`OcrPage`) are returned unchanged.

    Boxes of the result are in pixels of the page image *after* the reported clockwise
    `rotation`, at the page's own resolution (not the detector's); `width`/`height` are
    that upright image's size. For a card or sheet photographed on a desk the "page image"
    is the straightened document, and `OcrPage.warp` maps it back to the photo.
    """
    if isinstance(page, OcrPage):
        return page
    image = ensure_uint8(page.image)
    height, width = image.shape[:2]

    # A card photographed on a desk is judged blank or not by itself, straightened: the
    # desk is most of such a photo, and a small card's thin print is lighter than the
    # desk's shadows, so the whole photo of an ID card 350 px wide read as blank.
    document = find_document(image)
    framed = image if document is None else document.straighten(image)
    if is_blank(framed):
        return OcrPage(source=page.source, page=page.page, method="ocr", width=width,
                       height=height, lines=(), blank=True)

    crop = None
    if document is not None:
        image = framed
    else:
        crop = find_paper(image)
    work = image if crop is None else image[crop[1]:crop[3], crop[0]:crop[2]]

    if isinstance(engine, LineReader):
        orientation, lines = _read_lines_once(image, work, crop, engine)
        flags = quality.check(quality.QualityInputs(work, orientation.quads))
        full_h, full_w = image.shape[:2]
        out_w, out_h = ((full_h, full_w) if orientation.rotation in (90, 270)
                        else (full_w, full_h))
    else:
        orientation = (estimate_orientation(work, engine) if isinstance(engine, LineProbe)
                       else Orientation())
        flags = quality.check(quality.QualityInputs(work, orientation.quads))
        prepared, geometry = prepare_for_detector(image, orientation, crop=crop)
        found = engine.recognize(prepared)
        # Rows are found on the straight detector image, where a row is level; boxes then
        # go back to page pixels (slightly taller there when the page was skewed).
        lines = [OcrLine(text=ln.text, confidence=ln.confidence,
                         box=geometry.to_page(ln.box)) for ln in reading_order(found)]
        out_w, out_h = geometry.width, geometry.height

    warp = None
    if document is not None:
        h, w = image.shape[:2]
        to_fraction = np.diag([1.0 / width, 1.0 / height, 1.0])
        page_to_photo = (to_fraction @ np.linalg.inv(document.homography)
                         @ np.linalg.inv(rotation_matrix(orientation.rotation, w, h)))
        warp = tuple(float(v) for v in (page_to_photo / page_to_photo[2, 2]).ravel())

    return OcrPage(
        source=page.source, page=page.page, method="ocr",
        width=out_w, height=out_h, lines=tuple(lines),
        rotation=orientation.rotation, engine=engine.version, quality=flags, warp=warp,
    )


def _read_lines_once(image: np.ndarray, work: np.ndarray, crop: tuple[int, int, int, int] | None,
                     engine: LineReader) -> tuple[Orientation, list[OcrLine]]:
    """Stages 4-9 for an engine that reads cut lines: one detection for an upright page.

    `work` is `image` without its scanner border (`crop`). Returns the orientation and
    the lines in reading order, boxed in pixels of the upright `image`.
    """
    small, scale = downscale(work, DETECT_MAX_SIDE)
    sh, sw = small.shape[:2]
    orientation = _sideways_sheet(work, engine)
    if orientation is None:
        quads = np.asarray(engine.detect(small), dtype=np.float64).reshape(-1, 4, 2)
        orientation = orientation_from_quads(small, quads, engine, scale=scale)
    rotation = orientation.rotation
    if rotation:
        # Boxes of sideways or upside-down text are found, but split differently and
        # with their corners in the wrong order for reading: detect the upright copy.
        upright = np.asarray(engine.detect(rotate90(small, rotation)),
                             dtype=np.float64).reshape(-1, 4, 2)
        quads = rotate_points(upright, (360 - rotation) % 360,
                              *((sh, sw) if rotation in (90, 270) else (sw, sh)))
    if len(quads) == 0:
        return orientation, []

    # Corners stay in reading order (top-left of the text first) through the mapping, so
    # the cut from the unrotated full-resolution page comes out upright and level.
    on_work = quads / scale
    crops = [crop_line(work, quad, turn_tall=False) for quad in on_work]
    read = engine.read_lines(crops)

    full_h, full_w = image.shape[:2]
    x0, y0 = (crop[0], crop[1]) if crop is not None else (0, 0)
    on_page = rotate_points(on_work + np.array([x0, y0]), rotation, full_w, full_h)
    out_w, out_h = (full_h, full_w) if rotation in (90, 270) else (full_w, full_h)
    # Rows are grouped on the page turned level, where a row is horizontal; the boxes
    # reported are on the page as scanned (slightly taller when it was skewed).
    level = cv2.getRotationMatrix2D((out_w / 2.0, out_h / 2.0), orientation.skew, 1.0)
    on_level = apply(level, on_page)
    pairs: list[tuple[OcrLine, OcrLine]] = []  # (line boxed on the level page, as reported)
    for (text, score), page_quad, level_quad in zip(read, on_page, on_level, strict=True):
        text = text.strip()
        if not text:
            continue
        lo, hi = np.clip(page_quad.min(axis=0), 0, None), page_quad.max(axis=0)
        box = (float(lo[0]), float(lo[1]), float(min(hi[0], out_w)), float(min(hi[1], out_h)))
        (lx0, ly0), (lx1, ly1) = level_quad.min(axis=0), level_quad.max(axis=0)
        pairs.append((OcrLine(text=text, confidence=float(score),
                              box=(float(lx0), float(ly0), float(lx1), float(ly1))),
                      OcrLine(text=text, confidence=float(score), box=box)))
    reported = {id(level): page for level, page in pairs}
    return orientation, [reported[id(level)] for level in reading_order(p for p, _ in pairs)]


SIDEWAYS_ASPECT = (1.3, 1.5)
"""A page this much wider than high (A4 is 1.41) is a sheet fed on its side, or a
landscape form: its orientation is probed on a small copy first."""


def _sideways_sheet(work: np.ndarray, engine: LineReader) -> Orientation | None:
    """The orientation of a sheet lying on its side, found on a copy with a long side of
    `ANALYSIS_SIDE` (a fifth of the detector's work at `DETECT_MAX_SIDE`); None for any
    other page, whose orientation comes from its one full-size detection.

    A sideways page is detected again upright anyway, so the full-size detection of it
    as scanned was wasted: this costs a sideways page 1.4 detections instead of 2, a
    landscape page that is upright 1.4 instead of 1 (rare among service-centre
    materials; cards photographed on a desk are straightened to 1.58 and not probed)."""
    h, w = work.shape[:2]
    if not SIDEWAYS_ASPECT[0] <= w / max(h, 1) <= SIDEWAYS_ASPECT[1] or max(h, w) <= ANALYSIS_SIDE:
        return None
    probe, scale = downscale(work, ANALYSIS_SIDE)
    quads = np.asarray(engine.detect(probe), dtype=np.float64).reshape(-1, 4, 2)
    orientation = orientation_from_quads(probe, quads, engine, scale=scale)
    return orientation if orientation.rotation in (90, 270) else None


def read_file(data: bytes, filename: str, engine: OcrEngine, *,
              limits: Limits = Limits()) -> ReadResult:  # noqa: B008
    """Read every page of an uploaded file. Never raises for bad input.

    File-level failures give one `FileError` and no pages; page-level failures give a
    `FileError` with its page number, and the other pages are still read.
    """
    return read_files([(filename, data)], engine, limits=limits)


PAGES_IN_FLIGHT = 2
"""`read_files` prepares the next page (decoding, blank check, framing, cutting lines)
while the engine runs the models on the current one: those steps run in Python on one
core, and overlapping them with inference gave ~10% more pages per minute on two cores
(bench/ocr). The engine's own lock keeps model calls one at a time."""


def read_files(files: Iterable[tuple[str, bytes]], engine: OcrEngine, *,
               limits: Limits = Limits(),  # noqa: B008
               in_flight: int = PAGES_IN_FLIGHT) -> ReadResult:
    """`read_file` for a stream of ``(filename, data)``, pages in file and page order.

    Files are opened and pages rasterised in this thread, one at a time (pdfium is not
    thread-safe); up to `in_flight` rasterised pages are read concurrently.
    """
    result = ReadResult()
    with ThreadPoolExecutor(max_workers=max(1, in_flight),
                            thread_name_prefix="ocr-page") as pool:
        pending: deque[tuple[str, int, Future[OcrPage]]] = deque()

        def settle_oldest() -> None:
            filename, number, future = pending.popleft()
            try:
                result.pages.append(future.result())
            except Exception:
                log.exception("%s p%d: unexpected error reading page", filename, number)
                err = SourceError.of("page.read_failed", page=number)
                result.errors.append(FileError(filename, err.code, err.message, page=number))

        for filename, data in files:
            source = _open_or_error(data, filename, limits, result)
            if source is None:
                continue
            with source:
                for index in range(source.page_count):
                    number = index + 1
                    try:
                        page = source.read_page(index)
                    except SourceError as exc:
                        result.errors.append(FileError(filename, exc.code, exc.message,
                                                       page=exc.page or number))
                        continue
                    except Exception:
                        log.exception("%s p%d: unexpected error decoding page", filename,
                                      number)
                        err = SourceError.of("page.read_failed", page=number)
                        result.errors.append(FileError(filename, err.code, err.message,
                                                       page=number))
                        continue
                    pending.append((filename, number, pool.submit(read_page, page, engine)))
                    while len(pending) >= max(1, in_flight):
                        settle_oldest()
        while pending:
            settle_oldest()
    return result


def _open_or_error(data: bytes, filename: str, limits: Limits,
                   result: ReadResult) -> Source | None:
    try:
        return open_source(data, filename, limits=limits)
    except SourceError as exc:
        result.errors.append(FileError(filename, exc.code, exc.message))
    except Exception:
        # A parser crashing on hostile input is still "this file is damaged" to the clerk.
        log.exception("%s: unexpected error opening file", filename)
        err = SourceError.of("file.corrupt")
        result.errors.append(FileError(filename, err.code, err.message))
    return None


# -- many pages on all cores ---------------------------------------------------------

_worker_options: EngineOptions | None = None


class LazyEngine:
    """The process-wide engine for `options`, built on the first page that needs it: a
    worker or command that only sees blank or born-digital pages never loads a model."""

    def __init__(self, options: EngineOptions) -> None:
        self._options = options

    def __getattr__(self, name: str) -> object:
        return getattr(get_engine(self._options), name)


def _init_worker(options: EngineOptions) -> None:
    global _worker_options
    _worker_options = options


def _read_in_worker(page: RasterPage | OcrPage) -> OcrPage | FileError:
    assert _worker_options is not None, "worker not initialised"
    if isinstance(page, RasterPage) and is_blank(ensure_uint8(page.image)):
        return read_page(page, LazyEngine(_worker_options))  # type: ignore[arg-type]
    return _read_or_error(page, get_engine(_worker_options))


def _read_or_error(page: RasterPage | OcrPage, engine: OcrEngine) -> OcrPage | FileError:
    try:
        return read_page(page, engine)
    except Exception:
        log.exception("%s p%d: unexpected error reading page", page.source, page.page)
        err = SourceError.of("page.read_failed", page=page.page)
        return FileError(page.source, err.code, err.message, page=page.page)


def read_pages(pages: Sequence[RasterPage | OcrPage], options: EngineOptions, *,
               workers: int = 1) -> list[OcrPage | FileError]:
    """Read many pages, in order; a page that fails gives a `FileError` in its place.

    ``workers=1`` reads in this process with the process-wide engine (intra-op threads =
    `options.threads`). ``workers=N`` starts N spawned processes, each loading its own
    engine with ``threads // N`` intra-op threads (at least 1), and shares the OCR pages
    out among them: on two cores two single-threaded processes keep both cores busy
    through the parts of a page that are not parallel inside the model (preparation,
    post-processing, the recogniser's small batches). Each process holds its own models
    (~1 GB RSS for rapidocr), so N is bounded by memory as well as cores. Text-layer pages
    never go to a worker.
    """
    results: list[OcrPage | FileError | None] = [
        p if isinstance(p, OcrPage) else None for p in pages]
    todo = [i for i, r in enumerate(results) if r is None]
    if workers <= 1 or len(todo) <= 1:
        engine = get_engine(options)
        for i in todo:
            results[i] = _read_or_error(pages[i], engine)
    else:
        per_worker = replace(options, threads=max(1, options.threads // workers))
        context = multiprocessing.get_context("spawn")  # never fork a loaded runtime
        with ProcessPoolExecutor(max_workers=min(workers, len(todo)), mp_context=context,
                                 initializer=_init_worker, initargs=(per_worker,)) as pool:
            for i, result in zip(todo, pool.map(_read_in_worker, [pages[i] for i in todo]),
                                 strict=True):
                results[i] = result
    return [r for r in results if r is not None]
