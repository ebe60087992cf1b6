"""Tesseract 5 ``chi_sim`` as the baseline, run the way it runs best on two cores."""

from __future__ import annotations

import os
import resource
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

TESSERACT_TIMEOUT_S = 120


def run_tesseract(pages_dir: Path, parallel: int) -> dict[str, Any]:
    """Each page in its own ``tesseract`` process (``--psm 1``: orientation and script
    detection, then automatic layout), `parallel` at a time with one OpenMP thread each:
    on a 2-core machine that is Tesseract's best throughput."""
    files = sorted(pages_dir.glob("*.png"))
    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}

    def one(path: Path) -> tuple[str, list[str], float, float, bool]:
        started = time.perf_counter()
        proc = subprocess.Popen(["tesseract", str(path), "stdout", "-l", "chi_sim",
                                 "--psm", "1"], stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, env=env)
        timed_out = False
        try:
            stdout, _ = proc.communicate(timeout=TESSERACT_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            stdout, _ = proc.communicate()
            timed_out = True
        lines = [ln for ln in stdout.decode("utf-8", "replace").splitlines() if ln.strip()]
        return path.stem, lines, time.perf_counter() - started, 0.0, timed_out

    started = time.perf_counter()
    with ThreadPoolExecutor(parallel) as pool:
        done = list(pool.map(one, files))
    total = time.perf_counter() - started
    # This runs in a process of its own (bench.ocr.worker): its children are tesseracts.
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"engine": _tesseract_version(), "load_s": 0.0, "total_s": total,
            "per_page_s": [d[2] for d in done], "rss_mb": rss,
            "timeouts": sum(d[4] for d in done),
            "pages": [{"name": d[0], "lines": d[1]} for d in done]}


def _tesseract_version() -> str:
    out = subprocess.run(["tesseract", "--version"], capture_output=True, text=True,
                         check=False)
    return (out.stdout or out.stderr).splitlines()[0] + " chi_sim"
