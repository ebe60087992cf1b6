"""Where a page's time goes: ``python -m bench.ocr.profile [--pages N] [--precision int8]``.

Reads the benchmark's pages (`bench.ocr.pages`) one at a time through the product's path
(`ocr.reader.read_page`) with every stage wrapped in a timer, and prints the wall time
per stage (inclusive: "detect" holds "det infer"), per page and in all, plus how many
lines, cascade rereads and classifier calls the pages needed. One page at a time, so
that stages are not blurred by the reader's second page in flight; compare the shares,
not the seconds, on a shared machine.
"""

from __future__ import annotations

import argparse
import functools
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from bench.ocr.pages import make_pages

TOTALS: dict[str, float] = defaultdict(float)
COUNTS: dict[str, int] = defaultdict(int)


def _timed(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            TOTALS[name] += time.perf_counter() - started
            COUNTS[name] += 1
    return wrapper


def _wrap_module(module: Any, names: list[str], prefix: str = "") -> None:
    for name in names:
        setattr(module, name, _timed(prefix + name, getattr(module, name)))


def instrument(engine: Any) -> None:
    import ocr.reader as reader
    from ocr import quality

    _wrap_module(reader, ["is_blank", "find_document", "find_paper", "downscale",
                          "orientation_from_quads", "crop_line", "reading_order",
                          "rotate90", "rotate_points"])
    reader.quality = type("Q", (), {"check": staticmethod(_timed("quality.check",
                                                                 quality.check)),
                                    "QualityInputs": quality.QualityInputs})
    for attr, label in (("_det", "det infer"), ("_rec", "rec infer"), ("_cls", "cls infer"),
                        ("_boxes", "det boxes (DB post)")):
        setattr(engine, attr, _timed(label, getattr(engine, attr)))
    engine._decode.decode = _timed("rec CTC decode", engine._decode.decode)
    for method, label in (("detect", "detect"), ("read_lines", "read_lines"),
                          ("upside_down", "upside_down"), ("_rescue", "cascade rescue"),
                          ("_recognise", "_recognise (all)")):
        setattr(engine, method, _timed(label, getattr(engine, method)))
    exact = engine._exact

    def timed_exact() -> Any:
        return _timed("rec f32 infer (cascade)", exact())
    engine._exact = timed_exact


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.ocr.profile")
    ap.add_argument("--pages", type=int, default=24)
    ap.add_argument("--seed", type=int, default=2025)
    ap.add_argument("--precision", default="int8")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--cascade", default="on", choices=["on", "off"])
    args = ap.parse_args(argv)

    from intake.settings import OCR_CALIBRATION, load_settings
    from ocr.engine import EngineOptions, get_engine
    from ocr.reader import read_page
    from ocr.sources import open_source

    pages = make_pages(args.pages, args.seed)
    cache_dir = str(load_settings().ocr_cache_dir or "") or None
    engine = get_engine(EngineOptions(threads=args.threads, precision=args.precision,
                                      cascade=args.cascade == "on", cache_dir=cache_dir,
                                      calibration=OCR_CALIBRATION))
    print(engine.version)
    instrument(engine)
    import io

    from PIL import Image

    per_page: list[tuple[str, float, int]] = []
    total_started = time.perf_counter()
    for page in pages:
        image = page.image[..., ::-1] if page.image.ndim == 3 else page.image
        buf = io.BytesIO()
        Image.fromarray(image).save(buf, "PNG", compress_level=1)
        started = time.perf_counter()
        with open_source(buf.getvalue(), page.name + ".png") as source:
            raster = _timed("decode", source.read_page)(0)
        result = _timed("read_page", read_page)(raster, engine)
        per_page.append((page.name, time.perf_counter() - started, len(result.lines)))
    wall = time.perf_counter() - total_started
    print(f"\n{len(pages)} pages in {wall:.1f} s: {60 * len(pages) / wall:.1f} pages/min "
          "(one page at a time)\n")
    base = TOTALS["read_page"] + TOTALS["decode"]
    for name, seconds in sorted(TOTALS.items(), key=lambda kv: -kv[1]):
        print(f"{name:<28}{seconds:>8.2f} s{100 * seconds / base:>7.1f}%{COUNTS[name]:>7} calls")
    print()
    for name, seconds, lines in per_page:
        print(f"  {name:<40}{seconds:>6.2f} s {lines:>4} lines")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
