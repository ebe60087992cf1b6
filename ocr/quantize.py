"""INT8 copies of the PP-OCR detector and recogniser, made on this machine from the wheel's
own weights: the fast path on CPUs without bfloat16.

Nothing is downloaded. `build_int8` reads a set of calibration pages with the float32
engine, records the exact inputs the detector and the recogniser are given (padded page
canvases, padded line batches), and lets NNCF's post-training quantization derive the
INT8 scales from them; the result is saved as OpenVINO IR (``det.xml``/``rec.xml``) with
a ``manifest.json`` saying what it was made from. Generated models are never committed:
they live under the OpenVINO cache directory (`EngineOptions.cache_dir`), in a folder
whose name is a hash of everything that determines them (the source ONNX files, the
NNCF and OpenVINO versions, the recipe version and the calibration set's name), so a new
wheel or recipe builds anew instead of silently reusing stale models.

`ensure_int8` is what the engine calls: the existing models, or one build under a file
lock (several worker processes starting at once build once), run in a spawned child so
that NNCF and the recorded calibration tensors never weigh on the OCR process's memory.
The calibration pages come from a ``"module:callable"`` given by the caller (docintake's
is `samples.calibration.calibration_pages`: the sample-page generator with a fixed seed,
so every machine calibrates on the same pages), imported only in the build's child;
`ocr` itself imports nothing above it. ``scripts/bootstrap`` builds the models at install
time on CPUs that will use them, so the first page of a fresh install does not wait.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib
import json
import logging
import multiprocessing
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from importlib import metadata
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

log = logging.getLogger(__name__)

RECIPE_VERSION = 2
"""Bump when `build_int8` changes what it produces, so older builds are not reused."""
DET_FILE, REC_FILE, MANIFEST_FILE = "det.xml", "rec.xml", "manifest.json"

CalibrationPages = Callable[[], Iterable[np.ndarray]]


@runtime_checkable
class InputRecorder(Protocol):
    """An engine that can hand every detector and recogniser input batch to a callback
    (`ocr.rapid.RapidOcrEngine`)."""

    def record_inputs(self, det: Callable[[np.ndarray], object],
                      rec: Callable[[np.ndarray], object]) -> None: ...


class QuantizationUnavailable(RuntimeError):
    """INT8 models cannot be had here (no NNCF, no cache directory, a failed build); the
    engine then reads in float32 and says so in its label."""


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "missing"


def build_key(det_model: Path, rec_model: Path, calibration: str) -> str:
    """What determines a build: the source models, the tools, the recipe, the pages."""
    parts = [_sha256(det_model), _sha256(rec_model), _version("nncf"), _version("openvino"),
             str(RECIPE_VERSION), calibration]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def int8_dir(cache_dir: Path, key: str) -> Path:
    return cache_dir / f"int8-{key}"


def find_int8(directory: Path) -> tuple[Path, Path] | None:
    """(detector, recogniser) IR paths when `directory` holds a finished build."""
    det, rec = directory / DET_FILE, directory / REC_FILE
    complete = all(p.is_file() for p in (det, rec, det.with_suffix(".bin"),
                                         rec.with_suffix(".bin"), directory / MANIFEST_FILE))
    return (det, rec) if complete else None


def load_calibration(path: str) -> CalibrationPages:
    """The ``"module:callable"`` that yields calibration page images."""
    module_name, _, attr = path.partition(":")
    if not module_name or not attr:
        raise ValueError(f"calibration must be 'module:callable', got {path!r}")
    pages: CalibrationPages = getattr(importlib.import_module(module_name), attr)
    return pages


def record_inputs(pages: Iterable[np.ndarray], threads: int,
                  ) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The detector's and the recogniser's inputs while the float32 engine reads `pages`
    through the product's own path (framing, orientation, line cutting, batching)."""
    from ocr.engine import EngineOptions, get_engine
    from ocr.reader import read_page
    from ocr.sources import RasterPage

    engine = get_engine(EngineOptions(threads=threads, precision="f32", cascade=False))
    if not isinstance(engine, InputRecorder):
        raise QuantizationUnavailable(f"{engine.name} cannot hand out its model inputs")
    det_inputs: list[np.ndarray] = []
    rec_inputs: list[np.ndarray] = []
    engine.record_inputs(det_inputs.append, rec_inputs.append)
    for number, image in enumerate(pages, start=1):
        read_page(RasterPage("calibration", number, image, 200.0), engine)
    return det_inputs, rec_inputs


def build_int8(det_model: Path, rec_model: Path, pages: Iterable[np.ndarray], out: Path, *,
               threads: int = 2, description: str = "") -> tuple[Path, Path]:
    """Quantize both models on the inputs recorded from `pages`; write IR + manifest."""
    import nncf
    import openvino

    started = time.monotonic()
    det_inputs, rec_inputs = record_inputs(pages, threads)
    if not det_inputs or not rec_inputs:
        raise QuantizationUnavailable("the calibration pages gave no text to calibrate on")
    core = openvino.Core()
    core.set_property("CPU", {"INFERENCE_NUM_THREADS": threads})
    out.mkdir(parents=True, exist_ok=True)
    written = []
    # MIXED: symmetric weights, asymmetric activations (the detector's inputs and many
    # activations are not centred on zero); fast bias correction on, as by default. The
    # recogniser (SVTR: convolutions, then attention blocks) must be quantized as a
    # transformer — NNCF then keeps softmax, layer norms and the attention's additions in
    # float: quantized like a CNN it read 10% CER and no ID number right, as a transformer
    # 0.43% against float32's 0.39% (bench/ocr, 24 held-out pages).
    for source, inputs, name, model_type in (
            (det_model, det_inputs, DET_FILE, None),
            (rec_model, rec_inputs, REC_FILE, nncf.ModelType.TRANSFORMER)):
        quantized = nncf.quantize(core.read_model(str(source)), nncf.Dataset(inputs),
                                  subset_size=len(inputs), model_type=model_type,
                                  preset=nncf.QuantizationPreset.MIXED)
        openvino.save_model(quantized, str(out / name), compress_to_fp16=False)
        written.append(out / name)
    manifest = {"recipe": RECIPE_VERSION, "calibration": description,
                "detector_inputs": len(det_inputs), "recogniser_batches": len(rec_inputs),
                "sources": {p.name: _sha256(p) for p in (det_model, rec_model)},
                "nncf": _version("nncf"), "openvino": _version("openvino"),
                "seconds": round(time.monotonic() - started, 1)}
    (out / MANIFEST_FILE).write_text(json.dumps(manifest, indent=1))
    return written[0], written[1]


def _build_in_child(det_model: str, rec_model: str, calibration: str, out: str,
                    threads: int) -> None:
    pages = load_calibration(calibration)()
    build_int8(Path(det_model), Path(rec_model), pages, Path(out), threads=threads,
               description=calibration)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def ensure_int8(det_model: Path, rec_model: Path, cache_dir: Path | None,
                calibration: str | None, *, threads: int = 2) -> tuple[Path, Path]:
    """The INT8 detector and recogniser for these source models: found under `cache_dir`,
    or built once there from the `calibration` pages. Raises `QuantizationUnavailable`
    when neither can be had."""
    if cache_dir is None:
        raise QuantizationUnavailable("no model cache directory to keep INT8 models in")
    name = calibration or "none"
    directory = int8_dir(cache_dir, build_key(det_model, rec_model, name))
    found = find_int8(directory)
    if found is not None:
        return found
    if calibration is None:
        raise QuantizationUnavailable(f"no INT8 models in {directory} and no calibration "
                                      "pages to build them from")
    if _version("nncf") == "missing":
        raise QuantizationUnavailable("NNCF is not installed (pip install nncf)")
    with _locked(cache_dir / "int8.lock"):
        found = find_int8(directory)  # another process may have built it meanwhile
        if found is not None:
            return found
        log.warning("building the INT8 OCR models in %s (once per installation, a few "
                    "minutes)", directory)
        scratch = Path(tempfile.mkdtemp(prefix=".int8-build-", dir=cache_dir))
        try:
            context = multiprocessing.get_context("spawn")  # never fork a loaded runtime
            child = context.Process(target=_build_in_child, name="docintake-int8-build",
                                    args=(str(det_model), str(rec_model), calibration,
                                          str(scratch), threads))
            child.start()
            child.join()
            if child.exitcode != 0 or find_int8(scratch) is None:
                raise QuantizationUnavailable(
                    f"building the INT8 OCR models failed (exit code {child.exitcode})")
            shutil.rmtree(directory, ignore_errors=True)  # an interrupted older build
            os.replace(scratch, directory)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    found = find_int8(directory)
    if found is None:
        raise QuantizationUnavailable(f"INT8 models missing from {directory} after a build")
    return found
