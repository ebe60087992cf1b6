"""PP-OCR through the `rapidocr` wheel (ONNX Runtime, CPU, fully offline).

The wheel ships PP-OCRv6 small detection and recognition models and the PP-OCR mobile
v2.0 0/180° line classifier. rapidocr silently downloads any model that is not bundled,
so every model path is passed explicitly and checked to exist: a missing model is a
deployment error at start-up, never a network request at request time.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import rapidocr
from rapidocr import RapidOCR
from rapidocr.ch_ppocr_rec import TextRecInput

from ocr.engine import EngineOptions
from ocr.types import OcrLine

log = logging.getLogger(__name__)

DET_MODEL = "PP-OCRv6_det_small.onnx"
REC_MODEL = "PP-OCRv6_rec_small.onnx"
CLS_MODEL = "ch_ppocr_mobile_v2.0_cls_mobile.onnx"

CLS_SURE = 0.05
"""The line classifier's answer is taken as is only when it is at least this sure."""

# The reader already sizes pages (long side <= ~2500 px); rapidocr's own default cap of
# 2000 px would shrink them again and lose small print, so the cap here is only a guard.
MAX_SIDE = 4000


def _models_dir() -> Path:
    return Path(rapidocr.__file__).resolve().parent / "models"


class RapidOcrEngine:
    """`OcrEngine` (and `LineProbe`) backed by rapidocr's PP-OCR pipeline."""

    name = "rapidocr"

    def __init__(self, options: EngineOptions, models_dir: Path | None = None) -> None:
        models = models_dir or _models_dir()
        paths = {kind: models / file for kind, file in
                 (("Det", DET_MODEL), ("Rec", REC_MODEL), ("Cls", CLS_MODEL))}
        missing = [str(p) for p in paths.values() if not p.is_file()]
        if missing:
            raise RuntimeError(
                f"PP-OCR model files missing: {', '.join(missing)}. Install rapidocr==3.10.0 "
                "(its wheel ships them); docintake never downloads models."
            )
        params: dict[str, Any] = {
            "Global.log_level": "error",
            "Global.max_side_len": MAX_SIDE,
            "EngineConfig.onnxruntime.intra_op_num_threads": options.threads,
            "EngineConfig.onnxruntime.inter_op_num_threads": 1,
            **{f"{kind}.model_path": str(path) for kind, path in paths.items()},
        }
        self._ocr = RapidOCR(params=params)
        # rapidocr keeps per-call switches (use_det/use_cls/use_rec) as instance state, so
        # calls must not interleave even though onnxruntime sessions themselves could.
        self._lock = threading.Lock()
        self.version = (
            f"rapidocr {metadata.version('rapidocr')} / "
            f"{Path(DET_MODEL).stem} + {Path(REC_MODEL).stem} (+ {Path(CLS_MODEL).stem} "
            "for page orientation)"
        )
        self._warm_up()

    def _warm_up(self) -> None:
        # rapidocr loads each model lazily on first use; load all three now so the first
        # real page is not charged ~1 s of session creation (and failures surface here).
        # These loaders are private to rapidocr, which is pinned to 3.10.0.
        with self._lock:
            self._ocr._load_det_model()
            self._ocr._load_cls_model()
            self._ocr._load_rec_model()

    def recognize(self, image: np.ndarray) -> list[OcrLine]:
        with self._lock:
            # The line classifier is off: the reader has already turned the page upright,
            # and on upright pages the classifier only adds time and the odd wrong flip.
            result = self._ocr(_bgr(image), use_det=True, use_cls=False, use_rec=True)
        boxes = getattr(result, "boxes", None)
        txts = getattr(result, "txts", None)
        scores = getattr(result, "scores", None)
        if boxes is None or txts is None or scores is None:
            return []
        lines: list[OcrLine] = []
        for quad, text, score in zip(boxes, txts, scores, strict=False):
            text = str(text).strip()
            if not text:
                continue
            pts = np.asarray(quad, dtype=np.float64).reshape(-1, 2)
            x0, y0 = pts.min(axis=0)
            x1, y1 = pts.max(axis=0)
            lines.append(OcrLine(text=text, confidence=float(score),
                                 box=(float(x0), float(y0), float(x1), float(y1))))
        return lines

    # -- LineProbe -------------------------------------------------------------------

    def detect(self, image: np.ndarray) -> np.ndarray:
        with self._lock:
            result = self._ocr(_bgr(image), use_det=True, use_cls=False, use_rec=False)
        boxes = getattr(result, "boxes", None)
        if boxes is None or len(boxes) == 0:
            return np.zeros((0, 4, 2), dtype=np.float32)
        return np.asarray(boxes, dtype=np.float32).reshape(-1, 4, 2)

    def upside_down(self, crops: Sequence[np.ndarray]) -> list[float]:
        """0/180° classifier first (~1 ms a crop); where it is not sure — it often is not
        on Latin script — read the crop both ways and trust the recogniser's confidence:
        upside-down text reads as low-confidence noise."""
        if not crops:
            return []
        images = [_bgr(c) for c in crops]
        with self._lock:
            cls_out = self._ocr._load_cls_model()(images)
            probs = [float(score) if "180" in str(label) else 1.0 - float(score)
                     for label, score in cls_out.cls_res]
            unsure = [i for i, p in enumerate(probs) if CLS_SURE < p < 1.0 - CLS_SURE]
            if unsure:
                rec = self._ocr._load_rec_model()
                upright = rec(TextRecInput(img=[images[i] for i in unsure]))
                flipped = rec(TextRecInput(img=[cv2.rotate(images[i], cv2.ROTATE_180)
                                                for i in unsure]))
                for i, c0, c180 in zip(unsure, upright.scores, flipped.scores, strict=True):
                    margin = float(c180) - float(c0)
                    probs[i] = 0.5 if abs(margin) < 0.05 else (1.0 if margin > 0 else 0.0)
        return probs


def _bgr(image: np.ndarray) -> np.ndarray:
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    return np.ascontiguousarray(image)


def create_engine(options: EngineOptions) -> RapidOcrEngine:
    """Factory registered under kind ``"rapidocr"`` in `ocr.engine`."""
    return RapidOcrEngine(options)
