"""Small builders shared by tests."""

from __future__ import annotations

import io
import socket
import threading
import time
from collections.abc import Callable
from typing import Any


def text_pdf(pages: list[list[str]]) -> bytes:
    """A born-digital A4 PDF whose pages carry the given Chinese lines as a real text layer
    (Adobe's STSong-Light CID font, as many government PDF writers use)."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4)
    _, height = A4
    for lines in pages:
        y = height - 80
        for n, line in enumerate(lines):
            size = 20 if n == 0 else 12
            pdf.setFont("STSong-Light", size)
            pdf.drawString(60, y, line)
            y -= size * 2
        pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def peak_rss() -> int:
    """This process's peak resident memory in bytes (Linux VmHWM). Unlike `ru_maxrss`,
    it is not inherited from the parent across fork and exec, so a child started by a
    large test process measures itself only."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def reset_peak_rss() -> int:
    """Start a new peak-memory measurement here (Linux `clear_refs` 5); returns the
    resident memory now, the baseline."""
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")
    return peak_rss()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class RecordingRunner:
    """A task runner that accepts batches without running them, as if the process had
    stopped right after the upload was stored."""

    def __init__(self) -> None:
        self.submitted: list[str] = []
        self.grown: list[str] = []  # every `submit_files` (a file stored, a seal)

    def submit_batch(self, batch_id: str) -> None:
        self.submitted.append(batch_id)

    def submit_files(self, batch_id: str) -> None:
        self.grown.append(batch_id)
        if batch_id not in self.submitted:
            self.submitted.append(batch_id)

    def submit_stack(self, stack_id: str) -> None:
        self.submitted.append(f"stack:{stack_id}")

    def shutdown(self) -> None:
        pass


def serve_in_thread(app: Any, port: int | None = None) -> tuple[str, Callable[[], None]]:
    """Run an ASGI app on a real socket (on `port`, or a free one) in a background thread;
    return its base URL and a function that stops it (waiting for the lifespan shutdown)."""
    import uvicorn

    port = port or free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("API server did not start")
        time.sleep(0.02)

    def stop() -> None:
        server.should_exit = True
        thread.join(timeout=30)

    return f"http://127.0.0.1:{port}", stop


class ArchiveOutage:
    """The real store, except that writing an archive copy fails the first `failures`
    times, as an object store briefly unreachable would."""

    def __init__(self, inner: Any, failures: int) -> None:
        self.inner, self.failures, self.refused = inner, failures, 0

    def put(self, key: str, data: bytes) -> None:
        if key.startswith("derived/archives/") and self.refused < self.failures:
            self.refused += 1
            from storage.objects import ObjectStoreError

            raise ObjectStoreError("connection refused (simulated)")
        self.inner.put(key, data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)
