"""Opening files: format detection, limits, errors, real-world PDFs and images, text layer.

No OCR runs here (fast); pages are checked as rasters or text-layer pages.
"""

from __future__ import annotations

import io
import random
import time
import zipfile
import zlib

import numpy as np
import pytest
from PIL import Image

from ocr.errors import CODES, SourceError
from ocr.sources import (
    Limits,
    RasterPage,
    detect_format,
    open_source,
    text_layer_usable,
)
from ocr.types import OcrPage
from tests.ocr.conftest import RESOURCES
from tests.ocr.pagekit import (
    draw_page,
    encode,
    image_pdf,
    pdf_with_huge_image,
    png_bomb,
    text_pdf,
    tiff_pages,
)

RESOURCE_FILES = sorted(p for p in RESOURCES.iterdir()
                        if p.is_file() and p.suffix not in (".md", ".txt"))

# What each real file must give: ("pages", n) or ("error", code) or a per-page outcome.
EXPECTED = {
    "invalid.pdf": ("error", "file.corrupt"),
    "hugemono.pdf": ("page_error", "page.too_many_pixels"),
    "multipage.pdf": ("pages", 6),
    "cardinal.pdf": ("pages", 4),
    "tagged.pdf": ("text_layer", 2),
    "overlay.pdf": ("text_layer", 1),
    # Unmapped Type 3 glyphs read as "(cid:25)": not trusted, the page is rasterised.
    "type3_font_nomapping.pdf": ("raster", 1),
    # Text layer read as byte-swapped UTF-16 ("䴀甀氀琀椀..." for "Multi..."): rasterised.
    "cmyk.pdf": ("raster", 1),
    # A scan carrying someone else's OCR layer: we OCR it ourselves.
    "graph_ocred.pdf": ("raster", 1),
    # Read in the PDF helper: a Form XObject's text, broken colour spaces, odd masks, a
    # printer driver's objects, curves without fonts, a 2400 dpi scan.
    "formxobject.pdf": ("text_layer", 1),
    "jbig2_baddevicen.pdf": ("raster", 1),
    "masks.pdf": ("raster", 1),
    "epson.pdf": ("raster", 1),
    "vector.pdf": ("raster", 1),
    "2400dpi.pdf": ("raster", 1),
    "ccitt.pdf": ("raster", 1),
    "jbig2.pdf": ("raster", 1),
}


DEFAULT_LIMITS = Limits()


def _read_all(data: bytes, name: str, limits: Limits = DEFAULT_LIMITS) -> list[object]:
    """Every page as RasterPage/OcrPage or the SourceError it raised."""
    with open_source(data, name, limits=limits) as source:
        out: list[object] = []
        for i in range(source.page_count):
            try:
                out.append(source.read_page(i))
            except SourceError as exc:
                out.append(exc)
        return out


def _first_error(data: bytes, name: str) -> SourceError:
    """The error a file gives, whether at open (file level) or on its first page."""
    try:
        pages = _read_all(data, name)
    except SourceError as exc:
        return exc
    assert isinstance(pages[0], SourceError), f"{name} was read: {pages[0]!r}"
    return pages[0]


def _assert_clear(exc: SourceError) -> None:
    assert exc.code in CODES
    # Bilingual: Chinese first, English in parentheses at the end.
    assert exc.message[0] >= "\u4e00" or exc.message[0] in "第文不", exc.message
    assert exc.message.endswith(")") and "(" in exc.message


@pytest.mark.parametrize("path", RESOURCE_FILES, ids=lambda p: p.name)
def test_every_resource_gives_pages_or_a_clear_error(path):
    started = time.monotonic()
    try:
        pages = _read_all(path.read_bytes(), path.name)
    except SourceError as exc:
        _assert_clear(exc)
        pages = [exc]
    assert time.monotonic() - started < 30, "opening/rasterising must not hang"
    assert pages
    for page in pages:
        if isinstance(page, SourceError):
            _assert_clear(page)
        elif isinstance(page, RasterPage):
            assert page.image.dtype == np.uint8
            assert page.image.ndim in (2, 3) and min(page.image.shape[:2]) > 0
            assert page.image.ndim == 2 or page.image.shape[2] == 3
            assert page.image.shape[0] * page.image.shape[1] <= Limits().max_pixels_per_page
            assert page.source == path.name and page.dpi > 0
        else:
            assert isinstance(page, OcrPage) and page.method == "text_layer"
            assert page.lines and page.width > 0

    expected = EXPECTED.get(path.name)
    if expected is None:
        return
    kind, value = expected
    if kind == "error":
        assert len(pages) == 1 and isinstance(pages[0], SourceError)
        assert pages[0].code == value
    elif kind == "page_error":
        assert any(isinstance(p, SourceError) and p.code == value for p in pages)
    elif kind == "pages":
        assert len(pages) == value and not any(isinstance(p, SourceError) for p in pages)
    elif kind == "text_layer":
        assert len(pages) == value
        assert all(isinstance(p, OcrPage) and p.method == "text_layer" for p in pages)
    elif kind == "raster":
        assert len(pages) == value and all(isinstance(p, RasterPage) for p in pages)


def test_real_image_modes_are_normalised():
    gray = _read_all((RESOURCES / "baiona_gray.png").read_bytes(), "g.png")[0]
    palette = _read_all((RESOURCES / "baiona_colormapped.png").read_bytes(), "p.png")[0]
    alpha = _read_all((RESOURCES / "baiona_alpha.png").read_bytes(), "a.png")[0]
    cmyk = _read_all((RESOURCES / "baiona_cmyk.jpg").read_bytes(), "c.jpg")[0]
    assert isinstance(gray, RasterPage) and gray.image.ndim == 2
    for page in (palette, alpha, cmyk):
        assert isinstance(page, RasterPage)
        assert page.image.dtype == np.uint8 and page.image.shape == (682, 640, 3)
    # Same picture whatever the encoding: the means agree closely.
    assert isinstance(alpha, RasterPage) and isinstance(cmyk, RasterPage)
    ref = gray.image.mean()
    for page in (palette, alpha, cmyk):
        assert isinstance(page, RasterPage)
        assert abs(page.image.mean() - ref) < 25


def test_transparency_is_composited_on_white():
    rgba = np.zeros((50, 80, 4), np.uint8)  # fully transparent black
    rgba[20:30, 10:70] = (0, 0, 0, 255)      # one opaque black bar
    page = _read_all(encode(rgba, "PNG"), "t.png")[0]
    assert isinstance(page, RasterPage)
    assert page.image[0, 0].tolist() == [255, 255, 255]
    assert page.image[25, 40].tolist() == [0, 0, 0]


def test_16_bit_gray_is_scaled_to_8_bit():
    arr = np.full((40, 60), 65535, np.uint16)
    arr[10:20, 10:50] = 0
    buffer = io.BytesIO()
    Image.fromarray(arr).save(buffer, format="PNG")
    page = _read_all(buffer.getvalue(), "16.png")[0]
    assert isinstance(page, RasterPage) and page.image.dtype == np.uint8
    assert page.image[0, 0] == 255 and page.image[15, 30] == 0


def test_jpeg_exif_orientation_is_applied():
    # A landscape sensor image with EXIF "rotate 90 CW to view" (orientation 6): the page
    # must come out portrait, with the mark at the top right where the viewer sees it.
    sensor = np.full((300, 400), 255, np.uint8)
    sensor[0:40, 0:40] = 0                         # top-left on the sensor
    exif = Image.Exif()
    exif[0x0112] = 6
    buffer = io.BytesIO()
    Image.fromarray(sensor).save(buffer, format="JPEG", exif=exif.tobytes(), quality=95)
    page = _read_all(buffer.getvalue(), "phone.jpg")[0]
    assert isinstance(page, RasterPage)
    assert page.image.shape[:2] == (400, 300)
    assert page.image[:40, -40:].mean() < 60 and page.image[-40:, :40].mean() > 200


def test_multipage_tiff_g4_yields_every_page():
    pages = [draw_page(size=(600, 400))[0] for _ in range(3)]
    read = _read_all(tiff_pages(pages), "fax.tif")
    assert len(read) == 3
    for page, number in zip(read, (1, 2, 3), strict=True):
        assert isinstance(page, RasterPage) and page.page == number
        assert page.image.shape == (400, 600) and page.dpi == 150


def test_scanned_pdf_pages_are_rasters_at_the_requested_dpi():
    data = image_pdf([draw_page(size=(620, 877))[0]] * 2, dpi=75)  # A4 at 75 dpi
    with open_source(data, "scan.pdf", dpi=100) as source:
        assert source.format == "pdf" and source.page_count == 2
        page = source.read_page(1)
    assert isinstance(page, RasterPage) and page.page == 2 and page.dpi == pytest.approx(100)
    assert abs(page.image.shape[1] - 827) <= 2  # 8.27 in x 100 dpi


# -- format detection & generated bad input ------------------------------------------


def test_format_comes_from_bytes_not_the_name():
    png = encode(draw_page(size=(300, 200))[0], "PNG")
    with open_source(png, "really-a-png.pdf") as source:
        assert source.format == "png" and source.page_count == 1
        assert isinstance(source.read_page(0), RasterPage)
    pdf = image_pdf([draw_page(size=(300, 200))[0]])
    with open_source(pdf, "really-a-pdf.jpg") as source:
        assert source.format == "pdf"
    assert detect_format(b"garbage before the header %PDF-1.7\n...") == "pdf"


@pytest.mark.parametrize(("data", "code", "hint"), [
    (b"", "file.empty", ""),
    (bytes(random.Random(7).getrandbits(8) for _ in range(4096)),
     "file.unsupported_format", ""),
    (b"<!DOCTYPE html><html><body>Login expired</body></html>",
     "file.unsupported_format", "HTML"),
    (b"GIF89a" + b"\x00" * 100, "file.unsupported_format", "GIF"),
    (b"PK\x03\x04" + b"\x00" * 100, "file.archive_unsupported", "ZIP"),
    (b"Rar!\x1a\x07\x01\x00" + b"\x00" * 100, "file.archive_unsupported", "RAR"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "file.document_unsupported",
     "PDF"),
    (b"%PDF-1.4\n%%EOF\n", "file.corrupt", ""),
])
def test_bad_files_raise_a_coded_error(data, code, hint):
    with pytest.raises(SourceError) as info:
        open_source(data, "upload.pdf")
    assert info.value.code == code
    assert hint in info.value.message
    _assert_clear(info.value)


def _zip(members: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


_PDF = image_pdf([draw_page(size=(300, 200))[0]])
_CONTAINERS = {
    "zip-of-a-pdf": (_zip({"scan.pdf": _PDF}), "file.archive_unsupported", "ZIP"),
    "stored-zip-of-a-pdf": (  # "%PDF-" within the first KiB, after the ZIP header
        _zip({"a.pdf": _PDF}, zipfile.ZIP_STORED), "file.archive_unsupported", "ZIP"),
    "docx": (_zip({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w:document/>"}),
             "file.document_unsupported", "Word"),
    "xlsx": (_zip({"[Content_Types].xml": b"<Types/>", "xl/workbook.xml": b"<workbook/>"}),
             "file.document_unsupported", "Excel"),
    "ofd": (_zip({"OFD.xml": b"<ofd:OFD/>", "Doc_0/Document.xml": b"<ofd:Document/>"}),
            "file.document_unsupported", "OFD"),
    "html-named-pdf": (b"\xef\xbb\xbf\n<!-- saved -->\n<html><body>%PDF-1.7 download "
                       b"expired</body></html>", "file.unsupported_format", "HTML"),
}


@pytest.mark.parametrize("name", sorted(_CONTAINERS))
def test_containers_and_web_pages_are_refused_by_name_never_read_as_pdf(name):
    data, code, hint = _CONTAINERS[name]
    with pytest.raises(SourceError) as info:
        open_source(data, f"{name}.pdf")
    assert info.value.code == code
    assert hint in info.value.message
    _assert_clear(info.value)
    if code == "file.document_unsupported":
        assert "打印" in info.value.message and "print it to PDF" in info.value.message


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    crc = zlib.crc32(kind + payload).to_bytes(4, "big")
    return len(payload).to_bytes(4, "big") + kind + payload + crc


def test_the_leading_magic_wins_over_a_pdf_header_further_in():
    png = encode(draw_page(size=(300, 200))[0], "PNG")
    # A valid PNG whose first chunk after IHDR is a text chunk holding "%PDF-".
    with_text = png[:33] + _png_chunk(b"tEXt", b"Comment\x00%PDF-1.7 not a pdf") + png[33:]
    assert detect_format(with_text) == "png"
    page = _read_all(with_text, "scan.pdf")[0]
    assert isinstance(page, RasterPage) and page.image.shape[:2] == (200, 300)
    # Polyglots: an image with a whole PDF appended, a PDF with an image appended.
    jpeg = encode(draw_page(size=(300, 200))[0], "JPEG")
    assert detect_format(jpeg + _PDF) == "jpeg"
    assert detect_format(png[:33] + _png_chunk(b"tEXt", b"x\x00" + _PDF) + png[33:]) == "png"
    assert detect_format(_PDF + png) == "pdf"
    # Junk before the header that is nothing else: still a PDF, as PDF readers allow.
    assert detect_format(b"\r\nFrom gateway\r\n" + _PDF) == "pdf"
    assert detect_format(b"x" * 1100 + _PDF) is None


def test_truncated_files_are_corrupt():
    pdf = (RESOURCES / "multipage.pdf").read_bytes()
    for cut in (len(pdf) // 2, 2000):
        with pytest.raises(SourceError) as info:
            open_source(pdf[:cut], "cut.pdf")
        assert info.value.code == "file.corrupt"
    png = encode(draw_page(size=(400, 300))[0], "PNG")
    assert _first_error(png[: len(png) // 2], "cut.png").code == "file.corrupt"
    jpeg = encode(draw_page(size=(400, 300))[0], "JPEG")
    assert _first_error(jpeg[: len(jpeg) // 2], "cut.jpg").code == "file.corrupt"


def test_password_protected_pdf_is_refused_with_a_clear_message():
    data = text_pdf([("营业执照 统一社会信用代码", 72, 100)], password="secret")
    with pytest.raises(SourceError) as info:
        open_source(data, "locked.pdf")
    assert info.value.code == "file.encrypted"
    assert info.value.message.startswith("文件已加密")
    assert "password" in info.value.message


def test_owner_password_only_pdf_still_opens():
    # Permissions-only encryption (no password to open) is common from office software.
    data = text_pdf([("营业执照 统一社会信用代码 91350211MA2Y1234XN", 72, 100)],
                    owner_password="owner")
    pages = _read_all(data, "perm.pdf")
    assert len(pages) == 1 and not isinstance(pages[0], SourceError)


def test_limits_on_bytes_and_pages():
    data = (RESOURCES / "multipage.pdf").read_bytes()
    with pytest.raises(SourceError) as info:
        open_source(data, "big.pdf", limits=Limits(max_bytes=100_000))
    assert info.value.code == "file.too_large" and "MB" in info.value.message
    with pytest.raises(SourceError) as info:
        open_source(data, "long.pdf", limits=Limits(max_pages=5))
    assert info.value.code == "file.too_many_pages" and "6" in info.value.message
    tif = tiff_pages([draw_page(size=(200, 100))[0]] * 4)
    with pytest.raises(SourceError) as info:
        open_source(tif, "long.tif", limits=Limits(max_pages=3))
    assert info.value.code == "file.too_many_pages"


@pytest.mark.parametrize(("width", "height"), [(100_000, 100_000), (13_000, 12_000)])
def test_decompression_bomb_png_is_refused(width, height):
    data = png_bomb(width, height)
    assert len(data) < 2000
    started = time.monotonic()
    error = _first_error(data, "bomb.png")
    assert error.code == "page.too_many_pixels"
    assert f"{round(width * height / 1e6)} 百万像素" in error.message
    assert time.monotonic() - started < 2, "must be refused before decoding"


def test_pdf_bomb_page_fails_alone_and_other_pages_still_read():
    pages = _read_all(pdf_with_huge_image(), "bomb.pdf")
    assert len(pages) == 2
    assert isinstance(pages[0], SourceError) and pages[0].code == "page.too_many_pixels"
    assert pages[0].page == 1 and "第 1 页" in pages[0].message
    assert isinstance(pages[1], OcrPage) and "ordinary text layer" in pages[1].text


def test_large_format_pdf_page_is_rendered_at_reduced_dpi():
    data = (RESOURCES / "enormous.pdf").read_bytes()  # 30 x 30 inch page
    limits = Limits(max_pixels_per_page=4_000_000)
    page = _read_all(data, "poster.pdf", limits=limits)[0]
    assert isinstance(page, RasterPage)
    h, w = page.image.shape[:2]
    assert h * w <= 4_000_000 and h * w > 3_500_000
    assert page.dpi == pytest.approx(w / 30, rel=0.01) and page.dpi < 200


def test_large_image_is_downscaled_not_refused():
    image = draw_page(size=(2000, 1000))[0]
    page = _read_all(encode(image, "PNG", dpi=(300, 300)), "big.png",
                     limits=Limits(max_pixels_per_page=500_000))[0]
    assert isinstance(page, RasterPage)
    h, w = page.image.shape[:2]
    assert h * w <= 500_000 and w == pytest.approx(1000, abs=2)
    assert page.dpi == pytest.approx(150, rel=0.01)


def test_index_out_of_range_is_a_programming_error():
    data = encode(draw_page(size=(100, 100))[0], "PNG")
    with open_source(data, "a.png") as source, pytest.raises(IndexError):
        source.read_page(1)


# -- text layer -----------------------------------------------------------------------


def test_born_digital_pdf_is_read_from_its_text_layer_in_reading_order():
    data = text_pdf([
        ("申请日期 2024年3月15日", 72, 300),
        ("营业执照", 250, 80),
        ("名称 厦门某某科技有限公司", 320, 140),
        ("统一社会信用代码", 72, 140),
        ("91350211MA2Y1234XN", 72, 170),
    ])
    pages = _read_all(data, "license.pdf")
    assert len(pages) == 1
    page = pages[0]
    assert isinstance(page, OcrPage) and page.method == "text_layer"
    assert page.engine.startswith("pdfplumber")
    assert [ln.text for ln in page.lines] == [
        "营业执照", "统一社会信用代码", "名称 厦门某某科技有限公司",
        "91350211MA2Y1234XN", "申请日期 2024年3月15日",
    ]
    assert page.width == pytest.approx(595.3, abs=0.1)
    title = page.lines[0]
    # Boxes are in PDF points from the top-left: drawn at x=250, baseline 80 pt down.
    assert title.box[0] == pytest.approx(250, abs=1) and 60 < title.box[1] < 80
    assert all(ln.confidence == 1.0 for ln in page.lines)


@pytest.mark.parametrize(("text", "usable"), [
    ("统一社会信用代码 91350211MA2Y1234XN 名称 厦门某某科技有限公司", True),
    ("This file has no /DocumentInfo block", True),
    ("(cid:25)(cid:18)(cid:19)(cid:20)(cid:21)(cid:22)", False),
    ("䴀甀氀琀椀挀漀氀漀爀 䈀氀愀挀欀", False),       # "Multicolor Black" byte-swapped
    ("第1页", False),                                  # too little to trust over OCR
    ("\ue001\ue002\ue003\ue004\ue005\ue006\ue007\ue008\ue009\ue00a\ue00b", False),
])
def test_text_layer_usable(text, usable):
    assert text_layer_usable(text) is usable


def test_pdf_sources_share_the_helper_and_a_failed_open_loses_no_other_file():
    good = text_pdf([("营业执照 统一社会信用代码 91350211MA2Y1234XN", 72, 100)])
    first = open_source(good, "first.pdf")
    with pytest.raises(SourceError):
        open_source(b"%PDF-1.7\n garbage that is not a pdf", "broken.pdf")
    assert isinstance(first.read_page(0), OcrPage)  # reopened in the helper
    second = open_source(image_pdf([draw_page(size=(300, 200))[0]]), "second.pdf")
    # Each file is read from the helper in turn, reopened there as needed.
    assert isinstance(first.read_page(0), OcrPage)
    assert isinstance(second.read_page(0), RasterPage)
    first.close()
    second.close()


def test_a_phone_photo_keeps_its_full_resolution():
    # 4000 x 3000 colour, as a phone takes an ID card: within every budget, not reduced.
    photo = np.full((3000, 4000, 3), 200, dtype=np.uint8)
    photo[1000:2000, 1000:3000] = (30, 60, 90)
    page = _read_all(encode(photo, "JPEG", quality=80), "card.jpg")[0]
    assert isinstance(page, RasterPage) and page.image.shape == (3000, 4000, 3)
    png = _read_all(encode(photo, "PNG"), "card.png")[0]
    assert isinstance(png, RasterPage) and png.image.shape == (3000, 4000, 3)
