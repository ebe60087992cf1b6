"""Reading order for recognised lines: rows top-to-bottom, left-to-right within a row.

Engines return lines in whatever order their detector produced; the text-layer reader
returns them in content-stream order. Both go through `reading_order` so that
downstream field extraction ("the value right of the label") sees one convention.
"""

from __future__ import annotations

from collections.abc import Iterable

from ocr.types import OcrLine

ROW_OVERLAP = 0.5
"""Two lines share a row when their vertical extents overlap by at least this fraction
of the shorter line's height (label and value printed side by side on a form)."""


def _overlap(a: OcrLine, top: float, bottom: float) -> float:
    inter = min(a.box[3], bottom) - max(a.box[1], top)
    shorter = min(a.box[3] - a.box[1], bottom - top)
    return inter / shorter if shorter > 0 else 0.0


def group_rows(lines: Iterable[OcrLine]) -> list[list[OcrLine]]:
    """Group lines into rows, each sorted left to right; rows sorted top to bottom."""
    rows: list[tuple[float, float, list[OcrLine]]] = []  # (top, bottom, members)
    for line in sorted(lines, key=lambda ln: ((ln.box[1] + ln.box[3]) / 2, ln.box[0])):
        # Only the rows touched recently can match: lines arrive sorted by centre y.
        for index in range(len(rows) - 1, max(-1, len(rows) - 4), -1):
            top, bottom, members = rows[index]
            if _overlap(line, top, bottom) >= ROW_OVERLAP:
                members.append(line)
                # The row's band is its first (anchor) line's band, so a row does not
                # grow into the next row through one tall line.
                break
        else:
            rows.append((line.box[1], line.box[3], [line]))
    rows.sort(key=lambda r: r[0])
    return [sorted(members, key=lambda ln: ln.box[0]) for _, _, members in rows]


def reading_order(lines: Iterable[OcrLine]) -> list[OcrLine]:
    return [line for row in group_rows(lines) for line in row]
