"""The OCR engine contract, and how options pick an engine implementation.

The reader (`ocr.reader`) only ever talks to an `OcrEngine`. Which implementation is used
is decided by `EngineOptions.kind` through a small registry of factories, so adding
PaddleOCR later means registering one more factory, not editing call sites.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

import numpy as np

from ocr.types import OcrLine

EngineKind = Literal["rapidocr", "paddle"]
Runtime = Literal["openvino", "onnxruntime"]
Precision = Literal["auto", "f32", "bf16", "int8"]


class OcrEngine(Protocol):
    """A text detector + recogniser for one page image.

    What an engine must do:

    - `recognize(image)` finds the text lines in `image` and returns one `OcrLine` per
      line: the text, a confidence in [0, 1] and an axis-aligned box ``(x0, y0, x1, y1)``
      in **the pixel coordinates of the image it was given** (origin top-left). Mapping
      back to page coordinates is the reader's job, not the engine's.
    - `image` is a C-contiguous ``uint8`` array, either gray ``(h, w)`` or BGR
      ``(h, w, 3)``. The reader has already made the page upright, deskewed it and sized it
      for detection (long side at most 1600 px); the engine should not resize it again
      unless its model requires it, and must not rotate it.
    - Reading order is **not** required: the reader sorts lines into rows.
    - An image without text returns ``[]``; it is not an error. Lines whose text is empty
      after stripping are dropped.
    - Never download anything: models are local files resolved when the engine is built.

    Threading: an engine instance is created once per process (see `get_engine`).
    `ocr.reader.read_files` calls it from two threads at once, so that one page is being
    prepared while the other is in the models: an engine must be safe for that, and
    should run one model call at a time (a lock, or one thread of its own) with the
    intra-op thread count of `EngineOptions.threads`. Do not add parallelism of your own
    (thread pools, multiprocessing): the worker already runs one process per core.

    `name` is a short identifier (``"rapidocr"``); `version` names the engine, the models,
    the runtime and its precision (``"rapidocr 3.10.0: PP-OCRv6_det_small, ...; OpenVINO
    2026.4.1 bf16, f32 cascade"``; pages store at most 200 characters of it), and is
    recorded on every page it reads so results can be traced to what produced them.
    """

    name: str
    version: str

    def recognize(self, image: np.ndarray) -> list[OcrLine]: ...


@runtime_checkable
class LineProbe(Protocol):
    """Optional engine capability used by the reader to find page orientation and skew.

    `detect(image)` runs text detection only and returns an ``(N, 4, 2)`` float array of
    quadrilaterals (pixel coordinates of `image`; empty ``(0, 4, 2)`` when nothing is
    found). `upside_down(crops)` takes text-line crops that are already horizontal and
    returns, per crop, the probability that it is rotated by 180°. Both are much cheaper
    than `recognize` (detection runs on a small copy of the page, classification on a few
    48-px-high crops). Engines without it still work; their pages are just not rotated.
    """

    def detect(self, image: np.ndarray) -> np.ndarray: ...

    def upside_down(self, crops: Sequence[np.ndarray]) -> list[float]: ...


@runtime_checkable
class LineReader(LineProbe, Protocol):
    """Optional capability that lets the reader detect each page only once.

    `read_lines(crops)` returns ``(text, confidence)`` for each horizontal, upright line
    crop, in the order given (``("", 0.0)`` where nothing is read). With it, the reader
    finds orientation, skew and the lines from one `detect` call and cuts the lines from
    the full-resolution page itself; without it, the page is detected again inside
    `recognize`.
    """

    def read_lines(self, crops: Sequence[np.ndarray]) -> list[tuple[str, float]]: ...


@dataclass(frozen=True)
class EngineOptions:
    """Which engine to build and how.

    `kind` picks the implementation: ``"rapidocr"`` (default; PP-OCRv6 small ONNX models
    from the rapidocr wheel) or ``"paddle"`` (PaddlePaddle inference of the PP-OCR models
    in `model_dir`; optional extra ``docintake[paddle]``). `threads` is the number of
    intra-op threads of the inference runtime; keep it at the number of cores a worker
    process may use. `model_dir` is a local directory of models for engines that need one
    (``"paddle"``: ``PP-OCRv5_mobile_det/`` and ``PP-OCRv5_mobile_rec/``); ``None`` means
    the engine's bundled default.

    For ``"rapidocr"``, `runtime` picks the inference runtime: ``"openvino"`` (default,
    several times faster on Intel CPUs) or ``"onnxruntime"``. `precision` (OpenVINO):
    ``"auto"`` picks per CPU — bfloat16 where the CPU has it (AVX512-BF16, AMX), else the
    INT8 models of `ocr.quantize`; ``"bf16"``, ``"int8"`` (INT8 detector and recogniser,
    everything else float32, as on a CPU without bfloat16) and ``"f32"`` force one. The
    precision used is named in the engine's `version`, so every page records it.
    `cache_dir` is where OpenVINO keeps the models it has compiled for this CPU, so the
    next process starts ~0.5 s sooner, and where the INT8 models are kept; ``None``
    compiles every time and has no INT8 models (INT8 then falls back to float32).
    `calibration` is the ``"module:callable"`` yielding the calibration pages INT8 models
    are built from when none are in `cache_dir` (``None``: never build at run time).
    `cascade` (bfloat16 or INT8) reads doubtful lines again in float32. `streams`
    (OpenVINO) lets that many model calls run at once, `threads // streams` intra-op
    threads each — for a caller with several pages in flight, as `ocr.reader.read_files`
    has; 1 (default): one call at a time on all `threads`.
    """

    kind: EngineKind = "rapidocr"
    threads: int = 2
    model_dir: str | None = None
    runtime: Runtime = "openvino"
    precision: Precision = "auto"
    cache_dir: str | None = None
    cascade: bool = True
    calibration: str | None = None
    streams: int = 1

    def __post_init__(self) -> None:
        if self.threads < 1:
            raise ValueError(f"EngineOptions.threads must be >= 1, got {self.threads}")


EngineFactory = Callable[[EngineOptions], OcrEngine]

# kind -> "module:callable". Imported lazily so that `import ocr.engine` does not load
# onnxruntime (the API process imports the package without ever running OCR).
_FACTORY_PATHS: dict[str, str] = {"rapidocr": "ocr.rapid:create_engine",
                                   "paddle": "ocr.paddle:create_engine"}
_FACTORIES: dict[str, EngineFactory] = {}

_cache: dict[EngineOptions, OcrEngine] = {}
_cache_lock = threading.Lock()


def register_engine(kind: str, factory: EngineFactory) -> None:
    """Make `kind` buildable by `get_engine` (for new engines and for test doubles)."""
    with _cache_lock:
        _FACTORIES[kind] = factory
        for options in [o for o in _cache if o.kind == kind]:
            del _cache[options]


def _factory(kind: str) -> EngineFactory:
    if kind in _FACTORIES:
        return _FACTORIES[kind]
    path = _FACTORY_PATHS.get(kind)
    if path is None:
        known = ", ".join(sorted({*_FACTORY_PATHS, *_FACTORIES}))
        raise ValueError(f"unknown OCR engine kind {kind!r} (known: {known})")
    module_name, attr = path.split(":")
    factory: EngineFactory = getattr(importlib.import_module(module_name), attr)
    _FACTORIES[kind] = factory
    return factory


def get_engine(options: EngineOptions = EngineOptions()) -> OcrEngine:
    """The process-wide engine for `options`, built (and its models loaded) on first use.

    Creation is serialised by a lock, so two threads asking at once still load the models
    only once; later calls return the cached instance without locking cost beyond a dict
    lookup under the lock.
    """
    with _cache_lock:
        engine = _cache.get(options)
        if engine is None:
            engine = _factory(options.kind)(options)
            _cache[options] = engine
        return engine
