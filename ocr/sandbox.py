"""PDF pages read in a helper process with hard limits on memory and CPU time.

What a PDF page costs is only known by interpreting it: a 3 MB file can inflate one
content stream to 1.5 GB, and 200,000 text operators take PDFium seconds and pdfminer
hours. Checks before the fact (`ocr.pdf` refuses oversized content streams and images)
catch the known bombs quickly with a precise code; the helper process is what makes the
bound hold for everything else, including bugs in PDFium itself:

* address space: `RLIMIT_AS` (`Limits.page_memory_bytes`), so an allocation that would
  take the helper past it fails inside the helper (MemoryError, or PDFium aborting), never
  in the worker with its OCR model;
* CPU time: `RLIMIT_CPU` moved to "now + `Limits.page_cpu_seconds`" before each request,
  so the kernel stops a page that computes too long (SIGXCPU) even inside native code,
  where no Python-level timeout reaches; the caller also gives up after a wall-clock
  deadline (a helper starved of CPU or blocked);
* a helper that dies is replaced on the next request, and the document re-opened.

`PdfSandbox.request` speaks a small framed protocol over the helper's stdin/stdout: a
JSON header and, for a rendered page, its raw pixels. No pickles: the parent never
executes anything a page could have influenced. One helper serves one process (the pool
process of a Celery worker, or the API's in-process runner); its cost on ordinary pages
is measured in /work/notes (IPC of one ~12 MB raster per page).
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import json
import logging
import math
import os
import resource
import select
import signal
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any, Final

import numpy as np

from ocr.errors import SourceError
from ocr.limits import Limits
from ocr.types import OcrPage, RasterPage

log = logging.getLogger(__name__)

_HEADER: Final = struct.Struct("<IQ")  # JSON header length, payload length
_BUDGET_SIGNALS: Final = (signal.SIGXCPU, signal.SIGKILL)


def _write(stream: IO[bytes], header: dict[str, Any], payload: bytes | memoryview = b""
           ) -> None:
    encoded = json.dumps(header).encode()
    stream.write(_HEADER.pack(len(encoded), len(payload)))
    stream.write(encoded)
    if payload:
        stream.write(payload)
    stream.flush()


class _Gone(Exception):
    """The helper exited, or missed its deadline, before it answered."""


def _read_into(fd: int, buffer: memoryview, deadline: float | None) -> None:
    """Fill `buffer` from `fd`, straight into its memory (one copy, from the kernel)."""
    done = 0
    while done < len(buffer):
        if deadline is not None:
            wait = deadline - time.monotonic()
            if wait <= 0 or not select.select([fd], [], [], wait)[0]:
                raise TimeoutError
        got = os.readv(fd, [buffer[done:]])
        if not got:
            raise _Gone
        done += got


def _read(fd: int, deadline: float | None) -> tuple[dict[str, Any], bytearray]:
    sizes = bytearray(_HEADER.size)
    _read_into(fd, memoryview(sizes), deadline)
    header_size, payload_size = _HEADER.unpack(sizes)
    encoded = bytearray(header_size)
    _read_into(fd, memoryview(encoded), deadline)
    payload = bytearray(payload_size)
    if payload_size:
        _read_into(fd, memoryview(payload), deadline)
    return json.loads(encoded), payload


def _widen(fd: int) -> None:
    """A 1 MiB pipe instead of 64 KiB: a rendered page crosses in a dozen writes."""
    with contextlib.suppress(OSError, AttributeError):
        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, 1 << 20)


class PdfSandbox:
    """The process's helper for PDF pages (started on first use, restarted when it dies).
    Thread-safe: requests are serialised."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self._proc: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()
        self.document: str | None = None
        """The token of the document the helper has open (None after a restart)."""
        self.starts = 0
        """Helpers started so far (one, plus one after each page that killed one)."""

    # the helper's life ---------------------------------------------------------------
    def _ensure_started(self) -> subprocess.Popen[bytes]:
        if self._proc is not None and self._proc.poll() is None:
            return self._proc
        env = {**os.environ, "MALLOC_ARENA_MAX": "2", "OMP_NUM_THREADS": "1",
               "OPENBLAS_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "ocr.sandbox"], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, env=env, close_fds=True)
        self.document = None
        self.starts += 1
        assert self._proc.stdout is not None
        _widen(self._proc.stdout.fileno())
        assert self._proc.stdin is not None
        _write(self._proc.stdin, {"limits": dataclasses.asdict(self.limits)})
        return self._proc

    def stop(self) -> None:
        with self._lock:
            self._stop()

    def _stop(self) -> None:
        proc, self._proc, self.document = self._proc, None, None
        if proc is None:
            return
        with contextlib.suppress(OSError):
            proc.kill()
        proc.wait()
        for stream in (proc.stdin, proc.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()

    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    # requests ------------------------------------------------------------------------
    def request(self, message: dict[str, Any], *, page: int | None = None
                ) -> tuple[dict[str, Any], bytearray]:
        """Send one request; return the helper's answer. A helper that dies or misses
        the deadline is stopped and its death reported as a `SourceError`: over budget
        (SIGXCPU, killed, too slow) is ``page.too_complex``; a crash is
        ``page.render_failed`` for a page, ``file.corrupt`` when opening."""
        with self._lock:
            proc = self._ensure_started()
            assert proc.stdin is not None and proc.stdout is not None
            deadline = time.monotonic() + max(30.0, 4 * self.limits.page_cpu_seconds)
            try:
                _write(proc.stdin, message)
                header, payload = _read(proc.stdout.fileno(), deadline)
            except (TimeoutError, _Gone, BrokenPipeError) as exc:
                timed_out = isinstance(exc, TimeoutError)
                self._stop()
                status = proc.returncode
                log.warning("PDF helper %s (exit %s) on %s", "timed out" if timed_out else
                            "died", status, message.get("op"))
                over_budget = timed_out or (status is not None and status < 0
                                            and -status in _BUDGET_SIGNALS)
                if page is None:
                    raise SourceError.of("file.too_complex" if over_budget
                                         else "file.corrupt") from exc
                raise SourceError.of("page.too_complex" if over_budget
                                     else "page.render_failed", page=page) from exc
            if header.get("restart"):
                self._stop()  # it ran out of memory: its heap is not to be trusted
            if "error" in header:
                error = header["error"]
                raise SourceError(error["code"], error["message"], page=error.get("page"))
            return header, payload

    def open(self, token: str, path: Path, name: str, dpi: int) -> int:
        self.document = None  # the helper closes what it had open, even if this fails
        header, _ = self.request({"op": "open", "token": token, "path": str(path),
                                  "name": name, "dpi": dpi})
        self.document = token
        return int(header["pages"])

    def read_page(self, index: int, *, raster: bool = False) -> RasterPage | OcrPage:
        header, payload = self.request({"op": "page", "index": index, "raster": raster},
                                       page=index + 1)
        if "ocr" in header:
            return OcrPage.from_dict(header["ocr"])
        shape = tuple(header["shape"])
        image = np.frombuffer(payload, dtype=np.uint8).reshape(shape)  # owns `payload`
        return RasterPage(source=header["source"], page=header["page"], image=image,
                          dpi=float(header["dpi"]))

    def close_document(self, token: str) -> None:
        with self._lock:
            open_here = self.document == token and self._proc is not None
        if open_here:
            with contextlib.suppress(SourceError):
                self.request({"op": "close"})
            self.document = None


_shared: dict[Limits, PdfSandbox] = {}
_shared_lock = threading.Lock()


def sandbox_for(limits: Limits) -> PdfSandbox:
    """This process's helper for these limits (one per process in practice)."""
    with _shared_lock:
        sandbox = _shared.get(limits)
        if sandbox is None or sandbox.limits != limits:
            sandbox = _shared[limits] = PdfSandbox(limits)
        return sandbox


def stop_all() -> None:
    """Stop every helper of this process (at shutdown, or in a forked child that must
    not share its parent's pipes)."""
    with _shared_lock:
        helpers = list(_shared.values())
        _shared.clear()
    for helper in helpers:
        helper.stop()


if hasattr(os, "register_at_fork"):
    # A forked child (a Celery pool process) must start its own helper, not talk to the
    # parent's through inherited pipes.
    os.register_at_fork(after_in_child=lambda: _shared.clear())


# -- the helper process ------------------------------------------------------------------

def _cpu_used() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _serve() -> None:
    from ocr.pdf import PdfDocument  # only here: the parent never needs it imported

    requests = sys.stdin.buffer.fileno()
    answers = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # anything a library prints goes to stderr, never into the protocol
    header, _ = _read(requests, None)
    limits = Limits(**header["limits"])
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    resource.setrlimit(resource.RLIMIT_AS, (limits.page_memory_bytes, hard))
    _, cpu_hard = resource.getrlimit(resource.RLIMIT_CPU)
    document: PdfDocument | None = None
    while True:
        try:
            message, _ = _read(requests, None)
        except _Gone:
            return
        op = message["op"]
        budget = math.ceil(_cpu_used() + limits.page_cpu_seconds)
        resource.setrlimit(resource.RLIMIT_CPU, (budget, cpu_hard))
        page = message["index"] + 1 if op == "page" else None
        try:
            if op == "open":
                if document is not None:
                    document.close()
                    document = None
                document = PdfDocument(Path(message["path"]), message["name"],
                                       limits=limits, dpi=int(message["dpi"]))
                _write(answers, {"pages": document.page_count})
            elif op == "page":
                if document is None:
                    raise SourceError.of("page.render_failed", page=page)
                result = document.read_page(message["index"],
                                            raster=bool(message.get("raster")))
                if isinstance(result, OcrPage):
                    _write(answers, {"ocr": result.to_dict()})
                else:
                    image = np.ascontiguousarray(result.image)
                    _write(answers, {"source": result.source, "page": result.page,
                                     "dpi": result.dpi, "shape": list(image.shape)},
                           image.data.cast("B"))
            elif op == "close":
                if document is not None:
                    document.close()
                    document = None
                _write(answers, {})
        except SourceError as exc:
            _write(answers, {"error": {"code": exc.code, "message": exc.message,
                                       "page": exc.page}})
        except MemoryError:
            code = "page.too_complex" if page else "file.too_complex"
            error = SourceError.of(code, page=page)
            _write(answers, {"error": {"code": code, "message": error.message, "page": page},
                             "restart": True})
            return
        except Exception:
            log.exception("PDF helper: %s failed", op)
            error = SourceError.of("page.render_failed" if page else "file.corrupt",
                                   page=page)
            _write(answers, {"error": {"code": error.code, "message": error.message,
                                       "page": page}})


if __name__ == "__main__":
    _serve()
