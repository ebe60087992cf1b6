"""Case cover sheets: the printed page a clerk puts in front of a case's materials, so a
scanner station can feed whole stacks of several cases and the stack splits itself.

The sheet's QR code carries `DOCINTAKE:COVER:1:<case number>:<MAC>`, where the MAC is the
first 80 bits (16 base32 characters) of HMAC-SHA256 over the case number under the
server's `DOCINTAKE_COVER_SHEET_SECRET`. Anyone can read a sheet, but without the secret
nobody can make one for another case: a copied sheet with an edited number, or an invented
one, fails `verify` and the pages behind it go to the inbox instead of into a stranger's
case. The whole payload stays within QR's alphanumeric alphabet (upper case, digits, ':'
and '-'), which keeps the symbol small and its modules large: version 3, error correction
Q (a quarter of the code may be smudged or punched), 45 mm wide, printed twice (top right
and bottom left) so a sheet torn or stapled over at one corner still reads.

`render_cover_sheet` draws the A4 page with fpdf2: the QR codes as vector squares (crisp
at any printer resolution), the case number in large digits, the item name, and the
checklist of materials in the catalog's order.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Final

import segno
from fpdf import FPDF
from fpdf.enums import Align, WrapMode, XPos, YPos

from intake.fonts import cjk_font

PREFIX: Final = "DOCINTAKE:COVER:1"
MAC_CHARS: Final = 16  # base32 characters: 80 bits
QR_SIDE_MM: Final = 45.0
_PAYLOAD = re.compile(r"^DOCINTAKE:COVER:(?P<version>[0-9]+):(?P<number>[A-Z0-9-]{1,32})"
                      r":(?P<mac>[A-Z2-7]*)$")


def cover_mac(case_number: str, secret: str) -> str:
    digest = hmac.new(secret.encode(), f"{PREFIX}:{case_number}".encode(),
                      hashlib.sha256).digest()
    return base64.b32encode(digest).decode()[:MAC_CHARS]


def cover_payload(case_number: str, secret: str) -> str:
    """What the cover sheet's QR code says for this case."""
    return f"{PREFIX}:{case_number}:{cover_mac(case_number, secret)}"


@dataclass(frozen=True)
class CoverCode:
    """A QR text that claims to be a docintake cover sheet (not yet verified)."""

    case_number: str
    mac: str
    version: str

    def verify(self, secret: str) -> bool:
        """True only for a sheet this server (holding `secret`) printed for this number."""
        return self.version == "1" and hmac.compare_digest(
            self.mac, cover_mac(self.case_number, secret))


def parse_cover_code(text: str) -> CoverCode | None:
    """The cover-sheet claim in a QR text, or None when the code is something else (an
    e-licence's verification link on a business licence, a parcel label)."""
    text = text.strip()
    if not text.upper().startswith("DOCINTAKE:COVER:"):
        return None
    match = _PAYLOAD.match(text.upper())
    if match is None:  # ours by its prefix, but mangled or edited: a claim that cannot hold
        return CoverCode(case_number="", mac="", version="?")
    return CoverCode(match["number"], match["mac"], match["version"])


@dataclass(frozen=True)
class ChecklistEntry:
    name: str
    conditional: bool  # required only in some situations (如适用)
    commitment_allowed: bool  # a 告知承诺书 may replace it


FONT = "noto"
MARGIN = 18.0


def _draw_qr(pdf: FPDF, payload: str, x: float, y: float, side: float) -> None:
    qr = segno.make_qr(payload, error="q", boost_error=False)
    rows = [list(row) for row in qr.matrix]
    module = side / len(rows)
    pdf.set_fill_color(0, 0, 0)
    for r, row in enumerate(rows):
        c = 0
        while c < len(row):
            if not row[c]:
                c += 1
                continue
            start = c
            while c < len(row) and row[c]:
                c += 1
            # One rectangle per run of dark modules; a hair of overlap closes the seams
            # some viewers draw between adjacent squares.
            pdf.rect(x + start * module, y + r * module, (c - start) * module + 0.02,
                     module + 0.02, style="F")


def render_cover_sheet(
    *, case_number: str, item_name: str, item_code: str, checklist: Sequence[ChecklistEntry],
    secret: str, center_name: str, acceptance_date: date,
) -> bytes:
    """The case's cover sheet as a one-page A4 PDF."""
    font, bold = cjk_font(False), cjk_font(True)
    pdf = FPDF(orientation="portrait", unit="mm", format="A4")
    pdf.set_margins(MARGIN, MARGIN, MARGIN)
    pdf.set_auto_page_break(False)
    pdf.add_font(FONT, style="", fname=str(font.path), collection_font_number=font.index)
    pdf.add_font(FONT, style="B", fname=str(bold.path), collection_font_number=bold.index)
    pdf.set_title(f"案件封面页 {case_number}")
    pdf.set_author(center_name)
    pdf.set_creation_date(datetime.combine(acceptance_date, time(0, 0), tzinfo=UTC))
    pdf.add_page()
    payload = cover_payload(case_number, secret)
    # Quiet zone: QR needs four empty modules around it; the margins give more than that.
    _draw_qr(pdf, payload, pdf.w - MARGIN - QR_SIDE_MM, MARGIN, QR_SIDE_MM)
    _draw_qr(pdf, payload, MARGIN, pdf.h - MARGIN - QR_SIDE_MM, QR_SIDE_MM)

    text_width = pdf.w - 2 * MARGIN - QR_SIDE_MM - 8
    pdf.set_xy(MARGIN, MARGIN)
    pdf.set_font(FONT, size=12)
    pdf.cell(text_width, 7, center_name, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FONT, style="B", size=24)
    pdf.cell(text_width, 13, "案件封面页", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FONT, size=10)
    pdf.set_text_color(70, 70, 70)
    pdf.multi_cell(text_width, 5.5,
                   "扫描时放在本案件材料的最前面；本页不作为申请材料。\n"
                   "(Scan this sheet in front of the case's materials; it is not a material.)",
                   wrapmode=WrapMode.CHAR, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_text_color(0, 0, 0)

    pdf.set_y(MARGIN + QR_SIDE_MM + 8)
    pdf.set_font(FONT, size=12)
    pdf.cell(0, 7, "案件编号 (Case number)", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FONT, style="B", size=40)
    pdf.cell(0, 18, case_number, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(2)
    pdf.set_font(FONT, size=13)
    pdf.multi_cell(0, 7.5, f"事项：{item_name}（{item_code}）", wrapmode=WrapMode.CHAR,
                   new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.multi_cell(0, 7.5, f"受理日期：{acceptance_date.year}年{acceptance_date.month}月"
                           f"{acceptance_date.day}日", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(4)
    pdf.set_font(FONT, style="B", size=14)
    pdf.cell(0, 9, "材料清单（请按此顺序放在本页之后）", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    bottom = pdf.h - MARGIN - QR_SIDE_MM - 6
    size = 12.0 if len(checklist) <= 14 else 10.0
    for number, entry in enumerate(checklist, start=1):
        if pdf.get_y() > bottom - 7:
            pdf.set_font(FONT, size=10)
            pdf.cell(0, 6, f"……另有 {len(checklist) - number + 1} 项，见事项办事指南。",
                     new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            break
        notes = [n for n, flag in (("如适用", entry.conditional),
                                   ("可用告知承诺书代替", entry.commitment_allowed)) if flag]
        pdf.set_font(FONT, size=size)
        pdf.set_x(MARGIN + 2)
        line = f"□  {number}. {entry.name}" + (f"（{'；'.join(notes)}）" if notes else "")
        pdf.multi_cell(pdf.w - 2 * MARGIN - 2, size * 0.62, line, wrapmode=WrapMode.CHAR,
                       new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.ln(1.2)
    pdf.set_xy(MARGIN + QR_SIDE_MM + 6, pdf.h - MARGIN - 12)
    pdf.set_font(FONT, size=9)
    pdf.set_text_color(90, 90, 90)
    pdf.cell(0, 5, f"{center_name}　{case_number}", align=Align.L)
    pdf.set_text_color(0, 0, 0)
    return bytes(pdf.output())
