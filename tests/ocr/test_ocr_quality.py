"""Page preparation without the models: the quality gate, documents photographed on a
desk, scanner borders, and the OcrPage fields that carry the results."""

from __future__ import annotations

import random
from datetime import date

import cv2
import numpy as np
import pytest

import samples as S
from ocr import quality
from ocr.prepare import (
    Orientation,
    find_document,
    find_paper,
    pil_to_array,
    prepare_for_detector,
)
from ocr.reader import read_page
from ocr.sources import RasterPage
from ocr.types import OcrLine, OcrPage

ON = date(2025, 6, 1)


@pytest.fixture(scope="module")
def card_page() -> tuple[np.ndarray, np.ndarray]:
    """A clean 200 dpi A4 page with an enlarged ID card copy, and its text-line quads."""
    rng = random.Random(4)
    page = S.id_card(S.make_person(rng, ON), rng).pages[0]
    quads = np.array([[[b[0], b[1]], [b[2], b[1]], [b[2], b[3]], [b[0], b[3]]]
                      for b in (t.box for t in page.texts)], dtype=np.float64)
    return pil_to_array(page.image.convert("L")), quads


def _flags(image: np.ndarray, quads: np.ndarray) -> tuple[str, ...]:
    return quality.check(quality.QualityInputs(image, quads))


def test_a_good_scan_passes_the_gate(card_page):
    image, quads = card_page
    assert _flags(image, quads) == ()
    grey_but_fine = (image.astype(np.float32) * 0.75 + 20).astype(np.uint8)
    assert _flags(grey_but_fine, quads) == ()


def test_blur_is_flagged_relative_to_the_text_size(card_page):
    image, quads = card_page
    assert "quality.blurry" in _flags(cv2.GaussianBlur(image, (0, 0), 6), quads)
    assert "quality.blurry" not in _flags(cv2.GaussianBlur(image, (0, 0), 1), quads)


def test_dark_and_low_contrast_pages_are_flagged(card_page):
    image, quads = card_page
    assert "quality.too_dark" in _flags((image * 0.35).astype(np.uint8), quads)
    washed = (image.astype(np.float32) * 0.15 + 210).astype(np.uint8)
    assert "quality.too_dark" in _flags(washed, quads)


def test_low_resolution_is_flagged(card_page):
    image, quads = card_page
    small = cv2.resize(image, None, fx=0.25, fy=0.25, interpolation=cv2.INTER_AREA)
    assert _flags(small, quads * 0.25) == ("quality.low_resolution",)


def test_text_running_off_the_edge_is_cut_off(card_page):
    image, quads = card_page
    top = int(quads[0, :, 1].min()) + 5  # crop through the first text line
    cut = image[top:]
    shifted = quads - np.array([0, top])
    shifted[..., 1] = np.clip(shifted[..., 1], 0, None)
    assert "quality.cut_off" in _flags(cut, shifted)


def test_quality_codes_have_bilingual_messages():
    for code in quality.CODES:
        zh, en = quality.MESSAGES[code]
        assert "重新" in zh and "please" in en, code


def test_ocr_page_round_trips_quality_and_warp_and_reads_old_dicts():
    page = OcrPage(source="a.jpg", page=1, method="ocr", width=10, height=20,
                   lines=(OcrLine("x", 0.9, (1, 2, 3, 4)),),
                   quality=("quality.blurry",), warp=tuple(float(v) for v in range(9)))
    data = page.to_dict()
    assert data["quality"] == [{"code": "quality.blurry",
                                "message": quality.message("quality.blurry")}]
    assert OcrPage.from_dict(data) == page
    old = {k: v for k, v in data.items() if k not in ("quality", "warp")}
    assert OcrPage.from_dict(old).quality == () and OcrPage.from_dict(old).warp is None


# -- documents on a desk, scanner borders ---------------------------------------------


def test_card_photographed_on_a_desk_is_found_with_its_corners():
    rng = random.Random(11)
    for _ in range(3):
        card = S.render_id_card_front(S.make_person(rng, ON), rng).image
        photo, corners = S.photo_on_desk(card, rng)
        found = find_document(pil_to_array(photo))
        assert found is not None and found.kind == "card"
        # same corners up to where the quad starts (the first edge is a long one)
        errors = [np.abs(np.roll(found.quad, k, axis=0) - corners).max() for k in (0, 2)]
        assert min(errors) < 0.01 * photo.size[0], (found.quad, corners)
        w, h = found.size
        assert abs(w / h - S.CARD_SIZE[0] / S.CARD_SIZE[1]) < 0.02


def test_scans_are_not_mistaken_for_photos(card_page):
    image, _ = card_page  # a photocopied card on white A4 paper
    assert find_document(image) is None
    assert find_document(np.full((2339, 1654), 250, np.uint8)) is None


def test_dark_scanner_border_is_cropped_and_boxes_stay_in_page_pixels():
    page = np.zeros((1200, 900), np.uint8)  # black ADF backing
    page[60:1150, 40:870] = 245             # the sheet
    page[300:330, 200:500] = 20              # a text line
    crop = find_paper(page)
    assert crop is not None
    assert crop == pytest.approx((40, 60, 870, 1150), abs=4)
    assert find_paper(np.full((1200, 900), 245, np.uint8)) is None

    prepared, geometry = prepare_for_detector(page, Orientation(), crop=crop)
    assert prepared.shape[:2] == (crop[3] - crop[1], crop[2] - crop[0])
    ys, xs = np.nonzero(prepared < 128)
    box = geometry.to_page((xs.min(), ys.min(), xs.max() + 1, ys.max() + 1))
    assert box == pytest.approx((200, 300, 500, 330), abs=1)
    assert (geometry.width, geometry.height) == (900, 1200)


def test_photo_pages_are_read_on_the_straightened_card(spy):
    """Without a model: the engine is called on the straightened card, and `warp` maps the
    page back onto the photo (fractions of its size)."""
    spy.fail = False
    rng = random.Random(3)
    card = S.render_id_card_front(S.make_person(rng, ON), rng).image
    photo, corners = S.photo_on_desk(card, rng)
    image = pil_to_array(photo)
    page = read_page(RasterPage("card.jpg", 1, image, 200.0), spy)
    assert page.warp is not None and page.width / page.height == pytest.approx(1.585, abs=0.03)
    warp = np.array(page.warp).reshape(3, 3)
    pts = np.array([[0, 0, 1], [page.width, 0, 1], [page.width, page.height, 1],
                    [0, page.height, 1]], float) @ warp.T
    pts = pts[:, :2] / pts[:, 2:] * np.array([photo.size[0], photo.size[1]])
    assert min(np.abs(np.roll(pts, k, axis=0) - corners).max() for k in range(4)) < 0.02 * 2000
    assert "recognize" in spy.calls
