"""Open files and read their pages (no OCR) in this process, measuring memory: run as
``python -m tests.ocr.hostile_probe LIMITS_JSON FILES_JSON`` (a list of [path, name the
uploader gave]) by the hostile-corpus test, so
that each measurement belongs to a process that did nothing else.

Prints one JSON object per file: the file-level code or each page's outcome (the
``SourceError`` code, or ``raster``/``text``), the peak resident memory this process
grew by while reading it, and the peak of the PDF helper process that read it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from ocr import sandbox
from ocr.errors import SourceError
from ocr.limits import Limits
from ocr.sources import open_source
from ocr.types import OcrPage, RasterPage
from tests.helpers import peak_rss, reset_peak_rss


def _helper_peak(limits: Limits) -> int | None:
    pid = sandbox.sandbox_for(limits).pid()
    if pid is None:
        return None
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return None


def probe(path: Path, name: str, limits: Limits) -> dict[str, Any]:
    data = path.read_bytes()
    baseline = reset_peak_rss()
    outcome: dict[str, Any] = {"file": path.name}
    pages: list[str] = []
    shapes: list[list[int]] = []
    helper_peak: int | None = None
    try:
        with open_source(data, name, limits=limits) as source:
            for index in range(source.page_count):
                try:
                    page = source.read_page(index)
                except SourceError as exc:
                    pages.append(exc.code)
                    assert exc.code.startswith("file.") or exc.page == index + 1, exc
                    continue
                if isinstance(page, RasterPage):
                    pages.append("raster")
                    shapes.append(list(page.image.shape[:2]))
                    assert page.source == name
                else:
                    assert isinstance(page, OcrPage) and page.source == name
                    pages.append("text")
            helper_peak = _helper_peak(limits)
    except SourceError as exc:
        outcome["file_code"] = exc.code
        outcome["message"] = exc.message
    outcome["pages"] = pages
    outcome["shapes"] = shapes
    outcome["peak_growth"] = peak_rss() - baseline
    outcome["helper_peak"] = helper_peak
    outcome["helper_starts"] = sandbox.sandbox_for(limits).starts
    sandbox.stop_all()  # the next file gets a fresh helper and its own peak
    return outcome


def main(argv: list[str]) -> None:
    limits = Limits(**json.loads(argv[0]))
    for path, name in json.loads(argv[1]):
        print(json.dumps(probe(Path(path), name, limits)), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
