"""Builds `PageText` inputs the way PP-OCR produces them: one box per text run, reading
order top to bottom, a taller title line, labels and values often merged without spaces,
sometimes a value in its own box to the right."""

from __future__ import annotations

from collections.abc import Sequence

from rules.types import PageText, TextLine

Cell = str | tuple[str, float]
Row = Cell | list[Cell]

LINE_H = 28.0
TITLE_H = 48.0
CHAR_W = 26.0


def _cell(c: Cell, default_conf: float) -> tuple[str, float]:
    return (c, default_conf) if isinstance(c, str) else c


def page(number: int, rows: Sequence[Row], *, title: Cell | None = None,
         conf: float = 0.97, source: str = "batch.pdf", x0: float = 120.0) -> PageText:
    """A page of `rows`; a row is one box, or a list of boxes on the same row."""
    lines: list[TextLine] = []
    y = 80.0
    if title is not None:
        text, c = _cell(title, conf)
        w = len(text) * 44.0
        lines.append(TextLine(text, c, (620.0 - w / 2, y, 620.0 + w / 2, y + TITLE_H)))
        y += TITLE_H + 40.0
    for row in rows:
        cells = row if isinstance(row, list) else [row]
        x = x0
        for cell in cells:
            text, c = _cell(cell, conf)
            if not text:  # an empty cell indents what follows
                x += 2 * CHAR_W
                continue
            w = max(len(text), 1) * CHAR_W
            lines.append(TextLine(text, c, (x, y, x + w, y + LINE_H)))
            x += w + 60.0
        y += LINE_H + 22.0
    return PageText(number=number, lines=tuple(lines), source=source, source_page=number)


def blank(number: int) -> PageText:
    return PageText(number=number, lines=(), blank=True)
