"""Start the API of each code tree, send it large bodies, print peak memory and /healthz
latency, and the ratios after/before.

    python -m bench.api_guard --before /work/main --after . [--scale 1.0]

Scenarios (each on a fresh, warmed-up server process; peak RSS from /proc/<pid>/status
VmHWM, reset just before the request, minus the RSS then):
* `anon_json`: a 300 MiB JSON body without a key to POST /api/v1/cases.
* `rejected_parts`: 200 parts of 5 MiB each to an upload, DOCINTAKE_MAX_UPLOAD_BYTES=4 MiB
  (so every part is rejected by size).
* `healthz`: the slowest of /healthz polled every 20 ms while a 600 MiB file uploads,
  against the slowest of the same polling on the idle server.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

MIB = 1024 * 1024
SERVER = Path(__file__).with_name("server.py")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Server:
    def __init__(self, tree: Path, env: dict[str, str]) -> None:
        self.port = _free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="bench-api-guard-"))
        info = self.dir / "info.json"
        self.proc = subprocess.Popen(
            [sys.executable, str(SERVER), str(self.port), str(info)],
            env={**os.environ, **env, "PYTHONPATH": str(tree)}, cwd=self.dir)
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(self.url + "/healthz", timeout=1)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise RuntimeError("server did not start") from None
                time.sleep(0.1)
        self.key = json.loads(info.read_text())["key"]
        # The clerk opens the case (so it handles it), which also warms the process up:
        # what the first request loads is not counted against the measured one.
        with httpx.Client(base_url=self.url + "/api/v1", timeout=60,
                          headers={"Authorization": f"Bearer {self.key}"}) as client:
            created = client.post("/cases", json={"item_code": "company-establishment"})
            created.raise_for_status()
            self.case_id = created.json()["id"]
            client.get(f"/cases/{self.case_id}").raise_for_status()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def baseline(self) -> int:
        """The RSS now, with the peak (VmHWM) reset to it (clear_refs 5), so the peak read
        afterwards is the measured request's, not start-up's."""
        # not permitted (not root): the peak then includes start-up
        with contextlib.suppress(OSError):
            Path(f"/proc/{self.proc.pid}/clear_refs").write_text("5")
        return self.rss()

    def rss(self, field: str = "VmRSS") -> int:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
        raise RuntimeError(field)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)


def _send(port: int, head: bytes, body_chunks: Any) -> int:
    """Send a request on a bare socket, body streamed from `body_chunks`, and return the
    status (the server may answer and close before the body is sent: that is the point)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=600)
    answer: list[bytes] = []

    def read() -> None:
        data = b""
        try:
            while b"\r\n" not in data:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                data += chunk
        except OSError:
            pass
        answer.append(data)

    reader = threading.Thread(target=read)
    reader.start()
    try:
        sock.sendall(head)
        for chunk in body_chunks:
            if answer:
                break
            sock.sendall(chunk)
    except OSError:
        pass
    reader.join(timeout=600)
    sock.close()
    line = answer[0].split(b"\r\n", 1)[0] if answer else b""
    return int(line.split()[1]) if len(line.split()) > 1 else 0


def anon_json(tree: Path, scale: float) -> dict[str, Any]:
    server = Server(tree, {})
    try:
        size = int(300 * MIB * scale)
        before = server.baseline()
        head = (f"POST /api/v1/cases HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
                f"\r\nContent-Length: {size}\r\n\r\n").encode()
        opening = b'{"x": ['
        block = b"0," * (MIB // 2)

        def chunks() -> Any:  # exactly `size` bytes, as announced
            yield opening
            left = size - len(opening)
            while left:
                take = min(left, MIB)
                yield block[:take]
                left -= take

        started = time.perf_counter()
        status = _send(server.port, head, chunks())
        return {"status": status, "peak_mib": (server.rss("VmHWM") - before) / MIB,
                "seconds": time.perf_counter() - started}
    finally:
        server.stop()


def _part(boundary: bytes, name: str, data_size: int) -> tuple[bytes, int]:
    head = (b"--" + boundary + b'\r\nContent-Disposition: form-data; name="files"; '
            b'filename="' + name.encode() + b'"\r\nContent-Type: application/pdf\r\n\r\n')
    return head, data_size


def _multipart_chunks(boundary: bytes, parts: int, part_size: int) -> tuple[int, Any]:
    heads = [_part(boundary, f"{n}.pdf", part_size)[0] for n in range(parts)]
    tail = b"--" + boundary + b"--\r\n"
    total = sum(len(h) + part_size + 2 for h in heads) + len(tail)
    block = b"%PDF-1.4\n" + b"\x00" * (MIB - 9)

    def chunks() -> Any:
        for head in heads:
            yield head
            left = part_size
            while left:
                take = min(left, MIB)
                yield block[:take]
                left -= take
            yield b"\r\n"
        yield tail

    return total, chunks()


def _upload_head(server: Server, boundary: bytes, total: int) -> bytes:
    return (f"POST /api/v1/cases/{server.case_id}/batches HTTP/1.1\r\nHost: x\r\n"
            f"Authorization: Bearer {server.key}\r\n"
            f"Content-Type: multipart/form-data; boundary={boundary.decode()}\r\n"
            f"Content-Length: {total}\r\n\r\n").encode()


def rejected_parts(tree: Path, scale: float) -> dict[str, Any]:
    server = Server(tree, {"DOCINTAKE_MAX_UPLOAD_BYTES": str(4 * MIB),
                           "DOCINTAKE_MAX_BATCH_BYTES": str(2048 * MIB)})
    try:
        parts = max(1, int(200 * scale))
        total, chunks = _multipart_chunks(b"benchboundary", parts, 5 * MIB)
        before = server.baseline()
        started = time.perf_counter()
        status = _send(server.port, _upload_head(server, b"benchboundary", total), chunks)
        return {"status": status, "peak_mib": (server.rss("VmHWM") - before) / MIB,
                "seconds": time.perf_counter() - started}
    finally:
        server.stop()


def _poll(url: str, stop: threading.Event, samples: list[float]) -> None:
    with httpx.Client(timeout=60) as client:
        while not stop.is_set():
            started = time.perf_counter()
            client.get(url + "/healthz")
            samples.append(time.perf_counter() - started)
            time.sleep(0.02)


def healthz(tree: Path, scale: float) -> dict[str, Any]:
    server = Server(tree, {"DOCINTAKE_MAX_UPLOAD_BYTES": str(700 * MIB)})
    try:
        idle: list[float] = []
        stop = threading.Event()
        poller = threading.Thread(target=_poll, args=(server.url, stop, idle))
        poller.start()
        time.sleep(3)
        stop.set()
        poller.join()
        busy: list[float] = []
        stop = threading.Event()
        poller = threading.Thread(target=_poll, args=(server.url, stop, busy))
        total, chunks = _multipart_chunks(b"benchboundary", 1, int(600 * MIB * scale))
        poller.start()
        started = time.perf_counter()
        status = _send(server.port, _upload_head(server, b"benchboundary", total), chunks)
        seconds = time.perf_counter() - started
        time.sleep(0.5)
        stop.set()
        poller.join()
        return {"status": status, "idle_max_ms": max(idle) * 1000,
                "busy_max_ms": max(busy) * 1000, "seconds": seconds}
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", type=Path, required=True, help="code tree before")
    parser.add_argument("--after", type=Path, default=Path.cwd(), help="code tree after")
    parser.add_argument("--scale", type=float, default=1.0, help="body sizes x this")
    args = parser.parse_args()
    results: dict[str, dict[str, Any]] = {}
    for name, scenario in (("anon_json", anon_json), ("rejected_parts", rejected_parts),
                           ("healthz", healthz)):
        for label, tree in (("before", args.before), ("after", args.after)):
            results[f"{name}/{label}"] = scenario(tree.resolve(), args.scale)
            print(name, label, json.dumps(results[f"{name}/{label}"]), flush=True)
    for name, key in (("anon_json", "peak_mib"), ("rejected_parts", "peak_mib"),
                      ("healthz", "busy_max_ms")):
        before, after = results[f"{name}/before"][key], results[f"{name}/after"][key]
        print(f"{name}: {key} before {before:.1f}, after {after:.1f}, "
              f"after/before {after / before:.3f}" if before else f"{name}: {key} 0")


if __name__ == "__main__":
    main()
