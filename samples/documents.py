"""Page renderers: one function per material type returning a `SampleDocument` of clean A4
pages at 200 dpi (1654×2339 px) as `SamplePage` objects that also record every text line
drawn and its box (ground truth for OCR tests). Label conventions (what an extractor should
look for) are documented on each renderer.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from functools import lru_cache
from typing import Literal

from PIL import Image, ImageChops, ImageDraw, ImageFont

from intake.fonts import cjk_font
from samples.identities import (
    Company,
    Person,
    Region,
    add_years,
    make_person,
    random_date,
    street_address,
)

DPI = 200
A4_SIZE = (1654, 2339)  # 210 × 297 mm at 200 dpi
# ID cards are 85.6 × 54 mm; service centres photocopy them enlarged ("放大复印") so the
# small print stays legible. 1.6× at 200 dpi gives ~38 px body text.
CARD_SCALE = 1.6
CARD_SIZE = (round(85.6 / 25.4 * DPI * CARD_SCALE), round(54.0 / 25.4 * DPI * CARD_SCALE))

Box = tuple[float, float, float, float]
Level = Literal["light", "medium"]

BLACK = (20, 20, 20)
LABEL_BLUE = (40, 90, 150)
SEAL_RED = (225, 50, 50)
WHITE = (255, 255, 255)


@lru_cache(maxsize=64)
def load_font(size: int, bold: bool = False, serif: bool = False) -> ImageFont.FreeTypeFont:
    spec = cjk_font(bold, serif=serif)
    return ImageFont.truetype(str(spec.path), size, index=spec.index)


@dataclass(frozen=True)
class TextOp:
    """One line of text as drawn; `box` is its ink box on the clean page (x0, y0, x1, y1)."""

    text: str
    x: float
    y: float  # top of the line (Pillow anchor "?a": ascender)
    size: int
    bold: bool
    serif: bool
    align: str  # "l" / "m" / "r": x is the left edge, centre or right edge
    box: Box


@dataclass(frozen=True)
class ShapeOp:
    kind: Literal["line", "rect", "seal"]
    coords: tuple[float, float, float, float]  # line ends / rect corners / seal (cx, cy, r, 0)
    width: int = 3


class Canvas:
    """A Pillow image that records what was drawn on it, so the same layout can be replayed
    as a born-digital PDF and its text used as OCR ground truth."""

    def __init__(self, size: tuple[int, int], background: tuple[int, int, int] = WHITE) -> None:
        self.image = Image.new("RGB", size, background)
        self.draw = ImageDraw.Draw(self.image)
        self.texts: list[TextOp] = []
        self.shapes: list[ShapeOp] = []

    @property
    def size(self) -> tuple[int, int]:
        return self.image.size

    def text(
        self,
        x: float,
        y: float,
        text: str,
        size: int,
        *,
        bold: bool = False,
        serif: bool = False,
        align: str = "l",
        fill: tuple[int, int, int] = BLACK,
    ) -> Box:
        font = load_font(size, bold, serif)
        anchor = align + "a"
        self.draw.text((x, y), text, font=font, fill=fill, anchor=anchor)
        box = self.draw.textbbox((x, y), text, font=font, anchor=anchor)
        self.texts.append(TextOp(text, x, y, size, bold, serif, align, box))
        return box

    def line(self, x0: float, y0: float, x1: float, y1: float, width: int = 3) -> None:
        self.draw.line((x0, y0, x1, y1), fill=BLACK, width=width)
        self.shapes.append(ShapeOp("line", (x0, y0, x1, y1), width))

    def rect(self, x0: float, y0: float, x1: float, y1: float, width: int = 3) -> None:
        self.draw.rectangle((x0, y0, x1, y1), outline=BLACK, width=width)
        self.shapes.append(ShapeOp("rect", (x0, y0, x1, y1), width))

    def seal(self, cx: float, cy: float, radius: int, text: str, bottom: str = "") -> None:
        _stamp_seal(self.image, (cx, cy), radius, text, bottom)
        self.draw = ImageDraw.Draw(self.image)  # the image object was replaced
        self.shapes.append(ShapeOp("seal", (cx, cy, radius, 0)))

    def paste(self, other: Canvas, x: int, y: int) -> None:
        self.image.paste(other.image, (x, y))
        for t in other.texts:
            b = t.box
            self.texts.append(
                replace(t, x=t.x + x, y=t.y + y, box=(b[0] + x, b[1] + y, b[2] + x, b[3] + y))
            )


def text_width(text: str, size: int, *, bold: bool = False, serif: bool = False) -> float:
    return float(load_font(size, bold, serif).getlength(text))


# Characters that must not start a line (Chinese typesetting "kinsoku").
_NO_LINE_START = set("，。、；：？！）》」』”’％%,.;:)")


def wrap_text(text: str, size: int, max_width: float, *, serif: bool = False) -> list[str]:
    """Break Chinese text into lines at character boundaries (no spaces to break at)."""
    font = load_font(size, False, serif)
    lines: list[str] = []
    current = ""
    for ch in text:
        if current and font.getlength(current + ch) > max_width and ch not in _NO_LINE_START:
            lines.append(current)
            current = ch
        else:
            current += ch
    if current:
        lines.append(current)
    return lines


def _stamp_seal(
    image: Image.Image, centre: tuple[float, float], radius: int, text: str, bottom: str = ""
) -> None:
    """A round red official seal: ring, text along the upper arc, a star, optional text at
    the bottom. Multiplied onto the page, so text under it stays dark and legible."""
    size = radius * 2 + 8
    mask = Image.new("L", (size, size), 0)
    draw = ImageDraw.Draw(mask)
    c = size / 2
    draw.ellipse((4, 4, size - 4, size - 4), outline=255, width=max(5, radius // 22))
    # Five-pointed star.
    star = []
    for k in range(10):
        r = radius * (0.28 if k % 2 == 0 else 0.11)
        a = math.pi / 2 + k * math.pi / 5
        star.append((c + r * math.cos(a), c - r * math.sin(a)))
    draw.polygon(star, fill=255)
    # Text along the arc, from lower left over the top to lower right.
    char_size = max(18, int(radius * 0.24))
    font = load_font(char_size, True, False)
    span = min(250.0, 22.0 * len(text))
    for i, ch in enumerate(text):
        angle = -span / 2 + span * (i + 0.5) / len(text)  # degrees clockwise from the top
        glyph = Image.new("L", (char_size * 2, char_size * 2), 0)
        ImageDraw.Draw(glyph).text((char_size, char_size), ch, font=font, fill=255, anchor="mm")
        glyph = glyph.rotate(-angle, resample=Image.Resampling.BICUBIC)
        r_text = radius - char_size * 0.95
        gx = c + r_text * math.sin(math.radians(angle)) - char_size
        gy = c - r_text * math.cos(math.radians(angle)) - char_size
        mask.paste(255, (int(gx), int(gy)), glyph)
    if bottom:
        bfont = load_font(max(14, int(radius * 0.16)), False, False)
        draw.text((c, c + radius * 0.55), bottom, font=bfont, fill=255, anchor="mm")
    x0, y0 = int(centre[0] - size / 2), int(centre[1] - size / 2)
    region = image.crop((x0, y0, x0 + size, y0 + size))
    ink = Image.new("RGB", (size, size), WHITE)
    # Real seal ink is uneven; a slightly transparent fill keeps text under it readable.
    ink.paste(SEAL_RED, (0, 0), mask.point(lambda v: int(v * 0.85)))
    image.paste(ImageChops.multiply(region.convert("RGB"), ink), (x0, y0))


# --------------------------------------------------------------------------------------
# Samples: pages and documents
# --------------------------------------------------------------------------------------


@dataclass
class SamplePage:
    """One clean rendered page (before `degrade`) and what is on it."""

    image: Image.Image
    material_type: str
    side: str | None = None  # id_card: "front", "back" or "both"
    texts: list[TextOp] = field(default_factory=list)
    shapes: list[ShapeOp] = field(default_factory=list)

    @property
    def lines(self) -> list[str]:
        return [t.text for t in self.texts]


@dataclass
class SampleDocument:
    """One material: its pages and the field values an extractor should find.

    Field names follow the default catalog's material types (rules/catalog); values are
    normalised the way extracted values are: ISO dates, half-width brackets, areas as plain
    numbers, ``None`` for 长期 (open-ended) or absent.
    """

    material_type: str
    pages: list[SamplePage]
    fields: dict[str, str | None] = field(default_factory=dict)


def _page_from(canvas: Canvas, material_type: str, side: str | None = None) -> SamplePage:
    return SamplePage(canvas.image, material_type, side, canvas.texts, canvas.shapes)


def _cn_date(day: date, *, pad: bool = False) -> str:
    if pad:
        return f"{day.year}年{day.month:02d}月{day.day:02d}日"
    return f"{day.year}年{day.month}月{day.day}日"


def _half_width(text: str) -> str:
    """Ground truth is normalised like extracted values: half-width brackets."""
    return text.replace("（", "(").replace("）", ")")


def _dot_date(day: date | None) -> str:
    return "长期" if day is None else f"{day:%Y.%m.%d}"


# ---- flowing documents (contracts, letters, articles) --------------------------------

MARGIN_X = 180
MARGIN_TOP = 200
MARGIN_BOTTOM = 230
BODY = 40
LINE_H = 66


@dataclass(frozen=True)
class Block:
    """A unit of flowing text: title, subtitle, heading, chapter, para, line, right, gap,
    page (explicit page break) or seal (stamped over the lines just drawn)."""

    kind: str
    text: str = ""
    extra: str = ""  # seal: bottom text; gap: height in px


def _flow(blocks: Sequence[Block], material_type: str, *, footer: bool = False) -> list[Canvas]:
    """Lay blocks out on A4 pages, breaking pages where needed or asked."""
    width = A4_SIZE[0] - 2 * MARGIN_X
    pages = [Canvas(A4_SIZE)]
    y = float(MARGIN_TOP)
    last_y = y

    def room(h: float) -> None:
        nonlocal y
        if y + h > A4_SIZE[1] - MARGIN_BOTTOM:
            pages.append(Canvas(A4_SIZE))
            y = float(MARGIN_TOP)

    for b in blocks:
        cv = pages[-1]
        if b.kind == "page":
            pages.append(Canvas(A4_SIZE))
            y = float(MARGIN_TOP)
        elif b.kind == "title":
            room(140)
            pages[-1].text(A4_SIZE[0] / 2, y, b.text, 72, bold=True, serif=True, align="m")
            y += 140
        elif b.kind == "subtitle":
            room(80)
            pages[-1].text(A4_SIZE[0] / 2, y, b.text, 44, align="m")
            y += 90
        elif b.kind == "chapter":
            room(100)
            y += 14
            pages[-1].text(A4_SIZE[0] / 2, y, b.text, 44, bold=True, align="m")
            y += 84
        elif b.kind == "heading":
            room(90)
            pages[-1].text(MARGIN_X, y, b.text, 42, bold=True)
            y += 76
        elif b.kind in ("para", "line"):
            indent = 2 * BODY if b.kind == "para" else 0
            first = wrap_text(b.text, BODY, width - indent, serif=True)[:1]
            rest_text = b.text[len(first[0]) :] if first else ""
            lines = first + (wrap_text(rest_text, BODY, width, serif=True) if rest_text else [])
            for i, ln in enumerate(lines):
                room(LINE_H)
                last_y = y
                pages[-1].text(MARGIN_X + (indent if i == 0 else 0), y, ln, BODY, serif=True)
                y += LINE_H
            y += 10
        elif b.kind == "right":
            room(LINE_H)
            last_y = y
            pages[-1].text(A4_SIZE[0] - MARGIN_X, y, b.text, BODY, serif=True, align="r")
            y += LINE_H + 6
        elif b.kind == "gap":
            y += int(b.extra or 40)
        elif b.kind == "seal":
            # Over the signature lines just drawn, as a real stamp lands.
            cv.seal(A4_SIZE[0] - MARGIN_X - 230, last_y - 20, 150, b.text, b.extra)
        else:
            raise ValueError(f"unknown block kind {b.kind!r}")
    if footer:
        for n, cv in enumerate(pages, 1):
            cv.text(A4_SIZE[0] / 2, A4_SIZE[1] - 150, f"第{n}页 共{len(pages)}页", 30, align="m")
    return pages


@dataclass
class FlowDocument(SampleDocument):
    """A flowing document that can also be written as a born-digital PDF (same layout)."""

    canvases: list[Canvas] = field(default_factory=list)


def _flow_document(
    material_type: str, blocks: Sequence[Block], fields: dict[str, str | None], *, footer: bool
) -> FlowDocument:
    canvases = _flow(blocks, material_type, footer=footer)
    pages = [_page_from(c, material_type) for c in canvases]
    return FlowDocument(material_type, pages, fields, canvases)


# ---- ID card -------------------------------------------------------------------------


def _card_background(canvas: Canvas, rng: random.Random) -> None:
    """Pale guilloche-like background and rounded border: a photocopier shows it as a
    light grey texture behind the text."""
    w, h = canvas.size
    draw = canvas.draw
    phase = rng.uniform(0, math.pi)
    for k in range(0, h, 22):
        pts = [(x, k + 8 * math.sin(x / 45 + phase + k / 60)) for x in range(0, w + 20, 20)]
        draw.line(pts, fill=(225, 232, 238), width=2)
    draw.rounded_rectangle((2, 2, w - 3, h - 3), radius=40, outline=(150, 150, 150), width=3)


def render_id_card_front(person: Person, rng: random.Random) -> Canvas:
    """Card face with the portrait.

    Labels (blue) then values: 姓名 <name>; 性别 <sex> 民族 <ethnicity>;
    出生 <1990年1月2日>; 住址 <address, wrapped over up to 3 lines>;
    公民身份号码 <18 digits>; grey photo box on the right.
    """
    cv = Canvas(CARD_SIZE, (246, 248, 250))
    _card_background(cv, rng)
    lx, vx, s = 70, 200, 36
    cv.text(lx, 78, "姓名", s, fill=LABEL_BLUE)
    cv.text(vx, 72, person.name, 44)
    cv.text(lx, 168, "性别", s, fill=LABEL_BLUE)
    cv.text(vx, 164, person.sex, 40)
    cv.text(340, 168, "民族", s, fill=LABEL_BLUE)
    cv.text(470, 164, person.ethnicity, 40)
    cv.text(lx, 256, "出生", s, fill=LABEL_BLUE)
    cv.text(vx, 252, _cn_date(person.birth_date), 40)
    cv.text(lx, 344, "住址", s, fill=LABEL_BLUE)
    for i, ln in enumerate(wrap_text(person.address, 38, 500)[:3]):
        cv.text(vx, 340 + i * 54, ln, 38)
    cv.text(lx, 572, "公民身份号码", s, fill=LABEL_BLUE)
    cv.text(330, 566, person.id_number, 46)
    # Portrait: a grey box with a head-and-shoulders silhouette.
    x0, y0, x1, y1 = 730, 90, 1010, 450
    cv.draw.rectangle((x0, y0, x1, y1), fill=(200, 200, 200))
    cv.draw.ellipse((x0 + 85, y0 + 60, x1 - 85, y0 + 200), fill=(150, 150, 150))
    cv.draw.chord((x0 + 30, y0 + 210, x1 - 30, y1 + 150), 180, 360, fill=(150, 150, 150))
    return cv


def render_id_card_back(person: Person, rng: random.Random) -> Canvas:
    """Card back with the national emblem.

    中华人民共和国 / 居民身份证 (large); 签发机关 <XX市公安局XX分局>;
    有效期限 <2015.03.01-2035.03.01> or <2010.01.01-长期>.
    """
    cv = Canvas(CARD_SIZE, (246, 248, 250))
    _card_background(cv, rng)
    # Emblem: concentric circles with a star, standing in for the national emblem.
    cx, cy = 170, 180
    cv.draw.ellipse((cx - 110, cy - 110, cx + 110, cy + 110), outline=(200, 60, 60), width=8)
    cv.draw.ellipse((cx - 70, cy - 70, cx + 70, cy + 70), outline=(210, 170, 60), width=6)
    cv.text(560, 100, "中华人民共和国", 58, bold=True, align="m")
    cv.text(560, 200, "居民身份证", 86, bold=True, align="m")
    cv.text(190, 470, "签发机关", 36, fill=LABEL_BLUE)
    cv.text(370, 466, person.id_issuer, 40)
    cv.text(190, 560, "有效期限", 36, fill=LABEL_BLUE)
    cv.text(370, 556, f"{_dot_date(person.id_valid_from)}-{_dot_date(person.id_valid_until)}", 40)
    return cv


def _id_fields(p: Person) -> dict[str, str | None]:
    return {
        "name": p.name,
        "sex": p.sex,
        "ethnicity": p.ethnicity,
        "birth_date": p.birth_date.isoformat(),
        "address": p.address,
        "id_number": p.id_number,
        "issuing_authority": p.id_issuer,
        "valid_from": p.id_valid_from.isoformat(),
        "valid_until": p.id_valid_until.isoformat() if p.id_valid_until else None,
    }


def id_card(
    person: Person, rng: random.Random, *, layout: Literal["one_page", "two_pages"] = "one_page"
) -> SampleDocument:
    """An enlarged photocopy of an ID card on A4: both sides on one page (front above back,
    side "both"), or the front and back on two pages (sides "front", "back")."""
    front = render_id_card_front(person, rng)
    back = render_id_card_back(person, rng)
    x = (A4_SIZE[0] - CARD_SIZE[0]) // 2 + rng.randrange(-40, 40)
    if layout == "one_page":
        page = Canvas(A4_SIZE)
        page.paste(front, x, 260 + rng.randrange(0, 60))
        page.paste(back, x, 1240 + rng.randrange(0, 60))
        pages = [_page_from(page, "id_card", "both")]
    else:
        pages = []
        for side, card in (("front", front), ("back", back)):
            page = Canvas(A4_SIZE)
            page.paste(card, x, 300 + rng.randrange(0, 200))
            pages.append(_page_from(page, "id_card", side))
    return SampleDocument("id_card", pages, _id_fields(person))


# ---- business licence ----------------------------------------------------------------


def business_license(company: Company, rng: random.Random) -> SampleDocument:
    """营业执照 (副本), one page.

    Title 营业执照 and （副本）; 统一社会信用代码 <code> at the top left; then label/value
    rows: 名称, 类型, 法定代表人 (个体工商户: 经营者), 注册资本 (companies only), 成立日期
    <2020年01月01日> (个体工商户: 注册日期), 营业期限 <2020年01月01日至长期 | 至2040年12月31日>
    (companies only), 住所 (个体工商户: 经营场所), 经营范围; bottom right 登记机关 with a
    red seal over it and the issue date.
    """
    cv = Canvas(A4_SIZE)
    w, h = A4_SIZE
    # Decorative double border as on the real certificate.
    cv.draw.rectangle((70, 70, w - 70, h - 70), outline=(190, 120, 60), width=14)
    cv.draw.rectangle((100, 100, w - 100, h - 100), outline=(190, 120, 60), width=3)
    cv.text(w / 2, 230, "营业执照", 96, bold=True, serif=True, align="m")
    cv.text(w / 2, 370, "（副本）", 44, align="m")
    cv.text(170, 470, "统一社会信用代码", 40)
    cv.text(520, 466, company.credit_code, 44)
    ind = company.individual
    rows: list[tuple[str, str]] = [
        ("名称", company.name),
        ("类型", company.kind),
        ("经营者" if ind else "法定代表人", company.legal_rep.name),
    ]
    if ind:
        rows.append(("组成形式", "个人经营"))
        rows.append(("注册日期", _cn_date(company.established, pad=True)))
        rows.append(("经营场所", company.address))
    else:
        until = "长期" if company.term_until is None else _cn_date(company.term_until, pad=True)
        rows += [
            ("注册资本", f"人民币{company.registered_capital}"),
            ("成立日期", _cn_date(company.established, pad=True)),
            ("营业期限", f"{_cn_date(company.established, pad=True)}至{until}"),
            ("住所", company.address),
        ]
    rows.append(("经营范围", company.scope))
    y = 600.0
    for label, value in rows:
        cv.text(200, y, label, 40, bold=True)
        for ln in wrap_text(value, 40, w - 560 - 200):
            cv.text(560, y, ln, 40)
            y += 62
        y += 34
    cv.text(w - 560, h - 560, "登记机关", 40, bold=True)
    issued = company.established + timedelta(days=rng.randrange(0, 30))
    cv.text(w - 240, h - 380, _cn_date(issued, pad=True), 40, align="r")
    cv.seal(
        w - 420, h - 470, 170, company.authority, "登记专用章"[: 0 if rng.random() < 0.5 else 5]
    )
    fields: dict[str, str | None] = {
        "credit_code": company.credit_code,
        "name": company.name,
        "type": _half_width(company.kind),
        "legal_rep": company.legal_rep.name,
        "registered_capital": f"人民币{company.registered_capital}" if not ind else None,
        "established_date": company.established.isoformat(),
        "term_end": company.term_until.isoformat() if company.term_until else None,
        "address": company.address,
    }
    return SampleDocument("business_license", [_page_from(cv, "business_license")], fields)


# ---- property certificate ------------------------------------------------------------


@dataclass(frozen=True)
class Property:
    number: str  # 京（2021）朝阳区不动产权第0012345号 (full-width brackets, as printed)
    holder: Person
    location: str
    area: str  # "98.56㎡"
    use: str
    registered: date


def make_property(rng: random.Random, holder: Person, on: date) -> Property:
    region = holder.region
    registered = random_date(rng, add_years(on, -10), add_years(on, -1))
    serial = rng.randrange(1, 10**7)
    number = f"{region.abbr}（{registered.year}）{region.district}不动产权第{serial:07d}号"
    area = f"{rng.randrange(40, 400)}.{rng.randrange(0, 100):02d}㎡"
    use = rng.choice(("商服用地/商业服务", "商服用地/办公", "城镇住宅用地/商业"))
    return Property(number, holder, street_address(rng, region), area, use, registered)


def property_certificate(prop: Property, rng: random.Random) -> SampleDocument:
    """不动产权证书, the register page, one page.

    Title 不动产权证书; the number line <京（2021）朝阳区不动产权第0012345号>; a ruled
    table of rows 权利人, 共有情况, 坐落, 不动产单元号, 权利类型, 权利性质, 用途, 面积
    <98.56㎡>, 使用期限, 权利其他状况; seal of the registration authority at the bottom.
    """
    cv = Canvas(A4_SIZE)
    w, _ = A4_SIZE
    cv.text(w / 2, 200, "不动产权证书", 80, bold=True, serif=True, align="m")
    cv.text(w / 2, 360, prop.number, 44, align="m")
    # 不动产单元号: county code + parcel + building + unit (GB/T 37346 shape).
    unit = (
        f"{prop.holder.region.code}{rng.randrange(10**5, 10**6)}GB"
        f"{rng.randrange(10**4, 10**5)}F0001{rng.randrange(1000, 9999)}"
    )
    land_end = add_years(prop.registered, 40 if "商" in prop.use else 70)
    rows = [
        ("权利人", prop.holder.name),
        ("共有情况", "单独所有"),
        ("坐落", prop.location),
        ("不动产单元号", unit),
        ("权利类型", "国有建设用地使用权/房屋所有权"),
        ("权利性质", "出让/市场化商品房"),
        ("用途", prop.use),
        ("面积", f"房屋建筑面积{prop.area}"),
        ("使用期限", f"国有建设用地使用权{_cn_date(land_end, pad=True)}止"),
        ("权利其他状况", "房屋结构：钢筋混凝土结构"),
    ]
    _table(cv, 150, 480, 1504, 460, rows)
    cv.text(w - 200, 2000, _cn_date(prop.registered, pad=True), 40, align="r")
    cv.text(w - 200, 1900, "登记机构（章）", 40, align="r")
    cv.seal(w - 400, 1930, 160, f"{prop.holder.region.city}不动产登记局", "")
    fields: dict[str, str | None] = {
        "certificate_number": _half_width(prop.number),
        "holder": prop.holder.name,
        "location": prop.location,
        "area": prop.area.removesuffix("㎡"),
        "use": prop.use,
    }
    return SampleDocument("property_certificate", [_page_from(cv, "property_certificate")], fields)


def _table(
    cv: Canvas,
    x0: int,
    y0: int,
    x1: int,
    label_w: int,
    rows: Sequence[tuple[str, str]],
    *,
    size: int = 40,
) -> float:
    """A two-column ruled table, label cell left and value cell right (as on printed forms:
    no colon between them). Returns the bottom y."""
    pad = 26
    y = float(y0)
    value_w = x1 - x0 - label_w - 2 * pad
    cv.line(x0, y, x1, y, 4)
    for label, value in rows:
        label_lines = wrap_text(label, size, label_w - 2 * pad)
        value_lines = wrap_text(value, size, value_w) if value else []
        n = max(len(label_lines), len(value_lines), 1)
        h = n * (size + 22) + 2 * pad - 22 + 10
        for i, ln in enumerate(label_lines):
            cv.text(x0 + pad, y + pad + i * (size + 22), ln, size, bold=True)
        for i, ln in enumerate(value_lines):
            cv.text(x0 + label_w + pad, y + pad + i * (size + 22), ln, size)
        y += h
        cv.line(x0, y, x1, y, 3)
    cv.line(x0, y0, x0, y, 4)
    cv.line(x0 + label_w, y0, x0 + label_w, y, 3)
    cv.line(x1, y0, x1, y, 4)
    return y


# ---- lease ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Lease:
    lessor: Person
    lessee: str  # a company name or a person's name
    premises: str
    start: date
    end: date
    area: str
    monthly_rent: int
    signed: date


def make_lease(
    rng: random.Random, lessee: str, region: Region, on: date, *, ended: bool = False
) -> Lease:
    """A lease valid on `on` (from January 1st of last year to December 31st of next year),
    or one that `ended` a few months before `on`."""
    lessor = make_person(rng, on, region=region)
    if ended:
        start = date(on.year - 3, 1, 1)
        end = date(on.year - 1, 12, 31)
    else:
        start = date(on.year - 1, 1, 1)
        end = date(on.year + 1, 12, 31)
    area = f"{rng.randrange(30, 300)}.{rng.randrange(0, 100):02d}平方米"
    rent = rng.randrange(30, 300) * 100
    signed = start - timedelta(days=rng.randrange(5, 30))
    return Lease(lessor, lessee, street_address(rng, region), start, end, area, rent, signed)


def lease_contract(lease: Lease, rng: random.Random) -> FlowDocument:
    """房屋租赁合同, two pages, "第N页 共2页" footers.

    Page 1: title; 出租方（甲方）：<name>; 身份证号码：<id>; 承租方（乙方）：<name>;
    clauses 第一条 房屋基本情况 with the line 房屋坐落：<address>, 第二条 租赁期限
    "租赁期限自2024年1月1日起至2026年12月31日止。", 第三条 租金… Page 2: further clauses,
    signature lines 甲方（签字）： / 乙方（签章）： and 签订日期：<date>.
    """
    total = lease.monthly_rent * 12
    blocks = [
        Block("title", "房屋租赁合同"),
        Block("line", f"出租方（甲方）：{lease.lessor.name}"),
        Block("line", f"身份证号码：{lease.lessor.id_number}"),
        Block("line", f"承租方（乙方）：{lease.lessee}"),
        Block("gap", extra="20"),
        Block(
            "para",
            "根据《中华人民共和国民法典》及有关法律法规的规定，甲乙双方在平等、自愿、协商一致"
            "的基础上，就乙方承租甲方房屋事宜，订立本合同。",
        ),
        Block("heading", "第一条 房屋基本情况"),
        Block("line", f"房屋坐落：{lease.premises}"),
        Block(
            "para",
            f"该房屋建筑面积{lease.area}，甲方将其出租给乙方作为经营场所使用。"
            "甲方保证对该房屋享有合法的出租权利。",
        ),
        Block("heading", "第二条 租赁期限"),
        Block("para", f"租赁期限自{_cn_date(lease.start)}起至{_cn_date(lease.end)}止。"),
        Block("heading", "第三条 租金及支付方式"),
        Block(
            "para",
            f"月租金为人民币{lease.monthly_rent}元，年租金为人民币{total}元。租金按季度支付，"
            "乙方应于每季度开始前十日内将租金支付给甲方。",
        ),
        Block("heading", "第四条 押金"),
        Block(
            "para",
            f"乙方应于签订本合同时向甲方支付押金人民币{lease.monthly_rent * 2}元，"
            "合同期满乙方交还房屋后甲方无息退还。",
        ),
        Block("page"),
        Block("heading", "第五条 房屋使用与维修"),
        Block(
            "para",
            "乙方应合理使用房屋及其附属设施，不得擅自改变房屋结构和用途。因乙方使用不当造成"
            "损坏的，由乙方负责修复或赔偿；房屋及设施的自然损耗由甲方负责维修。",
        ),
        Block("heading", "第六条 合同的解除"),
        Block(
            "para",
            "任何一方需提前解除合同的，应提前三十日书面通知对方。乙方逾期支付租金超过三十日的，"
            "甲方有权解除合同并收回房屋。",
        ),
        Block("heading", "第七条 争议解决"),
        Block(
            "para",
            "本合同履行中发生争议的，由双方协商解决；协商不成的，依法向房屋所在地人民法院起诉。",
        ),
        Block("heading", "第八条 其他"),
        Block("para", "本合同一式两份，甲乙双方各执一份，自双方签字（盖章）之日起生效。"),
        Block("gap", extra="80"),
        Block("line", f"甲方（签字）：{lease.lessor.name}"),
        Block("line", f"乙方（签章）：{lease.lessee}"),
        Block("line", f"签订日期：{_cn_date(lease.signed)}"),
    ]
    if not lease.lessee.endswith(("店", "铺", "馆")) and len(lease.lessee) > 4:
        blocks.append(Block("seal", lease.lessee, "合同专用章"))
    fields: dict[str, str | None] = {
        "lessor": lease.lessor.name,
        "lessee": lease.lessee,
        "address": lease.premises,
        "term_start": lease.start.isoformat(),
        "term_end": lease.end.isoformat(),
    }
    return _flow_document("lease_contract", blocks, fields, footer=True)


# ---- power of attorney, commitment letter, articles, food safety rules ---------------


def power_of_attorney(
    principal: str, principal_id: str, agent: Person, matter: str, signed: date
) -> FlowDocument:
    """授权委托书, one page.

    委托人：<name>; 身份证号码 or 统一社会信用代码：<id>; 受托人：<agent>;
    身份证号码：<agent id> (the one right after 受托人 is the agent's); 联系电话；
    委托事项：<matter>; 委托期限; signature lines; 日期：<2025年6月10日>.
    """
    id_label = (
        "身份证号码"
        if len(principal_id) == 18 and principal_id[:17].isdigit()
        else "统一社会信用代码"
    )
    blocks = [
        Block("title", "授权委托书"),
        Block("gap", extra="20"),
        Block("line", f"委托人：{principal}"),
        Block("line", f"{id_label}：{principal_id}"),
        Block("gap", extra="16"),
        Block("line", f"受托人：{agent.name}"),
        Block("line", f"身份证号码：{agent.id_number}"),
        Block("line", f"联系电话：{agent.phone}"),
        Block("gap", extra="30"),
        Block("para", "现委托上述受托人作为我方代理人，以我方名义办理下列事项："),
        Block("line", f"委托事项：{matter}"),
        Block(
            "para",
            "受托人在办理上述事项过程中所签署的有关文件，我方均予以认可，并承担相应的法律责任。"
            "受托人无转委托权。",
        ),
        Block(
            "line", f"委托期限：自{_cn_date(signed)}起至{_cn_date(signed + timedelta(days=90))}止"
        ),
        Block("gap", extra="120"),
        Block("right", f"委托人（签字/盖章）：{principal}"),
        Block("right", f"受托人（签字）：{agent.name}"),
        Block("right", f"日期：{_cn_date(signed)}"),
    ]
    fields: dict[str, str | None] = {
        "principal": principal,
        "agent_name": agent.name,
        "agent_id_number": agent.id_number,
        "matter": matter,
        "date": signed.isoformat(),
    }
    return _flow_document("power_of_attorney", blocks, fields, footer=False)


COMMITMENT_TEXTS: dict[str, tuple[str, str]] = {
    # replaced material -> (what is promised, the material's printed name)
    "premises_proof": ("本人承诺已取得经营场所合法使用权", "经营场所使用证明"),
    "food_safety_rules": ("本人承诺已建立健全食品安全管理制度并严格执行", "食品安全管理制度"),
}


def commitment_letter(
    signer: Person, item_name: str, replaces: str, signed: date, *, material_name: str = ""
) -> FlowDocument:
    """告知承诺书, one page.

    事项名称：<item>; body "…本人承诺已取得经营场所合法使用权，以本承诺书代替经营场所
    使用证明…"; 承诺替代材料：<经营场所使用证明 | 食品安全管理制度>; 承诺人：<name>;
    身份证号码：<id>; 日期：<date>. `replaces` is a slot code from COMMITMENT_TEXTS;
    `material_name` overrides the printed material name (a company's is 住所使用证明).
    """
    promise, material = COMMITMENT_TEXTS[replaces]
    material = material_name or material
    blocks = [
        Block("title", "告知承诺书"),
        Block("line", f"事项名称：{item_name}"),
        Block("line", f"承诺替代材料：{material}"),
        Block("gap", extra="20"),
        Block(
            "para",
            f"本人已知晓行政机关告知的全部内容。{promise}，以本承诺书代替{material}，"
            "所提供的信息真实、准确、完整。",
        ),
        Block(
            "para",
            "本人知悉：如承诺内容不实或违反承诺，行政机关将依法撤销相关决定，本人将承担相应的"
            "法律责任，相关失信信息将记入信用记录。",
        ),
        Block("para", "本承诺书自签署之日起生效。"),
        Block("gap", extra="120"),
        Block("line", f"承诺人：{signer.name}"),
        Block("line", f"身份证号码：{signer.id_number}"),
        Block("line", f"日期：{_cn_date(signed)}"),
    ]
    fields: dict[str, str | None] = {
        "replaces": material,
        "signer_name": signer.name,
        "signer_id_number": signer.id_number,
        "date": signed.isoformat(),
    }
    return _flow_document("commitment_letter", blocks, fields, footer=False)


def articles_of_association(company: Company, signed: date) -> FlowDocument:
    """<name>章程, two pages with footers: title "<company name>章程", chapters
    第一章 总则 (第一条 …, 第二条 公司名称：<name>, 第三条 公司住所：<address>) through
    第六章 附则, signatures 全体股东签字 and a date."""
    rep = company.legal_rep
    blocks = [
        Block("title", f"{company.name}章程"),
        Block("chapter", "第一章 总则"),
        Block(
            "para",
            "第一条 为规范公司的组织和行为，保护公司、股东和债权人的合法权益，根据《中华人民共和国"
            "公司法》和有关法律、行政法规的规定，制定本章程。",
        ),
        Block("para", f"第二条 公司名称：{company.name}。"),
        Block("para", f"第三条 公司住所：{company.address}。"),
        Block("para", "第四条 公司为有限责任公司，股东以其认缴的出资额为限对公司承担责任。"),
        Block("chapter", "第二章 经营范围"),
        Block("para", f"第五条 公司经营范围：{company.scope}"),
        Block("chapter", "第三章 注册资本与出资"),
        Block(
            "para",
            f"第六条 公司注册资本为人民币{company.registered_capital}。股东应当按期足额缴纳"
            "所认缴的出资额。",
        ),
        Block("page"),
        Block("chapter", "第四章 组织机构"),
        Block(
            "para",
            "第七条 股东会由全体股东组成，是公司的权力机构，依照《中华人民共和国公司法》行使职权。",
        ),
        Block("para", "第八条 公司不设董事会，设董事一名，由股东会选举产生，任期三年，可以连任。"),
        Block("chapter", "第五章 法定代表人"),
        Block("para", f"第九条 公司的法定代表人由董事担任，现任法定代表人为{rep.name}。"),
        Block("chapter", "第六章 附则"),
        Block("para", "第十条 本章程经全体股东签字后生效，自公司登记之日起施行。"),
        Block("para", "第十一条 本章程一式三份，公司留存一份，并报公司登记机关备案一份。"),
        Block("gap", extra="100"),
        Block("right", f"全体股东签字：{rep.name}"),
        Block("right", _cn_date(signed)),
    ]
    fields: dict[str, str | None] = {"company_name": company.name}
    return _flow_document("articles_of_association", blocks, fields, footer=True)


_FOOD_RULES = (
    ("一、从业人员健康管理制度", (
        "从业人员每年进行健康检查，取得健康证明后方可上岗。",
        "患有有碍食品安全疾病的人员，应当调离直接接触入口食品的岗位。",
    )),
    ("二、食品安全自查制度", (
        "每周对食品安全状况进行一次自查，记录自查结果，发现问题及时整改。",
    )),
    ("三、进货查验记录制度", (
        "采购食品及原料时查验供货者的许可证和产品合格证明，建立进货台账。",
        "进货查验记录保存期限不少于产品保质期满后六个月。",
    )),
    ("四、食品贮存与加工制度", (
        "食品与非食品分开存放，生熟分开，离地离墙，定期检查，及时清理变质或超过保质期的食品。",
    )),
    ("五、餐具清洗消毒制度", (
        "餐具、饮具使用后及时清洗消毒，消毒后的餐具存放于专用保洁柜内。",
    )),
    ("六、食品安全事故处置方案", (
        "发生食品安全事故时立即停止经营，封存有关食品，并于两小时内向所在地市场监督管理部门报告。",
    )),
)  # fmt: skip


def food_safety_rules(company: Company, issued: date) -> FlowDocument:
    """食品安全管理制度, one page: title, the business name as subtitle, numbered rule
    sections 一、… 六、 each with 1. 2. items, and 制定日期：<date>."""
    blocks = [Block("title", "食品安全管理制度"), Block("subtitle", company.name)]
    for heading, rules in _FOOD_RULES:
        blocks.append(Block("heading", heading))
        for i, rule in enumerate(rules, 1):
            blocks.append(Block("line", f"{i}. {rule}"))
    blocks.append(Block("right", f"制定日期：{_cn_date(issued)}"))
    return _flow_document("food_safety_rules", blocks, {"title": "食品安全管理制度"}, footer=False)


# ---- premises layout -----------------------------------------------------------------

_ROOM_TEMPLATES = (
    # (x0, y0, x1, y1) in a 0..100 grid
    ((0, 0, 60, 45), (60, 0, 100, 45), (0, 45, 35, 100),
     (35, 45, 75, 100), (75, 45, 100, 70), (75, 70, 100, 100)),
    ((0, 0, 40, 55), (40, 0, 100, 55), (0, 55, 30, 100),
     (30, 55, 65, 100), (65, 55, 100, 80), (65, 80, 100, 100)),
)  # fmt: skip
_ROOM_NAMES = ("就餐区", "加工区", "仓库", "清洗消毒区", "更衣室", "收银台")


def premises_layout(company: Company, rng: random.Random) -> SampleDocument:
    """经营场所平面布局图, one page: title, 单位名称：<name>, 经营场所：<address>, a plan of
    drawn rectangles labelled 就餐区 / 加工区 / 仓库 / 清洗消毒区 / 更衣室 / 收银台, an
    入口 arrow, and 面积 / 比例 notes."""
    cv = Canvas(A4_SIZE)
    w, _ = A4_SIZE
    cv.text(w / 2, 200, "经营场所平面布局图", 72, bold=True, serif=True, align="m")
    cv.text(180, 380, f"单位名称：{company.name}", 40)
    y = 450.0
    for ln in wrap_text(f"经营场所：{company.address}", 40, w - 360):
        cv.text(180, y, ln, 40)
        y += 60
    gx0, gy0, gx1, gy1 = 200, 640, w - 200, 1900
    template = rng.choice(_ROOM_TEMPLATES)
    names = list(_ROOM_NAMES)
    rng.shuffle(names)
    names.sort(key=lambda n: n != "就餐区")  # the largest room is the dining area
    for (x0, y0, x1, y1), name in zip(template, names, strict=True):
        rx0 = gx0 + (gx1 - gx0) * x0 / 100
        ry0 = gy0 + (gy1 - gy0) * y0 / 100
        rx1 = gx0 + (gx1 - gx0) * x1 / 100
        ry1 = gy0 + (gy1 - gy0) * y1 / 100
        cv.rect(rx0, ry0, rx1, ry1, 6)
        cv.text((rx0 + rx1) / 2, (ry0 + ry1) / 2 - 22, name, 44, bold=True, align="m")
    # Entrance: a gap in the bottom wall with an arrow.
    ex = gx0 + (gx1 - gx0) * 0.15
    cv.draw.line((ex, gy1, ex + 160, gy1), fill=WHITE, width=10)
    cv.draw.line((ex + 80, gy1 + 140, ex + 80, gy1 + 20), fill=BLACK, width=6)
    cv.draw.polygon([(ex + 55, gy1 + 50), (ex + 105, gy1 + 50), (ex + 80, gy1 + 10)], fill=BLACK)
    cv.text(ex + 130, gy1 + 70, "入口", 40)
    area = rng.randrange(60, 300)
    cv.text(180, 2110, f"面积：约{area}平方米    比例：1:100    单位：米", 36)
    return SampleDocument("premises_layout", [_page_from(cv, "premises_layout")], {})


# ---- application form ----------------------------------------------------------------


@dataclass(frozen=True)
class ApplicationForm:
    """What the applicant filled in. `applicant_id` is the credit code (existing company) or
    the operator's resident ID (individual business); None for a company being set up."""

    item_code: str
    title: str
    item_name: str
    applicant_name: str
    applicant_id: str | None
    legal_rep: Person | None
    agent: Person | None
    phone: str
    address: str
    signed: date
    business_name: str = ""  # individual business: 个体工商户名称
    extra: tuple[tuple[str, str], ...] = ()


def application_form(form: ApplicationForm) -> SampleDocument:
    """申请书, one page: title (公司设立登记申请书 / 食品经营许可申请书 /
    个体工商户设立登记申请书) and a ruled two-column table, label cell | value cell, no colon:

    - company: 申请事项, 申请人（名称）, 法定代表人, 法定代表人身份证号码, 委托代理人,
      代理人身份证号码, 联系电话, 住所, 申请日期
    - food: as company plus 统一社会信用代码 after 申请人（名称） and 经营项目
    - individual: 申请事项, 个体工商户名称, 申请人（经营者）, 身份证号码, 委托代理人,
      代理人身份证号码, 联系电话, 住所, 经营范围, 申请日期

    Agent cells are left blank when there is no agent. Dates as 2025年6月10日. Below the
    table: a declaration and 申请人（签字/盖章）：<name>.
    """
    cv = Canvas(A4_SIZE)
    w, _ = A4_SIZE
    cv.text(w / 2, 200, form.title, 70, bold=True, serif=True, align="m")
    rows: list[tuple[str, str]] = [("申请事项", form.item_name)]
    if form.item_code == "individual-business-registration":
        rows += [
            ("个体工商户名称", form.business_name),
            ("申请人（经营者）", form.applicant_name),
            ("身份证号码", form.applicant_id or ""),
        ]
    else:
        rows.append(("申请人（名称）", form.applicant_name))
        if form.applicant_id:
            rows.append(("统一社会信用代码", form.applicant_id))
        rep = form.legal_rep
        rows += [
            ("法定代表人", rep.name if rep else ""),
            ("法定代表人身份证号码", rep.id_number if rep else ""),
        ]
    rows += [
        ("委托代理人", form.agent.name if form.agent else ""),
        ("代理人身份证号码", form.agent.id_number if form.agent else ""),
        ("联系电话", form.phone),
        ("住所", form.address),
        *form.extra,
        ("申请日期", _cn_date(form.signed)),
    ]
    bottom = _table(cv, 150, 400, 1504, 520, rows)
    y = bottom + 70
    for ln in wrap_text(
        "本申请人承诺所提交的申请材料真实、合法、有效，复印件与原件一致，并对其真实性负责。",
        38,
        w - 360,
    ):
        cv.text(180, y, ln, 38, serif=True)
        y += 58
    cv.text(
        w - 200, y + 90, f"申请人（签字/盖章）：{form.applicant_name}", 38, serif=True, align="r"
    )
    fields: dict[str, str | None] = {
        "item_name": form.item_name,
        "applicant_name": form.applicant_name,
        "business_name": form.business_name or None,
        "applicant_id": form.applicant_id,
        "legal_rep_name": form.legal_rep.name if form.legal_rep else None,
        "legal_rep_id_number": form.legal_rep.id_number if form.legal_rep else None,
        "agent_name": form.agent.name if form.agent else None,
        "agent_id_number": form.agent.id_number if form.agent else None,
        "phone": form.phone,
        "address": form.address,
        "date": form.signed.isoformat(),
    }
    return SampleDocument("application_form", [_page_from(cv, "application_form")], fields)
