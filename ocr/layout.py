"""Reading order for recognised lines: rows top-to-bottom, left-to-right within a row,
except in a run of rows set as two columns of running text, which is read column by
column.

Engines return lines in whatever order their detector produced; the text-layer reader
returns them in content-stream order. Both go through `reading_order` so that
downstream field extraction ("the value right of the label") sees one convention.

Columns are recognised conservatively, because forms put labels and values side by side
and must keep them on one row: a run is read as two columns only when both sides are
wide blocks of tightly spaced lines that fill their column, separated by a narrow,
clean gutter (a printed page of prose, a leaflet), which a form's label column or a
table of fields is not.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import pairwise
from statistics import median

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


COLUMN_MIN_LINES = 4
"""Each column holds at least this many lines."""
COLUMN_MIN_SHARE = 0.3
"""Each column spans at least this share of the text's width."""
COLUMN_FILL = 0.6
"""Median line of a column is at least this share of the column's width: running text
fills its column, labels do not."""
COLUMN_MAX_LEADING = 1.0
"""Median gap between consecutive lines of a column, in line heights: prose is set
tight, rows of a form or a table are not."""
TAIL_EXTRA_GAP = 0.5
"""Below the shorter column, a line this many line heights further from the line above
than the column's usual spacing is no longer part of the column."""
GUTTER_MAX_SHARE = 0.12
GUTTER_BINS = 240


def reading_order(lines: Iterable[OcrLine]) -> list[OcrLine]:
    rows = group_rows(lines)
    gutter = _gutter(rows)
    if gutter is None:
        return [line for row in rows for line in row]
    out: list[OcrLine] = []
    run: list[list[OcrLine]] = []
    for row in [*rows, None]:
        if row is not None and not any(ln.box[0] < gutter < ln.box[2] for ln in row):
            run.append(row)
            continue
        out.extend(_read_run(run, gutter))
        run = []
        if row is not None:
            out.extend(row)
    return out


def _gutter(rows: Sequence[Sequence[OcrLine]]) -> float | None:
    """The x in the middle of the text crossed by the fewest lines, or None when every
    position there is crossed by more than half the lines (a single column)."""
    lines = [ln for row in rows for ln in row]
    if len(lines) < 2 * COLUMN_MIN_LINES:
        return None
    left, right = min(ln.box[0] for ln in lines), max(ln.box[2] for ln in lines)
    width = right - left
    if width <= 0:
        return None
    best: tuple[int, float] | None = None
    for k in range(GUTTER_BINS + 1):
        x = left + width * (COLUMN_MIN_SHARE + (1 - 2 * COLUMN_MIN_SHARE) * k / GUTTER_BINS)
        crossing = sum(ln.box[0] < x < ln.box[2] for ln in lines)
        if best is None or crossing < best[0]:
            best = (crossing, x)
    assert best is not None
    return best[1] if best[0] <= len(lines) / 2 else None


def _read_run(run: list[list[OcrLine]], gutter: float) -> list[OcrLine]:
    """Rows that no line crosses at `gutter`: column by column if they are two columns
    of running text, else row by row."""
    rows_order = [ln for row in run for ln in row]
    left = [ln for ln in rows_order if ln.box[2] <= gutter]
    right = [ln for ln in rows_order if ln.box[0] >= gutter]
    if not (_is_column(left, right, side="left") and _is_column(right, left, side="right")):
        return rows_order
    # Below the end of the shorter column, a line set apart from its column (a heading
    # of what follows the columns) starts the part read row by row again.
    bottom = min(max(ln.box[3] for ln in left), max(ln.box[3] for ln in right))
    height = median(ln.box[3] - ln.box[1] for ln in rows_order)
    after: set[int] = set()
    for side in (left, right):
        leading = median(b.box[1] - a.box[3] for a, b in pairwise(side))
        for previous, ln in pairwise(side):
            if id(previous) in after or (ln.box[1] > bottom and ln.box[1] - previous.box[3]
                                         > leading + TAIL_EXTRA_GAP * height):
                after.add(id(ln))
    return ([ln for ln in left + right if id(ln) not in after]
            + [ln for ln in rows_order if id(ln) in after])


def _is_column(lines: list[OcrLine], other: list[OcrLine], *, side: str) -> bool:
    """Whether `lines` (one side of a gutter, `other` the other side) are a column of
    running text: enough lines, wide, filling the column, tightly spaced."""
    if len(lines) < COLUMN_MIN_LINES or not other:
        return False
    x0, x1 = min(ln.box[0] for ln in lines), max(ln.box[2] for ln in lines)
    ox0, ox1 = min(ln.box[0] for ln in other), max(ln.box[2] for ln in other)
    total = max(x1, ox1) - min(x0, ox0)
    gap = (ox0 - x1) if side == "left" else (x0 - ox1)
    if total <= 0 or (x1 - x0) < COLUMN_MIN_SHARE * total or not \
            0 < gap <= GUTTER_MAX_SHARE * total:
        return False
    if median(ln.box[2] - ln.box[0] for ln in lines) < COLUMN_FILL * (x1 - x0):
        return False
    by_top = sorted(lines, key=lambda ln: ln.box[1])
    height = median(ln.box[3] - ln.box[1] for ln in lines)
    gaps = [b.box[1] - a.box[3] for a, b in pairwise(by_top)]
    return height > 0 and median(gaps) <= COLUMN_MAX_LEADING * height
