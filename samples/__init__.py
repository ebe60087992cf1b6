"""Synthetic, scanned-looking application packets with ground truth, for `docintake demo`,
the test suite and the benchmarks. Nothing here is real personal data, and nothing here is
needed to run the service: it sits beside the five runtime packages.

Four layers, each usable on its own:

1. `samples.identities` — reproducible people and businesses with valid (or deliberately
   broken) resident ID numbers and unified social credit codes.
2. `samples.documents` — one renderer per material type: clean A4 pages that record every
   text line drawn and its box.
3. `samples.scanner` — what a scanner or a phone makes of a clean page, and the scanner's
   output files.
4. `samples.packets` — named scenarios written as scanner files with the slot states the
   completeness engine is expected to report; item and slot names come from the catalog.
"""

# The four layers' public names, for callers that treat samples as one toolbox.
from samples.documents import *  # noqa: F403
from samples.identities import *  # noqa: F403
from samples.packets import *  # noqa: F403
from samples.scanner import *  # noqa: F403
