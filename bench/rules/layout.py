"""Drawing helpers shared by the benchmark's template families: ruled grids whose cells
hold a label, a value, or a label above its value, on an A4 canvas that records every
text box (the OCR-free ground truth)."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from bench.rules.samples_api import samples as S


@dataclass(frozen=True)
class Cell:
    """One table cell: `text` (wrapped to the cell), `above` a small label printed above
    the text inside the same cell, `span` columns, `bold` for printed labels."""

    text: str = ""
    span: int = 1
    bold: bool = False
    above: str = ""


def grid(cv: S.Canvas, x0: float, y0: float, widths: Sequence[int],
         rows: Sequence[Sequence[Cell]], *, size: int = 36, serif: bool = False) -> float:
    """A ruled table; returns its bottom y. Every row's spans must add up to the number of
    columns."""
    pad = 20
    y = float(y0)
    x1 = x0 + sum(widths)
    cv.line(x0, y, x1, y, 4)
    for row in rows:
        # Lay out the cells of this row.
        col = 0
        placed: list[tuple[float, float, Cell, list[str], list[str]]] = []
        height = 0.0
        for cell in row:
            cx0 = x0 + sum(widths[:col])
            cx1 = x0 + sum(widths[: col + cell.span])
            col += cell.span
            inner = cx1 - cx0 - 2 * pad
            above = S.wrap_text(cell.above, size - 6, inner, serif=serif) if cell.above else []
            lines = S.wrap_text(cell.text, size, inner, serif=serif) if cell.text else []
            h = len(above) * (size + 14) + max(1, len(lines)) * (size + 18) + 2 * pad
            height = max(height, h)
            placed.append((cx0, cx1, cell, above, lines))
        if col != len(widths):
            raise ValueError(f"row spans {col} of {len(widths)} columns")
        for cx0, _cx1, cell, above, lines in placed:
            ty = y + pad
            for ln in above:
                cv.text(cx0 + pad, ty, ln, size - 6, bold=True, serif=serif)
                ty += size + 14
            for ln in lines:
                cv.text(cx0 + pad, ty, ln, size, bold=cell.bold, serif=serif)
                ty += size + 18
        for cx0, _, _, _, _ in placed[1:]:
            cv.line(cx0, y, cx0, y + height, 3)
        y += height
        cv.line(x0, y, x1, y, 3)
    cv.line(x0, y0, x0, y, 4)
    cv.line(x1, y0, x1, y, 4)
    return y


def spaced(label: str, rng: random.Random) -> str:
    """A two-character label spaced out as printed forms do ("姓　　名")."""
    if len(label) == 2 and rng.random() < 0.5:
        return label[0] + "\u3000\u3000" + label[1]
    return label


def box(ticked: bool) -> str:
    return "☑" if ticked else "□"


def reading_order(texts: Sequence[S.TextOp]) -> list[S.TextOp]:
    """Rows top to bottom (a box joins a row when its centre is within half a line height
    of the row's first box), left to right within a row: what an OCR engine returns."""
    rows: list[list[S.TextOp]] = []
    for t in sorted(texts, key=lambda t: (t.box[1] + t.box[3]) / 2):
        c = (t.box[1] + t.box[3]) / 2
        if rows:
            first = rows[-1][0]
            if abs(c - (first.box[1] + first.box[3]) / 2) < 0.5 * (first.box[3] - first.box[1]):
                rows[-1].append(t)
                continue
        rows.append([t])
    return [t for row in rows for t in sorted(row, key=lambda t: t.box[0])]
