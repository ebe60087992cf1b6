"""OCR benchmark: ``python -m bench.ocr [--pages N] [--engines ...] [--det-sides ...]``.

Generates N synthetic Chinese material pages with ground truth (`bench.ocr.pages`), then
reads the *same* pages with each configuration, each in its own process, and prints side
by side: character error rate (CER, whitespace ignored, NFKC-normalised, lines in
reading order), exact match of resident ID numbers and credit codes, pages per minute
(warm, model load excluded and reported apart; PNG decoding included, as Tesseract's
is), and peak RSS. docintake's engine runs on OpenVINO in the CPU's fastest precision
(the default), in float32, and on ONNX Runtime; a cascade's ceiling (what the slower
readings get right that the default gets wrong) is printed. Tesseract 5 ``chi_sim``
(Debian ``tesseract-ocr`` + ``tesseract-ocr-chi-sim``) is the baseline; born-digital PDF
throughput is measured too. Timings on a shared machine are noisy: compare the ratios
within one run. ``--rounds N`` interleaves every configuration N times and divides each
round's pages/min by Tesseract's of the same round; CPU seconds per page (the process
and its children, model loading excluded) are printed too, and move much less with a
neighbour's load than wall time does. ``--baseline-tree DIR`` runs another checkout (the
code before a change) as ``before-<precision>`` in the same rounds. ``python -m
bench.ocr.profile`` times every stage of the reader on the same pages.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import unicodedata
from pathlib import Path
from typing import Any

from PIL import Image
from rapidfuzz.distance import Levenshtein

from bench.ocr.pages import BenchPage, make_pages


def _norm(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).split())


def score(pages: list[BenchPage], lines_by_name: dict[str, list[str]]) -> dict[str, Any]:
    dist = chars = codes = exact = 0
    by_degradation: dict[str, list[int]] = {}
    worst: list[tuple[float, str]] = []
    for page in pages:
        truth = _norm("".join(page.truth))
        hyp = _norm("".join(lines_by_name.get(page.name, [])))
        d = Levenshtein.distance(truth, hyp)
        dist, chars = dist + d, chars + len(truth)
        acc = by_degradation.setdefault(page.degradation, [0, 0])
        acc[0], acc[1] = acc[0] + d, acc[1] + len(truth)
        worst.append((d / max(len(truth), 1), page.name))
        for code in page.codes:
            codes += 1
            exact += code in hyp
    return {"cer": dist / max(chars, 1), "codes": codes, "exact": exact,
            "by_degradation": {k: v[0] / max(v[1], 1) for k, v in sorted(by_degradation.items())},
            "worst": sorted(worst, reverse=True)[:3]}


def run_docintake(label: str, pages_dir: Path, work: Path, *, tree: Path | None = None,
                  **options: Any) -> dict[str, Any]:
    """One configuration in its own process; `tree` runs another checkout's code (the
    previous version, for a before/after in the same run)."""
    out = work / f"{label}.json"
    cmd = [sys.executable, "-m", "bench.ocr.worker", "--dir", str(pages_dir), "--out", str(out)]
    for key, value in options.items():
        if value is not None:
            cmd += [f"--{key.replace('_', '-')}", str(value)]
    env = None
    if tree is not None:
        env = {**os.environ, "PYTHONPATH": str(tree)}
        # An older checkout's worker may lack this run's options; it gets what it knows.
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env,
                          cwd=tree)
    if proc.returncode != 0 or not out.exists():
        return {"error": proc.stderr.strip().splitlines()[-1:] or ["failed"]}
    result: dict[str, Any] = json.loads(out.read_text())
    return result


def tesseract_ready() -> str | None:
    """None when tesseract with chi_sim is installed, else what to install."""
    if shutil.which("tesseract") is None:
        return "apt-get install -y tesseract-ocr tesseract-ocr-chi-sim"
    langs = subprocess.run(["tesseract", "--list-langs"], capture_output=True, text=True,
                           check=False).stdout.split()
    return None if "chi_sim" in langs else "apt-get install -y tesseract-ocr-chi-sim"


def born_digital(pages: int) -> dict[str, float]:
    """pages/min of the text-layer path on a born-digital Chinese PDF."""
    import random
    from datetime import date

    import samples as S
    from ocr.sources import open_source
    from ocr.types import OcrPage

    rng = random.Random(1)
    person = S.make_person(rng, date(2025, 6, 1))
    lease = S.make_lease(rng, "北京测试科技有限公司", person.region, date(2025, 6, 1))
    sample_pages = S.lease_contract(lease, rng).pages
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "digital.pdf"
        S.write_text_pdf(path, [sample_pages[i % len(sample_pages)] for i in range(pages)])
        data = path.read_bytes()
    started = time.perf_counter()
    methods = []
    with open_source(data, "digital.pdf") as source:
        for i in range(source.page_count):
            page = source.read_page(i)  # a text-layer page *is* the result: no OCR
            methods.append(page.method if isinstance(page, OcrPage) else "raster")
    elapsed = time.perf_counter() - started
    return {"pages": pages, "pages_per_min": 60 * pages / elapsed,
            "text_layer_pages": sum(m == "text_layer" for m in methods)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.ocr", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pages", type=int, default=24, help="scanned/photographed pages")
    ap.add_argument("--seed", type=int, default=2025)
    ap.add_argument("--engines", default="rapidocr,rapidocr-nocascade,rapidocr-f32,"
                                         "rapidocr-onnxruntime,paddle,tesseract",
                    help="comma list of rapidocr (OpenVINO, the CPU's fastest precision, "
                         "doubtful lines again in f32), rapidocr-nocascade, rapidocr-f32, "
                         "rapidocr-onnxruntime, rapidocr-2proc, paddle, tesseract")
    ap.add_argument("--det-sides", default="",
                    help="extra rapidocr runs with these detector long sides, e.g. 2000,1600")
    ap.add_argument("--det-precision", default=None,
                    help="precision of the --det-sides runs (default: the CPU's)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--cache-dir", type=Path,
                    help="OpenVINO cache and INT8 models (default: DOCINTAKE_OCR_CACHE_DIR's)")
    ap.add_argument("--keep", type=Path, help="keep page PNGs and results in this directory")
    ap.add_argument("--json", type=Path, help="write the full results here")
    ap.add_argument("--int8-dirs", default="",
                    help="extra int8 runs on the models in other cache directories: "
                         "name=DIR,name=DIR")
    ap.add_argument("--rounds", type=int, default=1,
                    help="interleaved rounds of every configuration (ratios per round)")
    ap.add_argument("--baseline-tree", type=Path,
                    help="a checkout of the code before a change, run as before-<precision>")
    ap.add_argument("--baseline-precisions", default="int8",
                    help="precisions to run the baseline tree with, e.g. int8,bf16")
    args = ap.parse_args(argv)

    engines = [e for e in args.engines.split(",") if e]
    if "tesseract" in engines and (hint := tesseract_ready()):
        print(f"Tesseract 5 chi_sim is the baseline and is missing; install it: {hint}",
              file=sys.stderr)
        return 2

    print(f"generating {args.pages} pages (seed {args.seed}) ...", flush=True)
    pages = make_pages(args.pages, args.seed)
    work = Path(args.keep or tempfile.mkdtemp(prefix="bench-ocr-"))
    pages_dir = work / "pages"
    pages_dir.mkdir(parents=True, exist_ok=True)
    for page in pages:
        image = page.image[..., ::-1] if page.image.ndim == 3 else page.image
        buf = io.BytesIO()
        Image.fromarray(image).save(buf, "PNG", compress_level=1, dpi=(200, 200))
        (pages_dir / f"{page.name}.png").write_bytes(buf.getvalue())

    runs: dict[str, dict[str, Any]] = {}
    configs: list[tuple[str, dict[str, Any]]] = []
    for name in engines:
        if name == "rapidocr":
            configs.append(("rapidocr", {"engine": "rapidocr", "threads": args.threads}))
        elif name == "rapidocr-nocascade":
            configs.append((name, {"engine": "rapidocr", "threads": args.threads,
                                   "cascade": "off"}))
        elif name in ("rapidocr-f32", "rapidocr-bf16", "rapidocr-int8"):
            configs.append((name, {"engine": "rapidocr", "threads": args.threads,
                                   "precision": name.split("-")[1]}))
        elif name == "rapidocr-int8-nocascade":
            configs.append((name, {"engine": "rapidocr", "threads": args.threads,
                                   "precision": "int8", "cascade": "off"}))
        elif name in ("rapidocr-s2", "rapidocr-int8-s2", "rapidocr-bf16-s2"):
            # two model calls at once, one core each (`EngineOptions.streams`)
            configs.append((name, {"engine": "rapidocr", "threads": args.threads,
                                   "precision": name.split("-")[1] if name.count("-") == 2
                                   else None, "streams": 2}))
        elif name == "rapidocr-onnxruntime":
            configs.append((name, {"engine": "rapidocr", "threads": args.threads,
                                   "runtime": "onnxruntime"}))
        elif name == "rapidocr-2proc":
            configs.append(("rapidocr-2proc", {"engine": "rapidocr", "threads": args.threads,
                                               "workers": 2}))
        elif name == "paddle":
            configs.append(("paddle", {"engine": "paddle", "threads": args.threads}))
    for side in [int(s) for s in args.det_sides.split(",") if s]:
        configs.append((f"rapidocr-det{side}", {"engine": "rapidocr", "threads": args.threads,
                                                "det_side": side,
                                                "precision": args.det_precision}))
    if args.baseline_tree:
        # The code before a change, on the same pages in the same rounds.
        for precision in args.baseline_precisions.split(","):
            configs.append((f"before-{precision}", {"engine": "rapidocr",
                                                    "threads": args.threads,
                                                    "precision": precision,
                                                    "tree": args.baseline_tree}))
    for _label, options in configs:
        if args.cache_dir:
            options["cache_dir"] = args.cache_dir
    for item in [i for i in args.int8_dirs.split(",") if i]:
        # INT8 models of another recipe, kept in a cache directory of their own.
        name, _, directory = item.partition("=")
        configs.append((f"int8-{name}", {"engine": "rapidocr", "threads": args.threads,
                                         "precision": "int8", "cache_dir": directory}))
    if "tesseract" in engines:
        configs.append(("tesseract", {"engine": "tesseract", "workers": 2}))

    # Rounds interleave the configurations, so that a neighbour's load falls on all of
    # them alike; each round's pages/min is divided by Tesseract's of the same round.
    ppm_rounds: dict[str, list[float]] = {label: [] for label, _ in configs}
    cpu_rounds: dict[str, list[float]] = {label: [] for label, _ in configs}
    loads: list[float] = []
    for number in range(1, args.rounds + 1):
        loads.append(os.getloadavg()[0])
        for label, options in configs:
            print(f"round {number}: running {label} ...", flush=True)
            run = run_docintake(label, pages_dir, work, **options)
            if "error" in run:
                runs.setdefault(label, run)
                continue
            ppm_rounds[label].append(60 * len(pages) / run["total_s"])
            cpu_rounds[label].append(run.get("cpu_s", 0.0) / len(pages))
            if "error" in runs.get(label, {}) or label not in runs:
                runs[label] = run
    loads.append(os.getloadavg()[0])

    print(f"\n{len(pages)} pages; {sum(len(p.codes) for p in pages)} ID numbers/credit "
          f"codes; {args.rounds} interleaved round(s); load average (1 min) at the rounds' "
          f"starts and end: {', '.join(f'{v:.1f}' for v in loads)}; machine: 2 cores "
          "shared with other jobs (timings noisy, read ratios)\n")
    header = (f"{'engine':<22}{'CER':>8}{'codes ok':>12}{'pages/min':>11}{'s/page':>8}"
              f"{'CPU s/page':>11}{'load s':>8}{'peak RSS MB':>13}")
    print(header)
    print("-" * len(header))
    summary: dict[str, Any] = {}
    for label, run in runs.items():
        if "error" in run:
            print(f"{label:<22} failed: {run['error']}")
            continue
        lines = {p["name"]: p["lines"] for p in run["pages"]}
        s = score(pages, lines)
        ppm = statistics.median(ppm_rounds[label])
        rss = max(run.get("rss_mb", 0.0), run.get("children_rss_mb", 0.0))
        cpu = statistics.median(cpu_rounds[label])
        summary[label] = {**s, "pages_per_min": ppm, "pages_per_min_rounds": ppm_rounds[label],
                          "cpu_s_per_page": cpu,
                          "rss_mb": rss, "load_s": run["load_s"],
                          "engine": run["engine"], "timeouts": run.get("timeouts", 0),
                          "quality_flags": sum(bool(p.get("quality")) for p in run["pages"])}
        print(f"{label:<22}{100 * s['cer']:>7.2f}%{s['exact']:>6}/{s['codes']:<5}"
              f"{ppm:>11.1f}{60 / ppm:>8.2f}{cpu:>11.2f}{run['load_s']:>8.1f}"
              f"{rss:>13.0f}")
    for label, s in summary.items():
        print(f"  {label}: {s['engine'][:160]}")
    base = ppm_rounds.get("tesseract", [])
    if "tesseract" in summary and base:
        print("\nratios to tesseract's pages/min (same round; median [min-max] over rounds):")
        for label, s in summary.items():
            if label == "tesseract":
                continue
            ratios = [a / b for a, b in zip(ppm_rounds[label], base, strict=False)]
            s["ratio_rounds"] = ratios
            s["ratio"] = statistics.median(ratios)
            print(f"  {label:<22}{s['ratio']:.2f}x [{min(ratios):.2f}-{max(ratios):.2f}]  "
                  f"CER {s['cer'] / max(summary['tesseract']['cer'], 1e-9):.3f}x "
                  "tesseract's")
    print("\nCER by degradation:")
    for label, s in summary.items():
        print(f"  {label:<22}" + "  ".join(f"{k} {100 * v:.2f}%"
                                           for k, v in s["by_degradation"].items()))
    for label, s in summary.items():
        print(f"  worst pages {label}: " + ", ".join(f"{n} {100 * c:.1f}%"
                                                   for c, n in s["worst"]))
    if "rapidocr" in summary:
        print()
        # A cascade's ceiling: what a second, slower reading could rescue of what the
        # default one gets wrong (codes it misses, pages where the other reads better).
        fast = {p["name"]: _norm("".join(p["lines"])) for p in runs["rapidocr"]["pages"]}
        missed = [(pg.name, c) for pg in pages for c in pg.codes if c not in fast[pg.name]]
        for label in [k for k in summary
                      if k not in ("rapidocr", "rapidocr-nocascade", "tesseract")]:
            other = {p["name"]: _norm("".join(p["lines"])) for p in runs[label]["pages"]}
            rescued = [m for m in missed if m[1] in other[m[0]]]
            better = sum(
                Levenshtein.distance(_norm("".join(pg.truth)), other[pg.name])
                < Levenshtein.distance(_norm("".join(pg.truth)), fast[pg.name])
                for pg in pages)
            print(f"cascade ceiling rapidocr -> {label}: {len(rescued)} of {len(missed)} "
                  f"missed codes read, {better} of {len(pages)} pages read better")
    digital = born_digital(20)
    print(f"\nborn-digital PDF: {digital['pages_per_min']:.0f} pages/min "
          f"({digital['text_layer_pages']}/{digital['pages']} pages from the text layer)")
    if args.json:
        args.json.write_text(json.dumps({"summary": summary, "born_digital": digital},
                                        ensure_ascii=False, indent=1))
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
