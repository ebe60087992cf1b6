"""The pipeline benchmark's machinery (see `bench/pipeline/__main__.py`)."""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

PG_ADMIN_URL = os.environ.get("DOCINTAKE_TEST_PG_ADMIN_URL",
                              "postgresql+psycopg://127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("DOCINTAKE_BENCH_REDIS_URL", "redis://127.0.0.1:6379/15")
SCENARIOS = ("company-complete-no-agent", "food-complete", "company-complete-with-agent",
             "individual-committed", "company-lease-expired")
BIN = Path(sys.executable).parent
# (worker processes, inference threads each, label): the node's default on 2 cores for one
# process (2 threads) and for two (1 each), and one process held to one core.
CONFIGS = ((1, 2, "1-process"), (2, 1, "2-processes"), (1, 1, "1-process-1-thread"))


def make_pages(n: int, seed: int, data: Path) -> tuple[list[Path], int]:
    """Sample packets until there are at least `n` scanned pages; kept in `data`."""
    from samples import build_packet

    manifest = data / f"manifest-{n}-{seed}.json"
    if manifest.exists():
        saved = json.loads(manifest.read_text())
        files = [Path(p) for p in saved["files"]]
        if all(p.exists() for p in files):
            return files, int(saved["pages"])
    files, pages, i = [], 0, 0
    while pages < n:
        scenario = SCENARIOS[i % len(SCENARIOS)]
        packet = build_packet(scenario, data / f"{i:03d}-{scenario}", seed=seed + i)
        files += packet.files
        pages += packet.page_count
        i += 1
    manifest.write_text(json.dumps({"files": [str(p.resolve()) for p in files],
                                    "pages": pages}))
    return [p.resolve() for p in files], pages


def pure_ocr(files: list[Path], threads: int) -> dict[str, float]:
    """Seconds in `read_page` (orientation, preparation, recognition) summed over the pages:
    what the pipeline must spend whatever its design."""
    from ocr.engine import EngineOptions, get_engine
    from ocr.reader import read_page
    from ocr.sources import open_source
    from ocr.types import OcrPage

    engine = get_engine(EngineOptions(threads=threads))
    total, pages, decode, cpu = 0.0, 0, 0.0, 0.0
    warm = True
    for path in files:
        started = time.perf_counter()
        source = open_source(path.read_bytes(), path.name, dpi=200)
        decode += time.perf_counter() - started
        for index in range(source.page_count):
            started = time.perf_counter()
            raw = source.read_page(index)
            decode += time.perf_counter() - started
            if isinstance(raw, OcrPage):
                pages += 1
                continue
            if warm:  # the first call pays for lazy initialisation inside onnxruntime
                read_page(raw, engine)
                warm = False
            started, cpu_started = time.perf_counter(), time.process_time()
            read_page(raw, engine)
            total += time.perf_counter() - started
            cpu += time.process_time() - cpu_started  # all threads of this process
            pages += 1
    return {"seconds": total, "pages": pages, "decode_seconds": decode, "cpu_seconds": cpu}


def _group_pids(pgid: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:  # field 5 of stat: process group
            pids.append(int(entry.name))
    return pids


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a live process (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _scratch_database() -> Any:
    from storage.db import scratch_postgres_database

    return scratch_postgres_database(PG_ADMIN_URL, "docintake_bench")


def cluster_run(files: list[Path], env: dict[str, str], workdir: Path, *, processes: int,
                threads: int, label: str) -> dict[str, Any]:
    """Start a worker node, upload the pages as one batch, time it to completion."""
    from intake.runners import CeleryRunner
    from intake.runtime import Runtime
    from intake.service import IntakeService, Upload
    from intake.settings import load_settings

    run_env = {**env, "DOCINTAKE_OCR_THREADS": str(threads)}
    log = workdir / f"worker-{label}.log"
    with log.open("wb") as handle:
        worker = subprocess.Popen(
            [str(BIN / "docintake"), "worker", "--concurrency", str(processes),
             "--hostname", f"bench-{label}@local"],
            env=run_env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True)
    settings = load_settings(**{k.removeprefix("DOCINTAKE_").lower(): v
                                for k, v in run_env.items() if k.startswith("DOCINTAKE_")})
    runtime = Runtime.from_settings(settings, migrate=False)
    runner = CeleryRunner(runtime, sweep=False)
    try:
        deadline = time.monotonic() + 300
        while log.read_text(errors="replace").count("worker process ready") < processes:
            if worker.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"worker did not start:\n{log.read_text()[-2000:]}")
            time.sleep(0.2)
        # the CPU the node spent starting (model load) is not the batch's
        cpu_at_start = sum(_cpu_seconds(pid) for pid in _group_pids(worker.pid))
        service = IntakeService(runtime, runner)
        case = service.create_case("company-establishment")
        uploads = [Upload.from_bytes(f"{p.parent.name}-{p.name}", p.read_bytes()) for p in files]
        started = time.perf_counter()
        batch = service.upload_batch(case.id, uploads)
        while not (progress := service.batch_progress(batch.id)).finished:
            time.sleep(0.2)
        seconds = time.perf_counter() - started
        pids = _group_pids(worker.pid)
        rss = {pid: _peak_rss_mb(pid) for pid in pids}
        cpu = sum(_cpu_seconds(pid) for pid in pids) - cpu_at_start
    finally:
        runner.shutdown()
        runtime.close()
        if worker.poll() is None:
            worker.send_signal(signal.SIGTERM)  # warm shutdown: the node finishes its task
            try:
                worker.wait(timeout=120)
            except subprocess.TimeoutExpired:
                os.killpg(worker.pid, signal.SIGKILL)
                worker.wait()
    return {"label": label, "processes": processes, "threads": threads, "seconds": seconds,
            "cpu_seconds": cpu,
            "pages": progress.pages_total, "pages_read": progress.pages_read,
            "pages_failed": progress.pages_failed, "status": progress.status,
            "peak_rss_mb": {str(pid): round(mb, 1) for pid, mb in rss.items()},
            "pages_per_minute": 60 * progress.pages_total / seconds}


def run(n: int, seed: int, data: Path) -> dict[str, Any]:
    import redis

    data.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    files, pages = make_pages(n, seed, data)
    print(f"{pages} scanned pages in {len(files)} files "
          f"({time.perf_counter() - started:.0f} s to prepare)", flush=True)
    cores = len(os.sched_getaffinity(0))
    load_before = os.getloadavg()
    token = f"docintake-bench-{secrets.token_hex(4)}"
    workdir = data / "runs" / token
    workdir.mkdir(parents=True)
    report: dict[str, Any] = {"pages": pages, "cores": cores, "load_before": load_before}

    print("pure OCR (this process, 2 threads)…", flush=True)
    report["pure_ocr"] = pure_ocr(files, threads=2)
    print(f"  {report['pure_ocr']['seconds']:.0f} s", flush=True)

    with _scratch_database() as database_url:
        env = {k: v for k, v in os.environ.items() if not k.startswith("DOCINTAKE_")}
        env.update({
            "DOCINTAKE_DATA_DIR": str(workdir / "data"),
            "DOCINTAKE_OBJECTS_DIR": str(workdir / "objects"),
            "DOCINTAKE_DATABASE_URL": database_url,
            "DOCINTAKE_BROKER_URL": REDIS_URL,
            "DOCINTAKE_TASK_QUEUE": token,
            "DOCINTAKE_LOG_LEVEL": "INFO",  # the readiness line is an INFO record
        })
        from storage.db import Database

        database = Database(database_url)
        database.migrate()
        database.dispose()
        try:
            for processes, threads, label in CONFIGS:
                print(f"{label} ({processes} x {threads} threads)…", flush=True)
                result = cluster_run(files, env, workdir, processes=processes,
                                     threads=threads, label=label)
                report[label] = result
                print(f"  {result['seconds']:.0f} s, {result['pages_per_minute']:.1f} "
                      "pages/min", flush=True)
        finally:
            r = redis.Redis.from_url(REDIS_URL)
            for key in r.scan_iter(f"*{token}*"):
                r.delete(key)
    report["load_after"] = os.getloadavg()
    one, two = report["1-process"], report["2-processes"]
    single = report["1-process-1-thread"]
    report["speedup_2_over_1"] = one["seconds"] / two["seconds"]
    report["speedup_2_over_1_thread"] = single["seconds"] / two["seconds"]
    report["overhead_vs_pure_ocr"] = one["seconds"] / report["pure_ocr"]["seconds"] - 1
    report["cpu_overhead_vs_pure_ocr"] = (one["cpu_seconds"]
                                          / report["pure_ocr"]["cpu_seconds"] - 1)
    report["peak_rss_mb_max"] = max(
        mb for r in (one, two, single) for mb in r["peak_rss_mb"].values())
    return report


def print_report(report: dict[str, Any]) -> None:
    one, two, ocr = report["1-process"], report["2-processes"], report["pure_ocr"]
    single = report["1-process-1-thread"]
    print()
    print(f"pages                     {report['pages']} (cores: {report['cores']}, load "
          f"average before {report['load_before'][0]:.1f}, after "
          f"{report['load_after'][0]:.1f})")
    print(f"pure OCR, summed          {ocr['seconds']:8.1f} s  (decode {ocr['decode_seconds']:.1f}"
          " s, not included)")
    print(f"1 worker process x 2 thr  {one['seconds']:8.1f} s  {one['pages_per_minute']:.1f} "
          f"pages/min  ({one['pages_read']} read, {one['pages_failed']} failed)")
    print(f"2 worker processes x 1 thr{two['seconds']:8.1f} s  {two['pages_per_minute']:.1f} "
          f"pages/min  ({two['pages_read']} read, {two['pages_failed']} failed)")
    print(f"1 worker process x 1 thr  {single['seconds']:8.1f} s  "
          f"{single['pages_per_minute']:.1f} pages/min")
    print(f"speed-up 2 over 1         {report['speedup_2_over_1']:.2f}x against 2 threads, "
          f"{report['speedup_2_over_1_thread']:.2f}x against 1 thread  (goal >= 1.7x)")
    print(f"overhead vs pure OCR      {100 * report['overhead_vs_pure_ocr']:+.1f} % wall, "
          f"{100 * report['cpu_overhead_vs_pure_ocr']:+.1f} % CPU "
          f"({one['cpu_seconds']:.0f} s worker CPU, {ocr['cpu_seconds']:.0f} s OCR CPU)  "
          "(goal <= 10 %)")
    print(f"peak RSS per process      {report['peak_rss_mb_max']:.0f} MB max  (goal <= 1536 MB;"
          f" main + pool processes: {one['peak_rss_mb']} / {two['peak_rss_mb']})")
