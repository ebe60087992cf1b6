"""Scanner-station benchmark: ``python -m bench.scanner [--sheets 24] [--pages 8]``.

1. Read rate: cover sheets rendered from `intake.coversheet` at 200 dpi (a printout
   scanned back), then photocopied 1-3 times (grey toner, blur, speckle, dropouts), skewed
   up to the given degrees, fed at 0/90/180/270 and resampled to 200, 150 or 100 dpi; the
   share of sheets `intake.stacks.scan_page` recognises as the right cover sheet.
2. Cost: on the sample packets' scanned material pages, the time of the stack scan of a
   page (blank check + QR search) against the time OCR takes to read that page with the
   default engine, in this process, warm. The ratio is what splitting stacks adds to a
   page's processing.

Timings on a shared machine are noisy: compare the ratio within one run.
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import date

import cv2
import numpy as np
import pypdfium2 as pdfium

from intake.coversheet import cover_payload, render_cover_sheet
from intake.stacks import scan_page
from ocr.sources import RasterPage, open_source

SECRET = "bench-secret-0123456789"


def _photocopy(image: np.ndarray, rng: np.random.Generator, *, generations: int,
               skew: float, turn: int, scale: float) -> np.ndarray:
    page = image
    for _ in range(generations):
        h, w = page.shape
        pull = 0.012 * min(h, w)
        src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
        dst = src + rng.uniform(-pull, pull, src.shape).astype(np.float32)
        rot = cv2.getRotationMatrix2D((w / 2, h / 2), rng.uniform(-skew, skew), 1.0)
        dst = cv2.transform(dst[None], rot)[0].astype(np.float32)
        page = cv2.warpPerspective(page, cv2.getPerspectiveTransform(src, dst), (w, h),
                                   borderValue=235)
        out = 70 + page.astype(np.float32) * (170 / 255)
        out = cv2.GaussianBlur(out, (0, 0), rng.uniform(0.8, 1.4))
        out += rng.normal(0, 7, out.shape).astype(np.float32)
        speckle = rng.random(out.shape)
        out[speckle < 0.002] = 40
        out[speckle > 0.998] = 250
        page = np.clip(out, 0, 255).astype(np.uint8)
    if scale != 1.0:
        page = cv2.resize(page, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    if turn:
        page = cv2.rotate(page, {90: cv2.ROTATE_90_COUNTERCLOCKWISE, 180: cv2.ROTATE_180,
                                 270: cv2.ROTATE_90_CLOCKWISE}[turn])
    ok, jpeg = cv2.imencode(".jpg", page, [cv2.IMWRITE_JPEG_QUALITY, 60])
    assert ok
    return cv2.imdecode(jpeg, cv2.IMREAD_GRAYSCALE)


def read_rate(sheets: int, skew: float) -> None:
    rng = np.random.default_rng(15)
    print(f"cover sheets: {sheets} per cell, skew up to ±{skew}°, turned 0/90/180/270")
    print(f"{'copies':>6} {'dpi':>4} {'read':>9} {'ms/page':>8}")
    for generations in (1, 2, 3):
        for dpi in (200, 150, 100):
            read = 0
            times = []
            for n in range(sheets):
                number = f"SQ20261129-{n:06X}"
                pdf = render_cover_sheet(
                    case_number=number, item_name="有限责任公司设立登记",
                    item_code="company-establishment", checklist=[], secret=SECRET,
                    center_name="政务服务中心", acceptance_date=date(2026, 11, 29))
                doc = pdfium.PdfDocument(pdf)
                clean = np.asarray(doc[0].render(scale=200 / 72).to_pil().convert("L"))
                doc.close()
                page = _photocopy(clean, rng, generations=generations, skew=skew,
                                  turn=90 * (n % 4), scale=dpi / 200)
                started = time.perf_counter()
                found = scan_page(page, dpi)
                times.append(time.perf_counter() - started)
                read += found.kind == "cover" and found.cover_text == cover_payload(number,
                                                                                    SECRET)
            print(f"{generations:>6} {dpi:>4} {read:>4}/{sheets:<4} "
                  f"{1000 * statistics.mean(times):>8.1f}")


def _material_pages(count: int) -> list[RasterPage]:
    """Scanned applicants' pages of the sample packets (forms, IDs, licences, leases)."""
    import tempfile
    from pathlib import Path

    from samples import build_packet

    out: list[RasterPage] = []
    with tempfile.TemporaryDirectory() as tmp:
        for n, scenario in enumerate(("company-complete-no-agent", "food-complete")):
            packet = build_packet(scenario, Path(tmp) / scenario, seed=n)
            for path in packet.files:
                with open_source(path.read_bytes(), path.name, dpi=200) as source:
                    out += [source.render_page(i) for i in range(source.page_count)]
    return out[:count]


def cost(pages: int) -> None:
    from intake.settings import engine_options, load_settings
    from ocr.engine import get_engine
    from ocr.reader import read_page

    engine = get_engine(engine_options(load_settings()))
    sample = _material_pages(pages)
    read_page(sample[0], engine)  # warm: model loaded, kernels compiled
    scan_s, ocr_s = [], []
    for raster in sample:
        started = time.perf_counter()
        found = scan_page(raster.image, raster.dpi)
        scan_s.append(time.perf_counter() - started)
        assert found.kind != "cover", raster.source
        started = time.perf_counter()
        read_page(raster, engine)
        ocr_s.append(time.perf_counter() - started)
    print(f"material pages: {pages} ({engine.version})")
    print(f"  stack scan per page: {1000 * statistics.mean(scan_s):.1f} ms "
          f"(max {1000 * max(scan_s):.1f})")
    print(f"  OCR per page:        {1000 * statistics.mean(ocr_s):.0f} ms")
    print(f"  scan / OCR:          {sum(scan_s) / sum(ocr_s):.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sheets", type=int, default=24)
    parser.add_argument("--skew", type=float, default=4.0)
    parser.add_argument("--pages", type=int, default=8)
    args = parser.parse_args()
    read_rate(args.sheets, args.skew)
    if args.pages:
        cost(args.pages)


if __name__ == "__main__":
    main()
