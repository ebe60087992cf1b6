"""One benchmark configuration in its own process (so its peak memory is its own):
read every page PNG of a directory with a docintake engine and write a JSON result."""

from __future__ import annotations

import argparse
import json
import resource
import time
from pathlib import Path


def _vm_hwm_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cpu_s(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--engine", default="rapidocr")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--streams", type=int, default=1)
    ap.add_argument("--det-side", type=int, default=0)
    ap.add_argument("--model-dir", default=None)
    ap.add_argument("--runtime", default="openvino")
    ap.add_argument("--precision", default=None)
    ap.add_argument("--cascade", default="on", choices=["on", "off"])
    ap.add_argument("--cache-dir", default=None,
                    help="OpenVINO cache and INT8 models (default: the settings' directory)")
    ap.add_argument("--dir", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    if args.engine == "tesseract":
        from bench.ocr.tess import run_tesseract

        cpu = _cpu_s(resource.RUSAGE_CHILDREN)
        result = run_tesseract(args.dir, args.workers)
        result["cpu_s"] = _cpu_s(resource.RUSAGE_CHILDREN) - cpu
        args.out.write_text(json.dumps(result, ensure_ascii=False))
        return

    import ocr.prepare
    from ocr.engine import EngineOptions, get_engine
    from ocr.reader import read_files, read_pages
    from ocr.sources import RasterPage, open_source
    from ocr.types import OcrPage

    if args.det_side:
        import ocr.reader

        ocr.prepare.DETECT_MAX_SIDE = ocr.reader.DETECT_MAX_SIDE = args.det_side
    from intake.settings import OCR_CALIBRATION, load_settings

    cache_dir = args.cache_dir or str(load_settings().ocr_cache_dir or "") or None
    options = EngineOptions(kind=args.engine, threads=args.threads, model_dir=args.model_dir,
                            runtime=args.runtime, precision=args.precision or "auto",
                            cascade=args.cascade == "on", cache_dir=cache_dir,
                            calibration=OCR_CALIBRATION,
                            **({"streams": args.streams} if args.streams > 1 else {}))
    files = sorted(args.dir.glob("*.png"))
    contents = [(path.stem, path.read_bytes()) for path in files]
    started = time.perf_counter()
    engine = get_engine(options) if args.workers == 1 else None
    load_s = time.perf_counter() - started
    results: list[object] = []
    cpu = _cpu_s(resource.RUSAGE_SELF) + _cpu_s(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    if engine is not None:
        # The product's path: decode each file and read its pages, two pages in flight.
        read = read_files(contents, engine)
        by_name = {p.source: p for p in read.pages}
        results = [by_name.get(name, "error") for name, _ in contents]
    else:
        pages: list[RasterPage | OcrPage] = []
        for name, data in contents:
            with open_source(data, name) as source:
                pages.append(source.read_page(0))
        results = list(read_pages(pages, options, workers=args.workers))
    total_s = time.perf_counter() - started
    cpu_s = _cpu_s(resource.RUSAGE_SELF) + _cpu_s(resource.RUSAGE_CHILDREN) - cpu
    out = {
        "engine": engine.version if engine is not None else args.engine,
        "load_s": load_s, "total_s": total_s, "cpu_s": cpu_s,
        "rss_mb": _vm_hwm_mb(),
        "children_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
        "pages": [
            {"name": f.stem,
             "lines": [ln.text for ln in r.lines] if isinstance(r, OcrPage) else [],
             "rotation": r.rotation if isinstance(r, OcrPage) else None,
             "quality": list(r.quality) if isinstance(r, OcrPage) else [],
             "error": None if isinstance(r, OcrPage) else getattr(r, "code", "error")}
            for f, r in zip(files, results, strict=True)
        ],
    }
    args.out.write_text(json.dumps(out, ensure_ascii=False))


if __name__ == "__main__":
    main()
