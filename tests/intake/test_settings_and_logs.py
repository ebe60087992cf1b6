from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from intake.logs import JsonFormatter, MaskingFilter, mask_identifiers
from intake.settings import SettingsError, load_settings


def test_defaults_are_embedded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings()
    assert settings.effective_database_url.startswith("sqlite:///")
    assert settings.effective_database_url.endswith("data/docintake.db")
    assert settings.effective_objects_dir == Path("data/objects")
    assert settings.task_mode == "thread"
    assert (tmp_path / "data").is_dir()


def test_environment_variables_are_read_and_validated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCINTAKE_DATA_DIR", str(tmp_path / "elsewhere"))
    monkeypatch.setenv("DOCINTAKE_OCR_THREADS", "1")
    settings = load_settings()
    assert settings.data_dir == tmp_path / "elsewhere" and settings.ocr_threads == 1

    monkeypatch.setenv("DOCINTAKE_OCR_THREADS", "zero")
    with pytest.raises(SettingsError, match="DOCINTAKE_OCR_THREADS"):
        load_settings()
    monkeypatch.delenv("DOCINTAKE_OCR_THREADS")

    monkeypatch.setenv("DOCINTAKE_DATABASE_URL", "mysql://x")
    with pytest.raises(SettingsError, match="DOCINTAKE_DATABASE_URL"):
        load_settings()
    monkeypatch.delenv("DOCINTAKE_DATABASE_URL")

    monkeypatch.setenv("DOCINTAKE_ENVIRONMENT", "production")
    with pytest.raises(SettingsError, match="PostgreSQL"):
        load_settings()


def test_identifiers_are_masked_in_logs() -> None:
    masked = mask_identifiers("身份证 11010519491231002X 已核验")
    assert masked == "身份证 1101**********002X 已核验"
    assert mask_identifiers("code 91350211MA2Y1234X5") == "code 9135**********34X5"
    # Not an identifier: longer digit runs and short numbers stay as they are.
    assert mask_identifiers("order 1234567890123456789012") == "order 1234567890123456789012"
    assert mask_identifiers("phone 0591-12345678") == "phone 0591-12345678"

    record = logging.LogRecord("t", logging.INFO, __file__, 1,
                               "holder %s rejected", ("110105194912310021",), None)
    record.case_id = "c-1"
    assert MaskingFilter().filter(record)
    line = json.loads(JsonFormatter().format(record))
    assert line["msg"] == "holder 1101**********0021 rejected"
    assert line["case_id"] == "c-1" and line["level"] == "info"


def test_ocr_settings_reach_the_engine_options(monkeypatch, tmp_path):
    from intake.settings import engine_options

    monkeypatch.setenv("DOCINTAKE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("DOCINTAKE_OCR_RUNTIME", "onnxruntime")
    monkeypatch.setenv("DOCINTAKE_OCR_PRECISION", "f32")
    monkeypatch.setenv("DOCINTAKE_OCR_CACHE_DIR", str(tmp_path / "ov"))
    monkeypatch.setenv("DOCINTAKE_OCR_CASCADE", "false")
    options = engine_options(load_settings(), threads=1)
    assert (options.runtime, options.precision, options.threads) == ("onnxruntime", "f32", 1)
    assert options.cascade is False
    assert options.cache_dir == str(tmp_path / "ov")
    monkeypatch.setenv("DOCINTAKE_OCR_CACHE_DIR", "")
    assert engine_options(load_settings()).cache_dir is None
    monkeypatch.setenv("DOCINTAKE_OCR_RUNTIME", "tensorrt")
    with pytest.raises(SettingsError, match="DOCINTAKE_OCR_RUNTIME"):
        load_settings()
