"""What one uploaded file, and one of its pages, may cost: bytes, pages, pixels, decoded
memory, content-stream size and CPU time. Exceeding a limit is the uploader's problem,
reported with a code, never a crash or an out-of-memory kill of the worker.

Where each is enforced: sizes that a header states (bytes, pages, pixel dimensions,
decoded image memory) are checked before anything is decoded; PDF pages, whose cost
cannot be known before they are interpreted, are read in a helper process
(`ocr.sandbox`) with an address-space limit and a CPU-time limit per page, after a quick
check of their decompressed content size."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

MB: Final = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    max_bytes: int = 200 * MB
    max_pages: int = 500
    max_pixels_per_page: int = 36_000_000
    """Largest raster we hand to the reader for one page (A3 at 400 dpi; the reader
    keeps a few copies of it). Larger pages (posters, A0 plans) are rendered or decoded
    at a reduced resolution instead of being refused."""
    max_image_pixels: int = 150_000_000
    """Largest single image we agree to look at, embedded in a PDF or as an image file.
    Beyond this it is a decompression bomb (or a 1200 dpi A0 scan) and is refused."""
    max_decoded_bytes: int = 160 * MB
    """Memory one page's images may take once decoded at full size (an image file, or
    every image a PDF page draws). JPEG decodes at 1/2, 1/4 or 1/8 size to fit; other
    images above it are refused: 40 megapixels of colour, 160 of gray or bilevel."""
    max_content_bytes: int = 32 * MB
    """Decompressed size of a PDF page's content streams (its drawing instructions,
    form XObjects included). Real pages, even dense plans, stay far below."""
    page_cpu_seconds: float = 20.0
    """CPU time to interpret one PDF page (text layer and rendering; not OCR)."""
    page_memory_bytes: int = 1536 * MB
    """Address space of the helper process that reads PDF pages."""
    too_complex_pages_per_file: int = 2
    """After this many pages of one file went over their budget, the file's remaining
    pages fail at once instead of each spending its own budget."""
    sandbox: bool = True
    """Read PDF pages in the resource-limited helper process (`ocr.sandbox`)."""
