"""The window benchmark's machinery (see `bench/window/__main__.py`)."""

from __future__ import annotations

import json
import os
import secrets
import signal
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx

PG_ADMIN_URL = os.environ.get("DOCINTAKE_TEST_PG_ADMIN_URL",
                              "postgresql+psycopg://127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("DOCINTAKE_BENCH_REDIS_URL", "redis://127.0.0.1:6379/15")
BIN = Path(sys.executable).parent
ITEM = "company-establishment"
POLL_SECONDS = 0.02  # the client's polling step: the resolution of the measured wait


def make_packets(count: int, seed: int, data: Path) -> list[list[Path]]:
    """`count` packets of about ten pages each: a company set-up through an agent (form,
    articles, two ID cards, power of attorney, property certificate) plus the lease and
    articles of a second packet, which include a born-digital PDF."""
    from samples import build_packet

    packets = []
    for i in range(count):
        folder = data / "packets" / f"{seed + i:04d}"
        manifest = folder / "manifest.json"
        if manifest.exists():
            files = [Path(p) for p in json.loads(manifest.read_text())]
            if all(p.exists() for p in files):
                packets.append(files)
                continue
        main = build_packet("company-complete-with-agent", folder / "a", seed=seed + i)
        extra = build_packet("company-complete-no-agent", folder / "b", seed=seed + i)
        files = [*main.files, *(p for p in extra.files if p.suffix == ".pdf")]
        manifest.write_text(json.dumps([str(p.resolve()) for p in files]))
        packets.append([p.resolve() for p in files])
    return packets


def pure_ocr_seconds(files: list[Path]) -> tuple[float, int]:
    """The packet read page by page in this process (2 threads, warm): the work that no
    design of the service can avoid."""
    from ocr.engine import EngineOptions, get_engine
    from ocr.reader import read_page
    from ocr.sources import open_source
    from ocr.types import OcrPage

    engine = get_engine(EngineOptions(threads=2))
    started, pages = time.perf_counter(), 0
    for path in files:
        source = open_source(path.read_bytes(), path.name, dpi=200)
        for index in range(source.page_count):
            raw = source.read_page(index)
            if not isinstance(raw, OcrPage):
                read_page(raw, engine)
            pages += 1
    return time.perf_counter() - started, pages


def _multipart(files: list[Path]) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = []
    for path in files:
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="files"; '
            f'filename="{path.parent.name}-{path.name}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n".encode() + path.read_bytes()
            + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


class _TimedBody:
    """A request body that notes when its last byte was handed to the socket; with
    `mbps`, sent no faster than that many megabits per second (a scanner station's link)."""

    def __init__(self, data: bytes, chunk: int = 256 * 1024, mbps: float = 0.0) -> None:
        self.data, self.mbps = data, mbps
        self.chunk = min(chunk, 64 * 1024) if mbps else chunk
        self.last_byte_at = 0.0

    def __iter__(self) -> Iterator[bytes]:
        started = time.perf_counter()
        for i in range(0, len(self.data), self.chunk):
            if self.mbps:  # pace: this chunk may leave once the link has carried the last
                due = started + i * 8 / (self.mbps * 1_000_000)
                time.sleep(max(0.0, due - time.perf_counter()))
            yield self.data[i:i + self.chunk]
        self.last_byte_at = time.perf_counter()


UPLOAD_MBPS = 0.0  # set by `run`: the pace of uploads, 0 for as fast as the socket takes


READ_AT_ANSWER: list[int] = []  # pages already read when each upload was answered


def time_packet(client: httpx.Client, files: list[Path], timeout: float = 600) -> float:
    case = client.post("/api/v1/cases", json={"item_code": ITEM})
    case.raise_for_status()
    case_id = case.json()["id"]
    data, content_type = _multipart(files)
    body = _TimedBody(data, mbps=UPLOAD_MBPS)
    upload = client.post(f"/api/v1/cases/{case_id}/batches", content=body,
                         headers={"Content-Type": content_type,
                                  "Content-Length": str(len(data))})
    upload.raise_for_status()
    READ_AT_ANSWER.append(int(upload.json().get("pages_read", 0)))
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        report = client.get(f"/api/v1/cases/{case_id}/report")
        if report.status_code == 200 and not report.json().get("processing", True):
            return time.perf_counter() - body.last_byte_at
        time.sleep(POLL_SECONDS)
    raise TimeoutError(f"case {case_id} still processing after {timeout} s")


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _cli(env: dict[str, str], *args: str) -> str:
    return subprocess.run([str(BIN / "docintake"), *args], env=env, check=True,
                          capture_output=True, text=True).stdout


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@contextmanager
def _service(env: dict[str, str], workdir: Path, label: str, *,
             workers: int = 0) -> Iterator[httpx.Client]:
    """`docintake serve` (and a worker node when `workers`), a clerk key, and a client."""
    _cli(env, "db", "upgrade")
    key = _cli(env, "apikey", "create", "--role", "clerk", "--name", "bench-window")
    key = key.strip().split()[-1]
    port = _free_port()
    processes = []
    try:
        if workers:
            log = (workdir / f"worker-{label}.log").open("wb")
            processes.append(subprocess.Popen(
                [str(BIN / "docintake"), "worker", "--concurrency", str(workers),
                 "--hostname", f"bench-window-{label}@local"],
                env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True))
        log = (workdir / f"api-{label}.log").open("wb")
        processes.append(subprocess.Popen(
            [str(BIN / "docintake"), "serve", "--port", str(port)], env=env, stdout=log,
            stderr=subprocess.STDOUT, start_new_session=True))
        client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120,
                              headers={"Authorization": f"Bearer {key}"})
        deadline = time.monotonic() + 120
        while True:
            try:
                if client.get("/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or any(p.poll() is not None for p in processes):
                raise RuntimeError(f"{label}: the service did not start; see {workdir}")
            time.sleep(0.2)
        yield client
        client.close()
    finally:
        for process in reversed(processes):
            _stop(process)


def _summary(waits: list[float]) -> dict[str, Any]:
    ordered = sorted(waits)
    p90 = ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]
    return {"waits": [round(w, 2) for w in waits], "median": statistics.median(ordered),
            "p90": p90}


def _tree_env(env: dict[str, str], tree: Path | None) -> dict[str, str]:
    """The service's environment running the code of `tree` (None: this tree)."""
    if tree is None:
        return env
    return {**env, "PYTHONPATH": str(tree.resolve())}


def _ratios(waits: list[float], ocr: list[float]) -> dict[str, Any]:
    summary = _summary(waits)
    per_packet = [w / o for w, o in zip(waits, ocr, strict=True)]
    summary["ratio"] = summary["median"] / statistics.median(ocr)
    summary["ratio_per_packet_median"] = statistics.median(per_packet)
    return summary


def run(count: int, seed: int, data: Path, *, modes: list[str],
        before: Path | None = None, upload_mbps: float = 0.0) -> dict[str, Any]:
    """Each mode's service is started once per code tree (`before`, when given, and this
    one) and warmed with one packet; then every timed packet is read by pure OCR and
    uploaded to each tree's service in turn (the order alternating), so that the
    baseline and both trees meet the same load on a shared machine."""
    global UPLOAD_MBPS
    UPLOAD_MBPS = upload_mbps
    data.mkdir(parents=True, exist_ok=True)
    packets = make_packets(count + 1, seed, data)  # the first one warms the service up
    warmup, timed = packets[0], packets[1:]
    token = f"docintake-window-{secrets.token_hex(4)}"
    workdir = (data / "runs" / token).resolve()
    workdir.mkdir(parents=True)
    report: dict[str, Any] = {"packets": count, "load_before": os.getloadavg(),
                              "cores": len(os.sched_getaffinity(0)),
                              "before_tree": str(before) if before else None,
                              "upload_mbps": upload_mbps or None}
    trees: list[tuple[str, Path | None]] = ([("before", before)] if before else []) + [
        ("after" if before else "this", None)]
    base = {k: v for k, v in os.environ.items() if not k.startswith("DOCINTAKE_")}
    pages: list[int] = []
    for mode in modes:
        if mode not in ("embedded", "celery"):
            raise ValueError(f"unknown mode {mode}")
        with ExitStack() as stack:
            clients = {}
            for label, tree in trees:
                name = f"{mode}-{label}"
                env = {**_tree_env(base, tree), "DOCINTAKE_DATA_DIR": str(workdir / name),
                       "DOCINTAKE_LOG_LEVEL": "WARNING"}
                workers = 0
                if mode == "celery":
                    from storage.db import scratch_postgres_database

                    database_url = stack.enter_context(scratch_postgres_database(
                        PG_ADMIN_URL, f"docintake_window_{label}"))
                    queue = f"{token}-{label}"
                    stack.callback(_forget_queue, queue)
                    env.update(DOCINTAKE_DATABASE_URL=database_url,
                               DOCINTAKE_BROKER_URL=REDIS_URL, DOCINTAKE_TASK_QUEUE=queue)
                    workers = 2
                client = stack.enter_context(_service(env, workdir, name, workers=workers))
                time_packet(client, warmup)
                clients[label] = client
            ocr: list[float] = []
            waits: dict[str, list[float]] = {label: [] for label, _ in trees}
            read: dict[str, list[int]] = {label: [] for label, _ in trees}
            for n, files in enumerate(timed):
                seconds, count_pages = pure_ocr_seconds(files)
                ocr.append(seconds)
                if len(pages) < len(timed):
                    pages.append(count_pages)
                order = trees if n % 2 == 0 else list(reversed(trees))
                for label, _ in order:
                    waits[label].append(time_packet(clients[label], files))
                    read[label].append(READ_AT_ANSWER[-1])
            report[mode] = {"pure_ocr": _summary(ocr),
                            **{label: {**_ratios(w, ocr), "read_at_answer": read[label]}
                               for label, w in waits.items()}}
        for label, _ in trees:
            r = report[mode][label]
            print(f"{mode} {label}: median {r['median']:.1f} s ({r['ratio']:.2f}x pure OCR)",
                  flush=True)
    report["pages_per_packet"] = pages
    report["load_after"] = os.getloadavg()
    return report


def _forget_queue(queue: str) -> None:
    import redis

    r = redis.Redis.from_url(REDIS_URL)
    for key in r.scan_iter(f"*{queue}*"):
        r.delete(key)
    r.close()


def print_report(report: dict[str, Any]) -> None:
    print()
    pace = (f"uploads paced at {report['upload_mbps']} Mbit/s" if report.get("upload_mbps")
            else "uploads unpaced (localhost)")
    print(f"packets            {report['packets']} timed, pages each "
          f"{report['pages_per_packet']} (cores {report['cores']}, load "
          f"{report['load_before'][0]:.1f} -> {report['load_after'][0]:.1f}), {pace}")
    for mode in ("embedded", "celery"):
        if mode not in report:
            continue
        ocr = report[mode]["pure_ocr"]
        print(f"{mode}: pure OCR  median {ocr['median']:6.1f} s  p90 {ocr['p90']:6.1f} s  "
              "(this process, 2 threads, same packets, interleaved: the baseline)")
        for label, r in report[mode].items():
            if label == "pure_ocr":
                continue
            print(f"  {label:<8} wait  median {r['median']:6.1f} s  p90 {r['p90']:6.1f} s  "
                  f"= {r['ratio']:.2f}x pure OCR (per packet {r['ratio_per_packet_median']:.2f}x)"
                  f"  (target: median <= 10 s)  {r['waits']}; pages read when the "
                  f"upload was answered {r.get('read_at_answer')}")
