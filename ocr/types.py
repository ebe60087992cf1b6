"""What the OCR package produces: pages of text lines with boxes and confidence."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

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

    @property
    def text(self) -> str:
        return "\n".join(line.text for line in self.lines)

    def to_dict(self) -> dict[str, object]:
        return {
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
        }

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> OcrPage:
        raw_lines = data.get("lines") or []
        assert isinstance(raw_lines, list)
        lines = tuple(
            OcrLine(text=str(ln["text"]), confidence=float(ln["confidence"]),
                    box=tuple(float(v) for v in ln["box"]))  # type: ignore[arg-type]
            for ln in raw_lines
        )
        return cls(
            source=str(data["source"]), page=int(data["page"]),  # type: ignore[call-overload]
            method=data["method"],  # type: ignore[arg-type]
            width=float(data.get("width", 0.0)),  # type: ignore[arg-type]
            height=float(data.get("height", 0.0)),  # type: ignore[arg-type]
            lines=lines, rotation=int(data.get("rotation", 0)),  # type: ignore[call-overload]
            engine=str(data.get("engine", "")), blank=bool(data.get("blank", False)),
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
