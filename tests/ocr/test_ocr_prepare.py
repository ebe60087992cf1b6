"""Preparation, layout and the engine registry, without running the OCR models."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from ocr import engine as engine_module
from ocr.engine import EngineOptions, LineProbe, get_engine, register_engine
from ocr.layout import reading_order
from ocr.prepare import (
    DETECT_MAX_SIDE,
    LINE_MAX_HEIGHT,
    Geometry,
    Orientation,
    crop_line,
    estimate_orientation,
    is_blank,
    prepare_for_detector,
    rotate90,
    rotate_points,
)
from ocr.reader import read_file, read_files, read_page
from ocr.sources import RasterPage
from ocr.types import OcrLine, OcrPage
from tests.ocr.conftest import RESOURCES, SpyEngine
from tests.ocr.pagekit import blank_scan, draw_page, encode, tiff_pages

# -- blank pages ----------------------------------------------------------------------


def test_scanner_blank_with_noise_border_and_show_through_is_blank():
    assert is_blank(blank_scan())


def test_one_small_character_is_not_blank():
    page = blank_scan()
    mark, _ = draw_page([("附", (0, 0))], size=(40, 40), font_px=22)
    page[800:840, 600:640] = np.minimum(page[800:840, 600:640], mark)
    assert not is_blank(page)


def test_text_page_and_dark_photo_are_not_blank():
    assert not is_blank(draw_page()[0])
    assert not is_blank(np.full((800, 600, 3), 40, np.uint8))


def test_blank_page_is_not_ocred(spy):
    page = RasterPage("empty.png", 3, blank_scan(), 150.0)
    result = read_page(page, spy)
    assert result.blank and result.lines == () and result.page == 3
    assert (result.width, result.height) == (1240, 1754)
    assert spy.calls == []


@pytest.mark.parametrize("name", ["blank.pdf", "trivial.pdf", "no_contents.pdf"])
def test_real_blank_pdfs_are_blank_without_ocr(name, spy):
    result = read_file((RESOURCES / name).read_bytes(), name, spy)
    assert result.errors == [] and len(result.pages) == 1
    assert result.pages[0].blank


def test_text_layer_page_is_returned_without_ocr(spy):
    page = OcrPage(source="a.pdf", page=1, method="text_layer", width=595, height=842,
                   lines=(OcrLine("营业执照", 1.0, (1, 2, 3, 4)),))
    assert read_page(page, spy) is page


# -- geometry -------------------------------------------------------------------------


@pytest.mark.parametrize("rotation", [0, 90, 180, 270])
def test_rotate_points_matches_rotate90(rotation):
    image = np.zeros((30, 50), np.uint8)
    image[5, 40] = 255
    turned = rotate90(image, rotation)
    y, x = np.argwhere(turned == 255)[0]
    # pixel centre (40.5, 5.5) in the original
    px, py = rotate_points(np.array([40.5, 5.5]), rotation, 50, 30)
    assert (int(px), int(py)) == (x, y)


def test_geometry_maps_detector_boxes_back_to_page_pixels():
    page = np.full((3000, 2000), 255, np.uint8)
    prepared, geometry = prepare_for_detector(page, Orientation())
    assert max(prepared.shape) == DETECT_MAX_SIDE
    scale = DETECT_MAX_SIDE / 3000
    box = (80, 160, 240, 200)
    assert geometry.to_page(box) == pytest.approx(tuple(v / scale for v in box), rel=1e-3)

    _, skewed = prepare_for_detector(page, Orientation(skew=3.0))
    # the detector image centre is the page centre
    cx, cy = 1000 * scale, 1500 * scale
    x0, y0, x1, y1 = skewed.to_page((cx - 10, cy - 10, cx + 10, cy + 10))
    assert ((x0 + x1) / 2, (y0 + y1) / 2) == pytest.approx((1000, 1500), abs=0.5)
    # and any page point survives the round trip page -> detector -> page
    px, py = 300.0, 2700.0
    dx, dy = skewed.matrix @ np.array([px, py, 1.0])
    x0, y0, x1, y1 = skewed.to_page((dx - 1, dy - 1, dx + 1, dy + 1))
    assert ((x0 + x1) / 2, (y0 + y1) / 2) == pytest.approx((px, py), abs=0.01)
    assert dx != pytest.approx(px * scale, abs=5)  # the skew really moved it


@pytest.mark.parametrize("rotation", [90, 270])
def test_geometry_of_a_sideways_page_is_the_upright_page(rotation):
    page = np.full((2000, 3000), 255, np.uint8)  # landscape scan of a portrait page
    page[100:200, 2700:2900] = 0                 # a mark near the top-right
    prepared, geometry = prepare_for_detector(page, Orientation(rotation=rotation))
    assert (geometry.width, geometry.height) == (2000, 3000)
    assert prepared.shape == (DETECT_MAX_SIDE, round(2000 * DETECT_MAX_SIDE / 3000))
    ys, xs = np.nonzero(prepared < 128)
    box = geometry.to_page((xs.min(), ys.min(), xs.max() + 1, ys.max() + 1))
    expected = rotate_points(np.array([[2700, 100], [2900, 200]], float), rotation, 3000, 2000)
    lo, hi = expected.min(axis=0), expected.max(axis=0)
    assert box == pytest.approx((lo[0], lo[1], hi[0], hi[1]), abs=2)


def test_geometry_clips_to_the_page():
    geometry = Geometry(matrix=np.array([[1.0, 0, 0], [0, 1.0, 0]]), width=100, height=50)
    assert geometry.to_page((-5, -5, 120, 70)) == (0, 0, 100, 50)


class ScriptedProbe:
    """A LineProbe whose detector 'finds' given quads and whose classifier says upside
    down with a fixed probability."""

    def __init__(self, quads: np.ndarray, p180: float) -> None:
        self.quads, self.p180 = quads, p180

    def detect(self, image: np.ndarray) -> np.ndarray:
        return self.quads

    def upside_down(self, crops):
        return [self.p180] * len(crops)


def _quads(boxes, angle=0.0):
    out = []
    for x0, y0, x1, y1 in boxes:
        pts = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], float)
        c = pts.mean(axis=0)
        a = np.radians(angle)
        rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
        out.append((pts - c) @ rot.T + c)
    return np.array(out)


@pytest.mark.parametrize(("boxes", "p180", "expected"), [
    ([(100, 100, 600, 130), (100, 200, 500, 230), (100, 300, 700, 330)], 0.0, 0),
    ([(100, 100, 600, 130), (100, 200, 500, 230), (100, 300, 700, 330)], 1.0, 180),
    ([(100, 100, 130, 600), (200, 100, 230, 500), (300, 100, 330, 700)], 0.0, 90),
    ([(100, 100, 130, 600), (200, 100, 230, 500), (300, 100, 330, 700)], 1.0, 270),
])
def test_orientation_from_line_boxes(boxes, p180, expected):
    probe = ScriptedProbe(_quads(boxes), p180)
    assert isinstance(probe, LineProbe)
    image = np.full((800, 800), 255, np.uint8)
    assert estimate_orientation(image, probe).rotation == expected


def test_skew_is_the_median_line_angle():
    boxes = [(100, 100 + 80 * i, 700, 130 + 80 * i) for i in range(5)]
    probe = ScriptedProbe(_quads(boxes, angle=2.0), 0.0)
    result = estimate_orientation(np.full((800, 800), 255, np.uint8), probe)
    assert result.rotation == 0 and result.skew == pytest.approx(2.0, abs=0.05)


def test_no_text_found_means_no_rotation():
    probe = ScriptedProbe(np.zeros((0, 4, 2)), 1.0)
    result = estimate_orientation(np.full((800, 800), 255, np.uint8), probe)
    assert (result.rotation, result.skew) == (0, 0.0)


# -- reading order --------------------------------------------------------------------


def _line(text, x0, y0, x1, y1):
    return OcrLine(text, 0.9, (x0, y0, x1, y1))


def test_reading_order_rows_then_left_to_right():
    lines = [
        _line("性别 男", 760, 302, 880, 350),
        _line("申请日期", 140, 780, 500, 830),
        _line("姓名 张三", 140, 306, 290, 352),    # same row, slightly lower
        _line("登记表", 420, 160, 760, 210),
        _line("公民身份号码", 140, 429, 700, 468),
    ]
    assert [ln.text for ln in reading_order(lines)] == [
        "登记表", "姓名 张三", "性别 男", "公民身份号码", "申请日期"]


def test_reading_order_tall_box_does_not_swallow_rows():
    lines = [
        _line("印章", 800, 100, 1000, 400),      # a tall stamp area on the right
        _line("第一行", 100, 110, 400, 150),
        _line("第二行", 100, 210, 400, 250),
        _line("第三行", 100, 310, 400, 350),
    ]
    order = [ln.text for ln in reading_order(lines)]
    assert order.index("第一行") < order.index("第二行") < order.index("第三行")


def _two_column_page(line_gap: float, left_width: float = 560):
    """A heading across the page, two columns of 6 lines 40 px high with `line_gap`
    between lines, a short heading below the left column, a line across the page and
    a short line on the right."""
    lines = [_line("标题", 100, 20, 1300, 70)]
    for i in range(6):
        top = 100 + i * (40 + line_gap)
        lines.append(_line(f"左{i}", 100, top, 100 + left_width - (30 if i == 5 else 0),
                           top + 40))
        lines.append(_line(f"右{i}", 740, top + 3, 1300, top + 43))
    bottom = 100 + 6 * (40 + line_gap) + 40
    lines.append(_line("附注", 100, bottom, 300, bottom + 40))  # a heading after the columns
    lines.append(_line("结尾", 100, bottom + 50, 1300, bottom + 90))
    lines.append(_line("右尾", 740, bottom + 100, 900, bottom + 140))
    return lines


def test_two_columns_of_running_text_are_read_column_by_column():
    order = [ln.text for ln in reading_order(_two_column_page(line_gap=12))]
    assert order == (["标题"] + [f"左{i}" for i in range(6)] + [f"右{i}" for i in range(6)]
                     + ["附注", "结尾", "右尾"])


@pytest.mark.parametrize(("line_gap", "left_width"), [
    (60, 560),   # rows of a form: loosely spaced
    (12, 200),   # a label column: short lines that do not fill a wide column
])
def test_fields_side_by_side_stay_on_their_rows(line_gap, left_width):
    order = [ln.text for ln in reading_order(_two_column_page(line_gap, left_width))]
    assert order[1:5] == ["左0", "右0", "左1", "右1"]


# -- engine registry ------------------------------------------------------------------


def test_engine_options_pick_the_factory_and_cache_per_process():
    built: list[EngineOptions] = []

    def factory(options: EngineOptions) -> SpyEngine:
        time.sleep(0.05)  # make a creation race likely if creation were not locked
        built.append(options)
        return SpyEngine()

    register_engine("fake", factory)
    try:
        options = EngineOptions(kind="fake", threads=1)  # type: ignore[arg-type]
        results: list[object] = []
        threads = [threading.Thread(target=lambda: results.append(get_engine(options)))
                   for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(built) == 1 and all(r is results[0] for r in results)
        assert isinstance(results[0], SpyEngine)
    finally:
        engine_module._FACTORIES.pop("fake", None)
        engine_module._cache.pop(options, None)


def test_unknown_engine_kind_is_rejected():
    with pytest.raises(ValueError, match="unknown OCR engine kind"):
        get_engine(EngineOptions(kind="tesseract"))  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        EngineOptions(threads=0)


# -- read_file never raises -----------------------------------------------------------


def test_read_file_reports_file_errors_instead_of_raising(spy):
    result = read_file(b"", "empty.pdf", spy)
    assert result.pages == [] and [e.code for e in result.errors] == ["file.empty"]
    assert result.errors[0].source == "empty.pdf" and result.errors[0].page is None


def test_read_file_keeps_good_pages_when_one_fails():
    class Flaky(SpyEngine):
        def recognize(self, image):
            self.calls.append("recognize")
            if image.shape[1] == 620:  # the second page (pages are read concurrently)
                raise RuntimeError("onnxruntime fell over")
            return [OcrLine("文字", 0.9, (10, 10, 50, 30))]

    pages = [draw_page(size=(width, 400))[0] for width in (600, 620, 600)]
    engine = Flaky()
    result = read_file(tiff_pages(pages), "three.tif", engine)
    assert [p.page for p in result.pages] == [1, 3]
    assert [(e.code, e.page) for e in result.errors] == [("page.read_failed", 2)]
    assert "第 2 页" in result.errors[0].message


def test_read_files_keeps_file_and_page_order_while_pages_overlap():
    class Slow(SpyEngine):
        def recognize(self, image):
            time.sleep(0.05 if image.shape[1] == 600 else 0.0)  # first pages finish last
            return [OcrLine(f"w{image.shape[1]}", 0.9, (10, 10, 50, 30))]

    tiff = tiff_pages([draw_page(size=(w, 400))[0] for w in (600, 610, 620)])
    png = encode(draw_page(size=(600, 300))[0], "PNG")
    files = [("a.tif", tiff), ("bad.jpg", b"not a jpeg"), ("b.png", png), ("c.tif", tiff)]
    one_at_a_time = read_files(files, Slow(), in_flight=1)
    overlapped = read_files(files, Slow(), in_flight=3)
    for result in (one_at_a_time, overlapped):
        assert [(p.source, p.page, p.text) for p in result.pages] == [
            ("a.tif", 1, "w600"), ("a.tif", 2, "w610"), ("a.tif", 3, "w620"),
            ("b.png", 1, "w600"),
            ("c.tif", 1, "w600"), ("c.tif", 2, "w610"), ("c.tif", 3, "w620")]
        assert [(e.source, e.code) for e in result.errors] == [
            ("bad.jpg", "file.unsupported_format")]


def test_read_file_on_a_mislabelled_png_uses_its_bytes(spy):
    png = encode(blank_scan(size=(400, 300)), "PNG")
    result = read_file(png, "scan.pdf", spy)
    assert result.errors == [] and len(result.pages) == 1 and result.pages[0].blank


def test_crop_line_cuts_a_level_upright_strip_from_any_corner_order():
    page = np.full((300, 500), 255, np.uint8)
    page[100:140, 50:450] = 0
    page[100:140, 50:60] = 128  # the start of the line, to tell its direction
    quad = np.array([[50, 100], [450, 100], [450, 140], [50, 140]], np.float32)
    strip = crop_line(page, quad)
    assert strip.shape == (40, 400) and strip[20, 5] == 128
    # The same line on the page turned 180°, given in reading order (top-left of the
    # text first), comes out the same way round.
    turned = rotate90(page, 180)
    quad180 = rotate_points(quad, 180, 500, 300)
    strip180 = crop_line(turned, quad180)
    assert strip180.shape == (40, 400) and strip180[20, 5] == 128


def test_crop_line_shrinks_tall_lines_to_twice_the_recogniser_height():
    page = np.full((1200, 3000), 255, np.uint8)
    page[300:700, 100:2900] = 0
    quad = np.array([[100, 300], [2900, 300], [2900, 700], [100, 700]], np.float32)
    strip = crop_line(page, quad)
    assert strip.shape[0] == LINE_MAX_HEIGHT
    assert strip.shape[1] == pytest.approx(2800 * LINE_MAX_HEIGHT / 400, abs=2)
    # a tall narrow box is turned only when the orientation is unknown
    tall = np.array([[100, 300], [200, 300], [200, 700], [100, 700]], np.float32)
    assert crop_line(page, tall).shape[0] < crop_line(page, tall).shape[1]
    assert crop_line(page, tall, turn_tall=False).shape[0] > 90


def test_line_batches_are_padded_to_a_few_shapes():
    from ocr.prepare import LINE_WIDTHS, line_input_width
    from ocr.rapid import REC_BATCH_COLUMNS, _line_batches, _power_of_two

    assert [line_input_width(w) for w in (1, 128, 129, 700, 2560)] == [128, 128, 192, 960,
                                                                        2560]
    assert line_input_width(2561) == 3200 and LINE_WIDTHS[-1] == 2560
    assert [_power_of_two(n) for n in (1, 2, 3, 5, 8)] == [1, 2, 4, 8, 8]
    widths = sorted([60] * 9 + [150] * 5 + [300] * 3 + [700, 1500, 3000])
    batches = _line_batches(widths, list(range(len(widths))))
    # every line once, narrowest first; each batch within the column budget (a line
    # wider than the budget goes alone)
    assert [i for ids, _ in batches for i in ids] == list(range(len(widths)))
    for ids, width in batches:
        assert width == line_input_width(max(widths[i] for i in ids))
        assert len(ids) == 1 or _power_of_two(len(ids)) * width <= REC_BATCH_COLUMNS
    assert len(batches[0][0]) == 8  # short labels share a batch: 8 x 128 columns
    # padding costs under a third of the real work (PaddleOCR's batches of 8 lines, each
    # at least 320 px wide, would compute 2.3x the columns here)
    padded = sum(_power_of_two(len(ids)) * width for ids, width in batches)
    assert padded <= 1.3 * sum(widths)
