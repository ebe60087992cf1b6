"""Fixtures for the OCR tests: one real PP-OCR engine per test session (models load once),
and a spy engine for asserting when OCR must *not* run."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from ocr.engine import OcrEngine, get_engine
from ocr.types import OcrLine

RESOURCES = Path(__file__).resolve().parents[1] / "resources"


@pytest.fixture(scope="session")
def engine() -> OcrEngine:
    return get_engine()


class SpyEngine:
    """An engine that records calls and reads nothing; `fail=True` makes any call fail
    the test (for paths where OCR must not run at all)."""

    name = "spy"
    version = "spy 0"

    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.calls: list[str] = []

    def _called(self, what: str) -> None:
        self.calls.append(what)
        if self.fail:
            raise AssertionError(f"engine.{what} must not be called here")

    def recognize(self, image: np.ndarray) -> list[OcrLine]:
        self._called("recognize")
        return []

    def detect(self, image: np.ndarray) -> np.ndarray:
        self._called("detect")
        return np.zeros((0, 4, 2), np.float32)

    def upside_down(self, crops: Sequence[np.ndarray]) -> list[float]:
        self._called("upside_down")
        return [0.0] * len(crops)


@pytest.fixture
def spy() -> SpyEngine:
    return SpyEngine(fail=True)
