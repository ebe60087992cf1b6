"""What the OCR package produces: pages of text lines with boxes and confidence."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

Box = tuple[float, float, float, float]
"""x0, y0, x1, y1 in the page's own coordinates (pixels of the prepared page image, or
PDF points for text-layer pages); origin top-left."""

Method = Literal["ocr", "text_layer"]


@dataclass(frozen=True)
class OcrLine:
    text: str
    confidence: float
    box: Box


@dataclass(frozen=True)
class OcrPage:
    """One page of one source file, read.

    `page` is 1-based within `source`. `rotation` is the clockwise rotation in degrees
    (0/90/180/270) that was applied to make the text upright. Lines are in reading order:
    top-to-bottom by rows, left-to-right within a row.

    `blank` pages are kept (the clerk sees them) but carry no lines and must not be
    classified. `quality` holds ``quality.*`` codes of the quality gate (`ocr.quality`:
    blurred, too dark, cut off, too low a resolution) for pages a clerk should have
    rescanned at once; the page is still read. `warp` is set when the page is a card or
    sheet photographed on a desk: the page coordinates are then those of the straightened
    (and upright) document, and `warp` is the row-major 3x3 homography mapping them back to
    the source image, in fractions of its width and height (0..1), so a reviewer's
    highlight can be drawn on the original at any display size.
    """

    source: str
    page: int
    method: Method
    width: float
    height: float
    lines: tuple[OcrLine, ...]
    rotation: int = 0
    engine: str = ""
    blank: bool = False
    quality: tuple[str, ...] = ()
    warp: tuple[float, ...] | None = None

    @property
    def text(self) -> str:
        return "\n".join(line.text for line in self.lines)

    @property
    def quality_messages(self) -> list[str]:
        from ocr.quality import message

        return [message(code) for code in self.quality]

    def to_dict(self) -> dict[str, object]:
        data: dict[str, object] = {
            "source": self.source,
            "page": self.page,
            "rotation": self.rotation,
            "method": self.method,
            "engine": self.engine,
            "blank": self.blank,
            "width": self.width,
            "height": self.height,
            "lines": [
                {"text": ln.text, "confidence": round(ln.confidence, 4),
                 "box": [round(v, 1) for v in ln.box]}
                for ln in self.lines
            ],
            "quality": [{"code": code, "message": message}
                        for code, message in zip(self.quality, self.quality_messages,
                                                 strict=True)],
        }
        if self.warp is not None:
            data["warp"] = [round(v, 6) for v in self.warp]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> OcrPage:
        raw_lines = data.get("lines") or []
        assert isinstance(raw_lines, list)
        lines = tuple(
            OcrLine(text=str(ln["text"]), confidence=float(ln["confidence"]),
                    box=tuple(float(v) for v in ln["box"]))  # type: ignore[arg-type]
            for ln in raw_lines
        )
        raw_quality = data.get("quality") or []
        assert isinstance(raw_quality, list)
        quality = tuple(str(q["code"]) if isinstance(q, dict) else str(q) for q in raw_quality)
        raw_warp = data.get("warp")
        warp = (tuple(float(v) for v in raw_warp) if isinstance(raw_warp, list | tuple)
                else None)
        return cls(
            source=str(data["source"]), page=int(data["page"]),  # type: ignore[call-overload]
            method=data["method"],  # type: ignore[arg-type]
            width=float(data.get("width", 0.0)),  # type: ignore[arg-type]
            height=float(data.get("height", 0.0)),  # type: ignore[arg-type]
            lines=lines, rotation=int(data.get("rotation", 0)),  # type: ignore[call-overload]
            engine=str(data.get("engine", "")), blank=bool(data.get("blank", False)),
            quality=quality, warp=warp,
        )


@dataclass
class FileError:
    """A file (or one page of it, see `page`) that could not be read, with a stable code
    and a message a clerk understands."""

    source: str
    code: str
    message: str
    page: int | None = None
    """1-based page for page-level errors (``page.*`` codes); None for the whole file."""


@dataclass
class ReadResult:
    """Partial success is a normal result: pages read, plus per-page or per-file errors."""

    pages: list[OcrPage] = field(default_factory=list)
    errors: list[FileError] = field(default_factory=list)


@dataclass
class RasterPage:
    """One page as pixels. `page` is 1-based; `image` is uint8 gray or BGR; `dpi` is the
    resolution of `image` (what the file declares, or the render dpi for PDFs; 200 when
    an image file does not say)."""

    source: str
    page: int
    image: np.ndarray
    dpi: float
