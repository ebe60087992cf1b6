"""``python -m bench.pipeline``: throughput of the Celery pipeline on this machine.

Three measurements on the same scanned pages, in one run:

1. pure OCR: `ocr.reader.read_page` on every page in this process (2 inference threads),
   summed — the work that cannot be avoided;
2. one worker process (`docintake worker --concurrency 1`, 2 inference threads): upload to
   batch completed, through Redis, PostgreSQL, the object store and the assessment;
3. two worker processes (`--concurrency 2`, 1 inference thread each), same pages.

It reports pipeline overhead (2 against 1; goal <= 10 %), the speed-up of two processes
over one (goal >= 1.7x on 2 cores) and every worker process's peak RSS (goal <= 1.5 GB).
Needs the PostgreSQL and Redis of this machine (a scratch database and Redis database 15
are created and removed). Figures are ratios within one run: on a shared machine the
absolute times move with the load of other processes.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
from pathlib import Path

from bench.pipeline.run import print_report, run


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.pipeline", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pages", type=int, default=200,
                    help="scanned pages in the batch (default 200; about 6 s a page with "
                         "2 threads on an idle 2-core machine is ~40 min for all three runs)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--data", type=Path, default=Path("bench/out/pipeline-pages"),
                    help="where the generated scans are kept between runs")
    ap.add_argument("--json", type=Path, default=None, help="write the figures here")
    args = ap.parse_args(argv)
    # SIGTERM (timeout, kill) unwinds like Ctrl-C: worker nodes stopped, scratch data dropped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    report = run(args.pages, args.seed, args.data)
    print_report(report)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
