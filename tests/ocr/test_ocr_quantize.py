"""INT8 models made on the machine (`ocr.quantize`), and how the engine picks a precision.

The build test quantizes the wheel's real models on three small generated pages (about a
minute on two cores), into the test's own directory; nothing is downloaded.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import numpy as np
import pytest

from ocr.engine import EngineOptions, get_engine
from ocr.quantize import QuantizationUnavailable, ensure_int8, find_int8
from ocr.rapid import DET_MODEL, REC_MODEL, _models_dir, choose_precision
from tests.ocr.pagekit import FORM_LINES, RIC, USCC, degrade, draw_page


def _compact(text: str) -> str:
    return text.replace(" ", "")


def three_forms() -> Iterator[np.ndarray]:
    """The calibration pages of the build test (a ``module:callable`` for the child)."""
    for seed in range(3):
        shifted = [(text, (x + 30 * seed, y + 40 * seed)) for text, (x, y) in FORM_LINES]
        page, _ = draw_page(shifted)
        yield degrade(page, seed=seed)


def test_auto_picks_bfloat16_where_the_cpu_has_it_and_int8_elsewhere():
    avx512_bf16 = ["BF16", "WINOGRAD", "FP32", "INT8", "BIN", "EXPORT_IMPORT"]
    avx2 = ["WINOGRAD", "FP32", "INT8", "BIN", "EXPORT_IMPORT"]
    assert choose_precision("auto", avx512_bf16) == "bf16"
    assert choose_precision("auto", avx2) == "int8"
    for forced in ("f32", "bf16", "int8"):
        assert choose_precision(forced, avx2) == forced


def test_without_int8_models_the_engine_reads_in_float32_and_says_so(tmp_path):
    models = _models_dir()
    with pytest.raises(QuantizationUnavailable, match="cache directory"):
        ensure_int8(models / DET_MODEL, models / REC_MODEL, None, "tests.x:y")
    with pytest.raises(QuantizationUnavailable, match="no calibration"):
        ensure_int8(models / DET_MODEL, models / REC_MODEL, tmp_path, None)
    engine = get_engine(EngineOptions(precision="int8", cache_dir=str(tmp_path)))
    assert engine.version.endswith(" f32 (no int8 models)"), engine.version
    strip, _ = draw_page([("公民身份号码 " + RIC, (40, 30))], size=(700, 110))
    assert [_compact(ln.text) for ln in engine.recognize(strip)] == ["公民身份号码" + RIC]


@pytest.mark.ocr
def test_int8_models_are_built_once_from_the_wheel_and_read_codes_exactly(tmp_path):
    cache = tmp_path / "cache"
    options = EngineOptions(precision="int8", cache_dir=str(cache),
                            calibration="tests.ocr.test_ocr_quantize:three_forms")
    engine = get_engine(options)
    assert " int8, f32 cascade" in engine.version
    (built,) = [p for p in cache.iterdir() if p.name.startswith("int8-")]
    assert find_int8(built) is not None
    manifest = json.loads((built / "manifest.json").read_text())
    assert manifest["calibration"] == options.calibration
    assert manifest["detector_inputs"] >= 3 and manifest["recogniser_batches"] >= 3
    assert set(manifest["sources"]) == {DET_MODEL, REC_MODEL}
    assert not [p for p in cache.iterdir() if p.name.startswith(".int8-build-")]

    page, _ = draw_page([("公民身份号码 " + RIC, (40, 30)),
                         ("统一社会信用代码 " + USCC, (40, 110)),
                         ("住址 北京市东城区景山前街4号", (40, 190))], size=(900, 270))
    read = [_compact(ln.text) for ln in engine.recognize(degrade(page, seed=9))]
    assert sorted(read) == sorted(["公民身份号码" + RIC, "统一社会信用代码" + USCC,
                                   "住址北京市东城区景山前街4号"])

    # A second process (here: the same call again) finds the build instead of redoing it.
    stamp = (built / "rec.bin").stat().st_mtime_ns
    models = _models_dir()
    again = ensure_int8(models / DET_MODEL, models / REC_MODEL, cache, options.calibration)
    assert again == (built / "det.xml", built / "rec.xml")
    assert (built / "rec.bin").stat().st_mtime_ns == stamp
    # Other calibration pages are another build, never a stale reuse.
    with pytest.raises(QuantizationUnavailable, match="no INT8 models"):
        ensure_int8(models / DET_MODEL, models / REC_MODEL, cache, None)


def test_the_calibration_pages_are_the_same_on_every_machine():
    from samples.calibration import calibration_pages

    first = list(calibration_pages(2))
    second = list(calibration_pages(2))
    assert len(first) == 2
    assert all(a.dtype == np.uint8 and np.array_equal(a, b)
               for a, b in zip(first, second, strict=True))
    assert not np.array_equal(first[0], next(iter(calibration_pages(1, seed=1))))


def test_settings_accept_the_precisions_and_carry_the_calibration(monkeypatch, tmp_path):
    from intake.settings import OCR_CALIBRATION, engine_options, load_settings

    monkeypatch.setenv("DOCINTAKE_DATA_DIR", str(tmp_path))
    for precision in ("auto", "f32", "bf16", "int8"):
        monkeypatch.setenv("DOCINTAKE_OCR_PRECISION", precision)
        options = engine_options(load_settings())
        assert options.precision == precision
        assert options.calibration == OCR_CALIBRATION
    module, _, name = OCR_CALIBRATION.partition(":")
    assert callable(getattr(__import__(module, fromlist=[name]), name))
