"""PDFium is not thread-safe: two threads of one process inside it at once can crash the
whole process (seen: the page strip of the workbench drawing two pages while a batch was
cut). Every in-process use of pypdfium2 — drawing a thumbnail, cutting a page out of a
stack, assembling a certificate's scan — holds this one lock. Reading pages for OCR runs
in the helper process of `ocr.sandbox`, one request at a time, and needs no lock."""

from __future__ import annotations

import threading

PDFIUM = threading.RLock()
