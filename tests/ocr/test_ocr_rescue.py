"""The cascade's rescue of ID numbers and credit codes: which readings are doubted, which
second looks at a line are taken, and (real models) a seal stamped over the digits."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from ocr.rapid import _better, _doubtful_code, _mends_code, _second_looks
from tests.ocr.pagekit import RIC, USCC, draw_page


def test_codes_that_lost_or_gained_characters_are_doubted():
    broken = RIC[:-1] + ("0" if RIC[-1] != "0" else "1")
    assert _doubtful_code("公民身份号码 " + broken)          # check character
    assert _doubtful_code("公民身份号码" + RIC[:-1])          # last character dropped
    assert _doubtful_code("统一社会信用代码" + USCC[:8] + USCC[10:])  # two under a seal
    assert _doubtful_code("代码" + USCC + "7")                 # one read twice
    assert not _doubtful_code("公民身份号码" + RIC + " 统一社会信用代码 " + USCC)
    # a property unit number, a phone number, a date: not codes
    assert not _doubtful_code("不动产单元号 110108939933GB98521F00014738")
    assert not _doubtful_code("电话 13800138000 日期 2024年3月15日")


def test_a_second_reading_replaces_the_first_only_when_it_mends_the_code():
    short = ("公民身份号码" + RIC[:-1], 0.97)
    assert _mends_code("公民身份号码" + RIC) and not _mends_code("公民身份号码")
    assert _better(("公民身份号码" + RIC, 0.90), short)
    # a second reading that lost the number is not a mended one, however sure
    assert not _better(("公民身份号码", 0.99), short)
    assert not _better(("公民身份号码" + RIC[:-2], 0.96), short)


def _line_with_seal(colour: bool) -> np.ndarray:
    page, drawn = draw_page([("公民身份号码 " + RIC, (40, 30))], size=(760, 110))
    x0, y0, x1, y1 = (int(v) for v in drawn[0].box)
    bgr = cv2.cvtColor(page, cv2.COLOR_GRAY2BGR)
    overlay = bgr.copy()
    centre = (x1 - 150, (y0 + y1) // 2)
    cv2.circle(overlay, centre, 70, (40, 40, 220), 6)
    cv2.putText(overlay, "SEAL", (centre[0] - 45, centre[1] + 12), cv2.FONT_HERSHEY_SIMPLEX,
                1.2, (40, 40, 220), 5)
    stamped = cv2.addWeighted(overlay, 0.85, bgr, 0.15, 0)
    if not colour:
        stamped = cv2.cvtColor(cv2.cvtColor(stamped, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
    return np.ascontiguousarray(stamped[y0 - 8:y1 + 8, x0 - 6:x1 + 6])


def test_second_looks_add_paper_margins_keep_dark_ink_and_drop_red_seals():
    colour, grey = _line_with_seal(True), _line_with_seal(False)
    as_cut, margin, ink_only, red = _second_looks(colour)
    assert as_cut is colour
    h, w = colour.shape[:2]
    assert margin.shape == (h, w + 2 * (h // 2), 3)
    assert (margin[:, :h // 2] >= 250).all()  # the paper's colour, not black
    seal_pixels = (colour[..., 2].astype(int) - colour[..., 0]) > 60
    assert seal_pixels.mean() > 0.02
    assert red[seal_pixels].mean() > 200  # the seal is as light as paper in red light
    assert ink_only[seal_pixels].mean() > colour[seal_pixels].mean()
    looks = _second_looks(grey)
    assert len(looks) == 3  # no red on a grey scan
    assert looks[2][seal_pixels].mean() > grey[seal_pixels].mean() + 50


@pytest.mark.ocr
@pytest.mark.parametrize("colour", [True, False], ids=["colour", "grey"])
def test_an_id_number_under_a_seal_is_rescued(engine, monkeypatch, colour):
    monkeypatch.setattr(engine, "_cascade", True)
    ((text, _),) = engine.read_lines([_line_with_seal(colour)])
    assert text.replace(" ", "") == "公民身份号码" + RIC
