"""PP-OCR with the models of the `rapidocr` wheel, run by OpenVINO (default) or ONNX Runtime.

The wheel ships PP-OCRv6 small detection and recognition models and the PP-OCR mobile
v2.0 0/180° line classifier as ONNX files. docintake loads those files itself and uses
rapidocr only for its DB box post-processing and CTC decoding: rapidocr's own pipeline
silently downloads any model that is not bundled, feeds the runtime a new input shape
for nearly every page and line batch, and offers no control of numeric precision.

Why OpenVINO: on this class of CPU (AVX-512, AMX) it runs the detector 3x faster than
ONNX Runtime in float32 and 6x faster in bfloat16 (bench/ocr). A new input shape costs
it a kernel compilation (0.05-1.3 s), so inputs are padded to a few bucketed shapes:
page images to multiples of 64 px, line batches to one of `ocr.prepare.LINE_WIDTHS` and
a power-of-two line count.

Every model path is checked at start-up: a missing model is a deployment error, never a
network request at request time.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import queue
import re
import threading
from collections.abc import Callable, Sequence
from importlib import metadata
from pathlib import Path

import cv2
import numpy as np
import rapidocr
from rapidocr.ch_ppocr_det.utils import DBPostProcess
from rapidocr.ch_ppocr_rec.utils import CTCLabelDecode
from stdnum.cn import ric, uscc

from ocr.engine import EngineOptions
from ocr.prepare import DETECT_MAX_SIDE, LINE_INPUT_HEIGHT, line_input_width, recognize_with
from ocr.quantize import QuantizationUnavailable, ensure_int8
from ocr.types import OcrLine

log = logging.getLogger(__name__)

DET_MODEL = "PP-OCRv6_det_small.onnx"
REC_MODEL = "PP-OCRv6_rec_small.onnx"
CLS_MODEL = "ch_ppocr_mobile_v2.0_cls_mobile.onnx"

DET_MIN_SIDE = 736
"""Smaller images (a card cut out of a photo) are enlarged to this short side: the DB
detector misses characters only a few pixels high (rapidocr's own default)."""
DET_MAX_SIDE = 2400
"""Larger images are shrunk first; the reader already hands in ~1000-1600 px pages."""
DET_BUCKET = 64
REC_BATCH_COLUMNS = 1280
"""A batch holds as many lines as fit in this many columns (a 48 x 1280 input keeps
the recogniser's activations in cache: per column it runs ~1.4x faster than 8 x 640), and
its line count is padded to a power of two: a few dozen shapes in all, each compiled once
per process, and little compute spent on padding. Half of a page's lines are labels
under 320 px wide; padding them all to 320 px as PaddleOCR does doubled the work."""
DET_THRESH = {"f32": 0.3, "bf16": 0.3, "int8": 0.35}
"""Probability above which a detector pixel is text. The INT8 detector's map is a little
softer between close objects: at 0.3 it joined "登记机构（章）" with the seal stamped over
it into one box that read as nothing; at 0.35 the benchmark's 24 pages (seed 2025) read
as in float32 (CER 0.39% against 0.55% at 0.3, every code exact either way). On 24 other
pages (seed 7) 0.35 read 0.66% and 0.3 0.60%, every code exact: a wash there."""
CLS_SHAPE = (48, 192)
CLS_BATCH = 6

CLS_SURE = 0.05
"""The line classifier's answer is taken as is only when it is at least this sure."""

Session = Callable[[np.ndarray], np.ndarray]


def _models_dir() -> Path:
    return Path(rapidocr.__file__).resolve().parent / "models"


def _round_up(value: float, step: int) -> int:
    return max(step, math.ceil(value / step) * step)


def _line_batches(widths: Sequence[int], ids: Sequence[int]) -> list[tuple[list[int], int]]:
    """Split lines (sorted by width, narrowest first) into (ids, padded width) batches of
    at most `REC_BATCH_COLUMNS` columns, padding counted."""
    batches: list[tuple[list[int], int]] = []
    members: list[int] = []
    width = 0
    for line_id, line_width in zip(ids, widths, strict=True):
        grown = line_input_width(line_width)
        if members and _power_of_two(len(members) + 1) * grown > REC_BATCH_COLUMNS:
            batches.append((members, width))
            members = []
        members.append(line_id)
        width = grown
    if members:
        batches.append((members, width))
    return batches


def _power_of_two(count: int) -> int:
    return 1 << max(0, count - 1).bit_length()


def _blob(image: np.ndarray) -> np.ndarray:
    """uint8 BGR (h, w, 3) -> float32 (1, 3, h, w) scaled to [-1, 1], as PP-OCR expects."""
    return cv2.dnn.blobFromImage(image, scalefactor=2.0 / 255.0, mean=(127.5, 127.5, 127.5))


def _usable_dir(path: str | None) -> Path | None:
    """`path` created if need be, or None when it cannot be written (a read-only home):
    the compile cache only saves start-up time, it is never worth failing for."""
    if not path:
        return None
    try:
        directory = Path(path)
        directory.mkdir(parents=True, exist_ok=True)
        probe = directory / f".write-test-{os.getpid()}"
        probe.touch()
        probe.unlink()
        return directory
    except OSError as exc:
        log.warning("OCR model cache %s is not writable (%s); compiling without it", path, exc)
        return None


class _Runtime:
    """Compiles the models on one inference runtime; `session(path)` -> a callable from an
    input batch to the model's (first) output, plus the model's metadata."""

    def __init__(self, options: EngineOptions) -> None:
        self.kind = options.runtime
        self.threads = options.threads
        self.streams = 1 if self.kind != "openvino" else max(1, min(options.streams,
                                                                    options.threads))
        self.cache_dir = _usable_dir(options.cache_dir)
        self.capabilities: tuple[str, ...] = ()
        if self.kind == "openvino":
            import openvino

            self._core = openvino.Core()
            self.version = f"OpenVINO {openvino.__version__.split('-')[0]}"
            self.capabilities = tuple(
                str(c) for c in self._core.get_property("CPU", "OPTIMIZATION_CAPABILITIES"))
        else:
            import onnxruntime

            self.version = f"ONNX Runtime {onnxruntime.__version__}"

    def session(self, path: Path, precision: str, *, top1: bool = False,
                ) -> tuple[Session, Callable[[str], str | None]]:
        """(run, metadata lookup) for the model at `path`; `precision` is the float type
        of OpenVINO's kernels ("bf16", or "f32" for everything else: an INT8 model keeps
        its quantized layers in INT8 and runs the rest in float32). With `top1` (the
        recogniser) the run returns, per time step, only the most likely class and its
        probability, ``(N, T, 2)`` as [index, probability]: all CTC decoding needs, and
        1/9000 of the scores of all 18,710 classes to copy out and search."""
        if self.kind == "openvino":
            return self._openvino(path, precision, top1)
        return self._onnxruntime(path, top1)

    def _openvino(self, path: Path, precision: str, top1: bool,
                  ) -> tuple[Session, Callable[[str], str | None]]:
        import openvino

        model = self._core.read_model(str(path))
        source = model
        if top1:
            from openvino import opset13

            scores = model.get_results()[0].input_value(0)
            best = opset13.topk(scores, 1, -1, "max", "none", "i32")
            model = openvino.Model([best.output(0), best.output(1)], model.get_parameters(),
                                   "rec-top1")
        config: dict[str, object] = {"INFERENCE_NUM_THREADS": self.threads,
                                     "NUM_STREAMS": self.streams,
                                     # Without the hint OpenVINO would pick bf16 on CPUs
                                     # that have it; name the type either way.
                                     "INFERENCE_PRECISION_HINT": "bf16" if precision == "bf16"
                                     else "f32"}
        if self.streams == 1:
            config["PERFORMANCE_HINT"] = "LATENCY"
        if self.cache_dir is not None:
            config["CACHE_DIR"] = str(self.cache_dir)
        compiled = self._core.compile_model(model, "CPU", config)
        # One infer request per stream: a call takes a free one, so with streams > 1 the
        # reader's pages in flight run their model calls at once, each on its own core.
        idle: queue.SimpleQueue[openvino.InferRequest] = queue.SimpleQueue()
        for _ in range(self.streams):
            idle.put(compiled.create_infer_request())

        def run(batch: np.ndarray) -> np.ndarray:
            request = idle.get()
            try:
                request.infer([batch])
                # The request reuses its output buffers on the next call: copy them out.
                if top1:
                    return np.concatenate(
                        [request.get_output_tensor(1).data.astype(np.float32),
                         request.get_output_tensor(0).data], axis=-1)
                return np.array(request.get_output_tensor(0).data, copy=True)
            finally:
                idle.put(request)

        def meta(key: str) -> str | None:
            info = source.get_rt_info()
            if "framework" not in info or key not in info["framework"]:
                return None
            return str(info["framework"][key].value)

        return run, meta

    def _onnxruntime(self, path: Path, top1: bool,
                     ) -> tuple[Session, Callable[[str], str | None]]:
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = self.threads
        opts.inter_op_num_threads = 1
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        session = ort.InferenceSession(str(path), sess_options=opts,
                                       providers=["CPUExecutionProvider"])
        name = session.get_inputs()[0].name

        def run(batch: np.ndarray) -> np.ndarray:
            scores = np.asarray(session.run(None, {name: batch})[0])
            if not top1:
                return scores
            index = scores.argmax(axis=-1)[..., None]
            return np.concatenate([index.astype(np.float32),
                                   np.take_along_axis(scores, index, axis=-1)], axis=-1)

        def meta(key: str) -> str | None:
            return session.get_modelmeta().custom_metadata_map.get(key)

        return run, meta


def choose_precision(requested: str, capabilities: Sequence[str]) -> str:
    """The precision for OpenVINO on a CPU with these OPTIMIZATION_CAPABILITIES: bfloat16
    where the CPU has it (measured fastest there at the same accuracy), INT8 models
    elsewhere (float32 alone reads at about half Tesseract's speed on AVX2: issue 16)."""
    if requested != "auto":
        return requested
    return "bf16" if "BF16" in capabilities else "int8"


class RapidOcrEngine:
    """`OcrEngine`, `LineProbe` and `LineReader` on the rapidocr wheel's PP-OCR models."""

    name = "rapidocr"

    def __init__(self, options: EngineOptions, models_dir: Path | None = None) -> None:
        models = models_dir or _models_dir()
        paths = [models / f for f in (DET_MODEL, REC_MODEL, CLS_MODEL)]
        missing = [str(p) for p in paths if not p.is_file()]
        if missing:
            raise RuntimeError(
                f"PP-OCR model files missing: {', '.join(missing)}. Install rapidocr==3.10.0 "
                "(its wheel ships them); docintake never downloads models."
            )
        runtime = _Runtime(options)
        precision, det_path, rec_path, note = self._precision(options, runtime, paths)
        kernels = "bf16" if precision == "bf16" else "f32"
        self._det, _ = runtime.session(det_path, kernels)
        self._rec, rec_meta = runtime.session(rec_path, kernels, top1=True)
        self._cls, _ = runtime.session(paths[2], kernels)
        # The INT8 IR keeps the ONNX metadata; the source model is asked if it ever does not.
        characters = rec_meta("character") or runtime.session(paths[1], "f32")[1]("character")
        if not characters:
            raise RuntimeError(f"{paths[1]} carries no character dictionary")
        self._decode = CTCLabelDecode(character=characters.splitlines())
        self._boxes = DBPostProcess(thresh=DET_THRESH[precision], box_thresh=0.5,
                                    max_candidates=1000, unclip_ratio=1.6, use_dilation=True,
                                    score_mode="fast")
        # One model call at a time, unless the sessions have several streams (each
        # call then takes an infer request of its own).
        self._lock: contextlib.AbstractContextManager[object] = (
            threading.Lock() if runtime.streams == 1 else contextlib.nullcontext())
        self._exact_lock = threading.Lock()
        # The cascade: the fast recogniser reads every line; a line whose ID number or
        # credit code fails its check character is read again in float32. Re-reading lines
        # under 0.9 confidence too was measured for bf16 (bench/ocr, 24 pages, same run):
        # CER 0.43% either way, 113 MB more memory for the second model, so confidence
        # does not trigger it.
        self._cascade = options.cascade
        self._exact_rec: Session | None = None
        self._runtime, self._rec_path = runtime, paths[1]
        self._taps: tuple[Callable[[np.ndarray], object], ...] = ()
        self.precision = precision
        self.version = (
            f"rapidocr {metadata.version('rapidocr')}: {Path(DET_MODEL).stem}, "
            f"{Path(REC_MODEL).stem}, {Path(CLS_MODEL).stem}; {runtime.version} {precision}"
            + note + (", f32 cascade" if self._cascade and precision != "f32" else "")
        )
        self._warm_up()

    @staticmethod
    def _precision(options: EngineOptions, runtime: _Runtime, paths: list[Path],
                   ) -> tuple[str, Path, Path, str]:
        """(precision, detector, recogniser, label note) for these options on this CPU."""
        if runtime.kind != "openvino":
            return "f32", paths[0], paths[1], ""
        precision = choose_precision(options.precision, runtime.capabilities)
        if precision != "int8":
            return precision, paths[0], paths[1], ""
        try:
            det, rec = ensure_int8(paths[0], paths[1], runtime.cache_dir, options.calibration,
                                   threads=options.threads)
        except QuantizationUnavailable as exc:
            log.warning("OCR reads in float32: no INT8 models (%s)", exc)
            return "f32", paths[0], paths[1], " (no int8 models)"
        return "int8", det, rec, ""

    def record_inputs(self, det: Callable[[np.ndarray], object],
                      rec: Callable[[np.ndarray], object]) -> None:
        """Hand every detector and recogniser input batch to `det` / `rec` as well (the
        calibration of `ocr.quantize`)."""
        self._taps = (det, rec)

    def _warm_up(self) -> None:
        # The first call of each model compiles its kernels for the input shape; do it now,
        # with the shape of an A4 page as the reader sizes it, so that failures surface at
        # start-up and the first page is not slower than the rest.
        page = np.full((DETECT_MAX_SIDE, round(DETECT_MAX_SIDE / 2 ** 0.5), 3), 255,
                       np.uint8)
        cv2.putText(page, "docintake 2025", (40, 200), cv2.FONT_HERSHEY_SIMPLEX, 1.5,
                    (0, 0, 0), 3)
        self.detect(page)
        self.read_lines([page[160:220, 20:420]])
        self.upside_down([page[160:220, 20:420]])

    # -- OcrEngine -------------------------------------------------------------------

    def recognize(self, image: np.ndarray) -> list[OcrLine]:
        return recognize_with(self, image)

    # -- LineProbe / LineReader --------------------------------------------------------

    def detect(self, image: np.ndarray) -> np.ndarray:
        bgr = _bgr(image)
        h, w = bgr.shape[:2]
        scale = min(DET_MAX_SIDE / max(h, w), max(1.0, DET_MIN_SIDE / min(h, w)))
        rh, rw = max(32, round(h * scale / 32) * 32), max(32, round(w * scale / 32) * 32)
        resized = bgr if (rh, rw) == (h, w) else cv2.resize(bgr, (rw, rh))
        canvas = np.full((_round_up(rh, DET_BUCKET), _round_up(rw, DET_BUCKET), 3), 255,
                         np.uint8)  # white paper around the page, never seen as text
        canvas[:rh, :rw] = resized
        blob = _blob(canvas)
        if self._taps:
            self._taps[0](blob)
        with self._lock:
            pred = self._det(blob)
        boxes, _scores = self._boxes(np.ascontiguousarray(pred[:, :, :rh, :rw]), (h, w))
        if len(boxes) == 0:
            return np.zeros((0, 4, 2), dtype=np.float32)
        return np.asarray(boxes, dtype=np.float32).reshape(-1, 4, 2)

    def read_lines(self, crops: Sequence[np.ndarray]) -> list[tuple[str, float]]:
        """Text and confidence of each horizontal line crop, in the order given."""
        images = [_bgr(c) for c in crops]
        out = self._recognise(self._rec, images)
        if self._cascade:
            doubtful = [i for i, (text, _) in enumerate(out) if _doubtful_code(text)]
            if doubtful:
                self._rescue(images, doubtful, out)
        return out

    def _rescue(self, images: list[np.ndarray], doubtful: list[int],
                out: list[tuple[str, float]]) -> None:
        """Read each doubtful line again in float32, as it was cut and in the variants that
        undo what breaks codes (`_second_looks`); keep the first reading whose codes are
        whole and valid, else the better of the rest (`_better`)."""
        looks = [_second_looks(images[i]) for i in doubtful]
        again = self._recognise(self._exact(), [look for group in looks for look in group])
        start = 0
        for i, group in zip(doubtful, looks, strict=True):
            readings, start = again[start:start + len(group)], start + len(group)
            whole = [r for r in readings if _mends_code(r[0])]
            if whole:
                out[i] = whole[0]
                continue
            for second in readings:
                if _better(second, out[i]):
                    out[i] = second

    def _exact(self) -> Session:
        """The float32 recogniser of the cascade, compiled when first needed."""
        with self._exact_lock:
            if self._exact_rec is None:
                self._exact_rec = (self._rec if self.precision == "f32" else
                                   self._runtime.session(self._rec_path, "f32",
                                                         top1=True)[0])
            return self._exact_rec

    def _recognise(self, model: Session, images: list[np.ndarray]) -> list[tuple[str, float]]:
        out: list[tuple[str, float]] = [("", 0.0)] * len(images)
        if not images:
            return out
        ratios = [c.shape[1] / max(1, c.shape[0]) for c in images]
        order = sorted(range(len(images)), key=lambda i: ratios[i])
        widths = [math.ceil(LINE_INPUT_HEIGHT * ratios[i]) for i in order]
        for members, width in _line_batches(widths, order):
            batch = np.zeros((_power_of_two(len(members)), 3, LINE_INPUT_HEIGHT, width), np.float32)
            for slot, i in enumerate(members):
                w = min(width, max(1, math.ceil(LINE_INPUT_HEIGHT * ratios[i])))
                batch[slot, :, :, :w] = _blob(cv2.resize(images[i], (w, LINE_INPUT_HEIGHT)))[0]
            if self._taps and model is self._rec:
                self._taps[1](batch)
            with self._lock:
                preds = model(batch)
            best = preds[:len(members)]
            lines, _ = self._decode.decode(best[..., 0].astype(np.int64), best[..., 1],
                                           remove_duplicate=True)
            for i, (text, score) in zip(members, lines, strict=True):
                out[i] = (str(text), float(score))
        return out

    def upside_down(self, crops: Sequence[np.ndarray]) -> list[float]:
        """0/180° classifier first (~1 ms a crop); where it is not sure — it often is not
        on Latin script — read the crop both ways and trust the recogniser's confidence:
        upside-down text reads as low-confidence noise."""
        if not crops:
            return []
        images = [_bgr(c) for c in crops]
        ch, cw = CLS_SHAPE
        probs: list[float] = []
        for start in range(0, len(images), CLS_BATCH):
            members = images[start:start + CLS_BATCH]
            batch = np.zeros((CLS_BATCH, 3, ch, cw), np.float32)
            for slot, image in enumerate(members):
                w = min(cw, max(1, math.ceil(ch * image.shape[1] / max(1, image.shape[0]))))
                batch[slot, :, :, :w] = _blob(cv2.resize(image, (w, ch)))[0]
            with self._lock:
                scores = self._cls(batch)
            probs += [float(p[1]) for p in scores[:len(members)]]  # labels: 0°, 180°
        unsure = [i for i, p in enumerate(probs) if CLS_SURE < p < 1.0 - CLS_SURE]
        if unsure:
            upright = self._recognise(self._rec, [images[i] for i in unsure])
            flipped = self._recognise(self._rec, [cv2.rotate(images[i], cv2.ROTATE_180)
                                                  for i in unsure])
            for i, (_, c0), (_, c180) in zip(unsure, upright, flipped, strict=True):
                margin = c180 - c0
                probs[i] = 0.5 if abs(margin) < 0.05 else (1.0 if margin > 0 else 0.0)
        return probs


_CODE_LIKE = re.compile(r"[0-9A-Z]{18}")
_CODE_RUN = re.compile(r"(?<![0-9A-Z])[0-9A-Z]{15,20}(?![0-9A-Z])")
"""A whole run of digits and capitals about as long as an ID number or credit code."""


def _better(second: tuple[str, float], first: tuple[str, float]) -> bool:
    """Whether the cascade's second reading replaces the first: it mends a broken code,
    or it is surer without dropping characters (CTC confidence is an average over the
    characters kept, so a reading that leaves out the doubtful ones looks surer: under a
    seal, f32 read "登记机构（" at 0.93 where bf16 had "登记机构(章）")."""
    if _doubtful_code(first[0]) and _mends_code(second[0]):
        return True
    return second[1] > first[1] and len(second[0].strip()) >= len(first[0].strip())


def _fails_check_character(text: str) -> bool:
    """An 18-character run of digits and capitals (a resident ID number or a unified
    social credit code) that is neither: a misread character broke its check."""
    return any(not (ric.is_valid(code) or uscc.is_valid(code))
               for code in _CODE_LIKE.findall(text.replace(" ", "").upper()))


def _doubtful_code(text: str) -> bool:
    """A line whose ID number or credit code a misreading broke: a run of 18 digits and
    capitals that fails its check character, or a run of 15-17 or 19-20 — a code that
    lost characters (at the line's end, under a seal) or gained one. Bank account numbers
    of those lengths are doubted too: that costs a second reading, nothing else."""
    return any(len(run) != 18 or not _valid_code(run)
               for run in _CODE_RUN.findall(text.replace(" ", "").upper()))


def _valid_code(run: str) -> bool:
    return bool(ric.is_valid(run) or uscc.is_valid(run))


def _mends_code(text: str) -> bool:
    """A reading that holds a valid code and no doubtful one."""
    runs = _CODE_RUN.findall(text.replace(" ", "").upper())
    return bool(runs) and all(len(run) == 18 and _valid_code(run) for run in runs)


SEAL_RED_SHARE = 0.02
"""A crop with at least this share of strongly red pixels has a seal on it."""


INK_ONLY_LEVEL = 0.4
"""The ink-only look keeps pixels darker than this fraction of the way from the ink to
the paper: black print stays, a seal's lighter strokes (red seals are mid-grey on a
grey scan) become paper."""


def _second_looks(image: np.ndarray) -> list[np.ndarray]:
    """The ways the cascade reads a doubtful line again: the crop as cut; with a margin of
    paper on both sides (a character touching the crop's edge is often dropped); its
    darkest ink only (a seal over the digits, grey scans included); and on a colour crop
    with a red seal, its red channel alone, where red ink is as light as the paper. On
    generated lines with a seal over the digits the float32 recogniser misread the code as
    cut, and read it exactly in the ink-only and red-channel looks (tests/ocr)."""
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY).astype(np.float32)
    paper_bgr = np.median(np.concatenate([image[0], image[-1]]), axis=0)
    margin = max(2, image.shape[0] // 2)
    looks = [image, cv2.copyMakeBorder(image, 0, 0, margin, margin, cv2.BORDER_CONSTANT,
                                       value=[float(v) for v in paper_bgr])]
    ink = float(np.percentile(gray, 2))
    paper = float(np.median(np.concatenate([gray[0], gray[-1]])))
    if paper - ink > 40:
        level = ink + INK_ONLY_LEVEL * (paper - ink)
        dark = np.where(gray <= level, gray, paper).astype(np.uint8)
        looks.append(cv2.cvtColor(dark, cv2.COLOR_GRAY2BGR))
    blue, green, red = (image[..., c].astype(np.int16) for c in range(3))
    if float(((red - np.maximum(blue, green)) > 60).mean()) >= SEAL_RED_SHARE:
        looks.append(cv2.cvtColor(np.ascontiguousarray(image[..., 2]), cv2.COLOR_GRAY2BGR))
    return looks


def _bgr(image: np.ndarray) -> np.ndarray:
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    return np.ascontiguousarray(image)


def create_engine(options: EngineOptions) -> RapidOcrEngine:
    """Factory registered under kind ``"rapidocr"`` in `ocr.engine`."""
    return RapidOcrEngine(options)
