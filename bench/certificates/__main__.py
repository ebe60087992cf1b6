"""Generate the certificate store, start the API, measure, print ratios.

    python -m bench.certificates [--rows 1000000] [--seconds 8] [--concurrency 4]

PostgreSQL: a database `docintake_bench_certs` on DOCINTAKE_BENCH_PG_ADMIN_URL's server
(default 127.0.0.1:5432, trust auth) is created and filled once with COPY; later runs
reuse it when it holds the requested number of rows (`--regenerate` to rebuild).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import psycopg
from sqlalchemy import create_engine, text
from stdnum.cn import ric

from storage.apikeys import create_api_key
from storage.db import Database

ADMIN_URL = os.environ.get("DOCINTAKE_BENCH_PG_ADMIN_URL",
                           "postgresql+psycopg://127.0.0.1:5432/postgres")
DB_NAME = "docintake_bench_certs"
TYPES = (("id_card", "居民身份证", 0.6), ("business_license", "营业执照", 0.3),
         ("property_certificate", "不动产权证书", 0.1))


def resident_id(n: int) -> str:
    """A distinct, check-digit-valid resident ID number for each n < 1,000,000,000."""
    birth = date(1950, 1, 1) + timedelta(days=n // 1_000_000)
    body = f"{110000 + n // 1000 % 1000:06d}{birth:%Y%m%d}{n % 1000:03d}"
    return body + ric.calc_check_digit(body + "0")


def holder_of(i: int) -> str:
    # Two certificates per holder, as when most people hold an ID card and some also a
    # property certificate or a company licence: 500,000 holders for 1,000,000 rows.
    return resident_id(i // 2)


def database_url() -> str:
    return ADMIN_URL.rsplit("/", 1)[0] + f"/{DB_NAME}"


def prepare(rows: int, regenerate: bool) -> None:
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"),
                             {"n": DB_NAME})
        if exists and regenerate:
            conn.execute(text(f'DROP DATABASE "{DB_NAME}" WITH (FORCE)'))
            exists = None
        if not exists:
            conn.execute(text(f'CREATE DATABASE "{DB_NAME}"'))
    admin.dispose()
    db = Database(database_url())
    db.migrate()
    with db.engine.connect() as conn:
        have = conn.scalar(text("SELECT count(*) FROM certificates"))
    db.dispose()
    if have == rows:
        print(f"store: reusing {have:,} certificates in {DB_NAME}")
        return
    started = time.perf_counter()
    dsn = database_url().replace("postgresql+psycopg://", "postgresql://")
    rng = random.Random(5)
    now = datetime.now(UTC)
    columns = ("id, material_type, type_name, number, holder_name, holder_id, holder_id_type, "
               "issuer, issue_date, valid_from, valid_until, status, fields, source_pages, "
               "verification, verified_by, verified_at")
    with psycopg.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute("DROP INDEX IF EXISTS ix_certificates_holder")  # build once, at the end
        cur.execute("TRUNCATE certificates CASCADE")
        with cur.copy(f"COPY certificates ({columns}) FROM STDIN") as copy:
            for i in range(rows):
                kind, name, _ = rng.choices(TYPES, weights=[t[2] for t in TYPES])[0]
                holder = holder_of(i)
                start = date(2010, 1, 1) + timedelta(days=rng.randrange(5000))
                until = None if rng.random() < 0.1 else start + timedelta(days=3650 * 2)
                status = "revoked" if rng.random() < 0.02 else "valid"
                number = holder if kind == "id_card" else f"{kind[:2].upper()}{i:010d}"
                fields = json.dumps({"number": {"value": number, "confidence": 0.99,
                                                "page": 1, "box": [10, 20, 200, 40]}})
                copy.write_row((str(uuid.UUID(int=rng.getrandbits(128))), kind, name, number,
                                f"持证人{i // 2}", holder, "id_number", "某某公安局", start,
                                start, until, status, fields, "[1]", "reviewer", "bench",
                                now))
        cur.execute("CREATE INDEX ix_certificates_holder ON certificates "
                    "(holder_id, material_type)")
        cur.execute("ANALYZE certificates")
        conn.commit()
    print(f"store: generated {rows:,} certificates in {time.perf_counter() - started:.1f} s")


def bench_case() -> str:
    """The case the lookups are bound to (`case_ref`): one case of the default center."""
    from intake.runtime import Runtime
    from intake.service import IntakeService
    from intake.settings import load_settings

    class _NoRunner:
        def submit_batch(self, batch_id: str) -> None: ...

        def shutdown(self) -> None: ...

    runtime = Runtime.from_settings(load_settings(
        database_url=database_url(), data_dir=tempfile.mkdtemp(prefix="docintake-bench-")))
    try:
        view = IntakeService(runtime, _NoRunner()).create_case("company-establishment")
        return view.number
    finally:
        runtime.close()


def start_server(port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "DOCINTAKE_DATABASE_URL": database_url(),
           "DOCINTAKE_DATA_DIR": tempfile.mkdtemp(prefix="docintake-bench-"),
           "DOCINTAKE_LOG_LEVEL": "WARNING",
           # the load here is the benchmark's own: the per-key limit would answer 429
           "DOCINTAKE_RATE_LIMIT_CERTIFICATES_PER_MINUTE": "0"}
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "bench.certificates.server:app",
         "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
         "--no-access-log"], env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/docs", timeout=1)
            return process
        except httpx.TransportError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("server did not start")


def run_phase(base: str, key: str, make_url: Any, seconds: float, concurrency: int
              ) -> dict[str, float]:
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    stop = time.perf_counter() + seconds

    def worker(seed: int) -> None:
        rng = random.Random(seed)
        mine: list[float] = []
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"},
                          timeout=10) as client:
            while time.perf_counter() < stop:
                url = make_url(rng)
                t0 = time.perf_counter()
                response = client.get(url)
                mine.append(time.perf_counter() - t0)
                if response.status_code != 200:
                    errors[0] += 1
        with lock:
            latencies.extend(mine)

    started = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(n,)) for n in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {"requests": len(latencies), "errors": errors[0],
            "throughput": len(latencies) / elapsed,
            "p50_ms": 1000 * statistics.median(latencies),
            "p99_ms": 1000 * latencies[int(0.99 * (len(latencies) - 1))]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=float, default=8.0, help="per phase")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=2,
                        help="alternate baseline and lookup phases this many times")
    parser.add_argument("--regenerate", action="store_true")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()

    prepare(args.rows, args.regenerate)
    db = Database(database_url())
    with db.session() as session:
        # A system key declares what it queries for and names a case of its center.
        key = create_api_key(session, role="system", name="bench system",
                             scopes=["id_card", "business_license"], purposes=["bench"])[1]
    db.dispose()
    case_ref = bench_case()
    process = start_server(args.port)
    base = f"http://127.0.0.1:{args.port}/api/v1"

    def trivial(_: random.Random) -> str:
        return "/bench/ping"

    def lookup(rng: random.Random) -> str:
        holder = holder_of(rng.randrange(args.rows))
        kind = rng.choice(["id_card", "business_license"])
        return (f"/certificates?holder_id={holder}&type={kind}"
                f"&purpose=bench&case_ref={case_ref}")

    try:
        # Warm both paths (connection pool, plan cache, page cache for the index).
        run_phase(base, key, trivial, 2, args.concurrency)
        run_phase(base, key, lookup, 2, args.concurrency)
        results: dict[str, list[dict[str, float]]] = {}
        for _ in range(args.rounds):
            for name, fn, conc in (("trivial", trivial, args.concurrency),
                                   ("lookup", lookup, args.concurrency),
                                   ("trivial_c1", trivial, 1), ("lookup_c1", lookup, 1)):
                results.setdefault(name, []).append(
                    run_phase(base, key, fn, args.seconds, conc))
    finally:
        process.terminate()
        process.wait(timeout=30)

    def merged(name: str) -> dict[str, float]:
        runs = results[name]
        return {k: statistics.mean(r[k] for r in runs) for k in runs[0]}

    t, lk, t1, l1 = (merged(n) for n in ("trivial", "lookup", "trivial_c1", "lookup_c1"))
    print(f"\nrows={args.rows:,} concurrency={args.concurrency} "
          f"{args.rounds}x{args.seconds:.0f}s per phase, uvicorn 1 process, PostgreSQL")
    print(f"{'phase':<22}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}")
    for label, r in ((f"trivial c={args.concurrency}", t), (f"lookup c={args.concurrency}", lk),
                     ("trivial c=1", t1), ("lookup c=1", l1)):
        print(f"{label:<22}{r['throughput']:>9.0f}{r['p50_ms']:>9.2f}{r['p99_ms']:>9.2f}"
              f"{r['errors']:>8.0f}")
    print(f"\nlookup/trivial throughput (c={args.concurrency}): "
          f"{lk['throughput'] / t['throughput']:.2f}  (target >= 0.50)")
    print(f"lookup/trivial p99 (c=1): {l1['p99_ms'] / t1['p99_ms']:.2f}x; "
          f"lookup p99 c=1 {l1['p99_ms']:.1f} ms, c={args.concurrency} {lk['p99_ms']:.1f} ms "
          "(target < 20 ms)")


if __name__ == "__main__":
    main()
