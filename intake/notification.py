"""The one-time notification (一次性告知书) as a printable A4 PDF.

When a case's materials are incomplete the service centre must tell the applicant, once and
in writing, everything that is missing or must be corrected — so that the applicant needs
at most one more visit. `render_notification` turns a stored report (the JSON of a case's
assessment, or a `CompletenessReport`) into that document: every missing or invalid slot
with what is wrong, where a 告知承诺书 may replace it, the pages the staff must still look
at (unreadable or unclassified, by their number in the case), and the item's published
legal basis, time limits, handling place and phone. A report with nothing to bring yields
a notice saying the materials are complete (材料齐全).

Rendered with fpdf2 and Noto Sans CJK SC embedded (reportlab cannot embed CFF-flavoured
OpenType). Note for tests: pdfplumber reads no text from fpdf2's embedded CFF font; use
pypdfium2 or ``pdftotext``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, time
from typing import Any, Protocol

from fpdf import FPDF
from fpdf.enums import Align, WrapMode, XPos, YPos

from intake.fonts import cjk_font
from rules.types import CompletenessReport


class NotificationItem(Protocol):
    """What the notice reads from an approval item (the catalog's `Item` satisfies it)."""

    @property
    def code(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def agency(self) -> str: ...
    @property
    def legal_basis(self) -> Sequence[str]: ...
    @property
    def legal_time_limit_days(self) -> int: ...
    @property
    def committed_time_limit_days(self) -> int: ...
    @property
    def handling_place(self) -> str: ...
    @property
    def consultation_phone(self) -> str: ...


FONT = "noto"
MARGIN = 20.0  # mm
BODY_PT = 11.5
LINE_MM = 6.6


def cn_date(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


class _NoticePdf(FPDF):
    def __init__(self, center_name: str, case_number: str) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.center_name = center_name
        self.case_number = case_number

    def footer(self) -> None:
        # Every page carries the case number, so loose sheets can be matched to the case.
        self.set_y(-14)
        self.set_font(FONT, size=8.5)
        self.set_text_color(90, 90, 90)
        text = (
            f"{self.center_name}　案件编号 {self.case_number}　第 {self.page_no()} 页 共 {{nb}} 页"
        )
        self.cell(0, 5, text, align=Align.C)
        self.set_text_color(0, 0, 0)


TO_BRING = ("missing", "invalid")


def _slot_problems(slot: Mapping[str, Any]) -> list[str]:
    """Plain-Chinese reasons for one slot, without repeats."""
    if slot.get("state") == "missing":
        return ["未提交"]
    messages: list[str] = []
    for finding in slot.get("findings", []):
        text = str(finding.get("message", "")).strip()
        if text and text not in messages:
            messages.append(text)
    return messages or ["材料不符合要求，请核对后重新提交"]


def chinese_part(bilingual: str) -> str:
    """"中文。(English.)" -> "中文。": the notice is for the applicant, in Chinese."""
    return bilingual.split("(", 1)[0].strip() or bilingual


def _pages_to_review(report: Mapping[str, Any]) -> list[str]:
    """The pages the staff still have to look at, worded with their number in the case:
    pages that could not be read, and case-level findings that need a person."""
    lines = [chinese_part(str(u.get("message", ""))) for u in report.get("unreadable", [])]
    lines += [str(f.get("message", "")) for f in report.get("findings", [])
              if f.get("needs_review")]
    return [line for line in lines if line]


def _applicant(report: Mapping[str, Any]) -> str | None:
    for doc in report.get("documents", []):
        if doc.get("type") == "application_form":
            name = (doc.get("fields", {}).get("applicant_name") or {}).get("value")
            if name:
                return str(name)
    return None


def render_notification(
    report: Mapping[str, Any] | CompletenessReport,
    item: NotificationItem,
    *,
    case_number: str,
    issued_on: date,
    center_name: str = "政务服务中心",
) -> bytes:
    """The 一次性告知书 for `report` as PDF bytes (A4, Chinese, fonts embedded).

    Lists every missing or invalid slot, numbered, with its reasons and, where the slot
    allows it, that a 告知承诺书 may be submitted instead. Reads only the report: what it
    prints is what was stored.
    """
    if isinstance(report, CompletenessReport):
        report = report.to_dict()
    font = cjk_font(False)
    bold = cjk_font(True)
    pdf = _NoticePdf(center_name, case_number)
    pdf.set_margins(MARGIN, MARGIN, MARGIN)
    pdf.set_auto_page_break(True, margin=22)
    pdf.add_font(FONT, style="", fname=str(font.path), collection_font_number=font.index)
    pdf.add_font(FONT, style="B", fname=str(bold.path), collection_font_number=bold.index)
    pdf.set_title(f"一次性告知书 {case_number}")
    pdf.set_author(center_name)
    # A fixed creation date keeps the output reproducible for the same inputs.
    pdf.set_creation_date(datetime.combine(issued_on, time(0, 0), tzinfo=UTC))
    pdf.add_page()

    def para(text: str, *, size: float = BODY_PT, style: str = "", indent: float = 0.0) -> None:
        pdf.set_font(FONT, style=style, size=size)
        pdf.set_x(MARGIN + indent)
        pdf.multi_cell(
            0, LINE_MM * size / BODY_PT, text, wrapmode=WrapMode.CHAR,
            new_x=XPos.LMARGIN, new_y=YPos.NEXT,
        )  # fmt: skip

    # Heading.
    pdf.set_font(FONT, size=12)
    pdf.cell(0, 8, center_name, align=Align.C, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FONT, style="B", size=22)
    pdf.cell(0, 14, "一次性告知书", align=Align.C, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(2)

    applicant = _applicant(report)
    header = [
        ("案件编号", case_number),
        ("事项名称", f"{item.name}（事项编码：{item.code}）"),
        ("实施机关", item.agency),
    ]
    if applicant:
        header.append(("申请人", applicant))
    header += [("受理日期", cn_date(date.fromisoformat(str(report["acceptance_date"])))),
               ("告知日期", cn_date(issued_on))]
    for label, value in header:
        para(f"{label}：{value}")
    pdf.ln(3)

    to_bring = [s for s in report.get("slots", []) if s.get("state") in TO_BRING]
    addressee = f"{applicant}：" if applicant else "申请人："
    para(addressee)
    if to_bring:
        para(
            f"您申请办理的“{item.name}”事项，经审查，申请材料尚不齐全或不符合法定形式。"
            f"现将需要补齐、补正的全部材料（共 {len(to_bring)} 项）一次性告知如下，"
            "请按要求准备后一并提交：",
            indent=8,
        )
    else:
        para(
            f"您申请办理的“{item.name}”事项，经审查，申请材料齐全，符合法定形式，"
            "无需补齐或补正材料。",
            indent=8,
        )
    to_review = _pages_to_review(report)
    if report.get("status") == "needs_review" or to_review:
        para("部分材料的识别结果需要工作人员人工复核，复核结果如有变化将另行告知。", indent=8)
        for line in to_review:
            para(f"复核：{line}", indent=8)
    pdf.ln(2)

    for number, slot in enumerate(to_bring, 1):
        # Keep a slot's heading with at least its first reason on the same page.
        if pdf.get_y() + 3 * LINE_MM > pdf.page_break_trigger:
            pdf.add_page()
        kind = "缺少材料" if slot.get("state") == "missing" else "需补正"
        para(f"{number}. {slot.get('name', '')}（{kind}）", style="B")
        for problem in _slot_problems(slot):
            para(f"问题：{problem}", indent=7)
        if slot.get("commitment_allowed"):
            para("可提交《告知承诺书》代替该材料。", indent=7)
        pdf.ln(1.5)

    pdf.ln(3)
    para("办理须知", style="B", size=12.5)
    para(f"设定依据：{'；'.join(item.legal_basis)}")
    para(
        f"办理时限：法定办结时限 {item.legal_time_limit_days} 个工作日，"
        f"承诺办结时限 {item.committed_time_limit_days} 个工作日。"
    )
    para(f"办理地点：{item.handling_place}")
    para(f"咨询电话：{item.consultation_phone}")

    # Signature and seal block, kept on one page.
    block_height = 48.0
    if pdf.get_y() + block_height > pdf.h - 22:
        pdf.add_page()
    pdf.ln(10)
    half = (pdf.w - 2 * MARGIN) / 2
    pdf.set_font(FONT, size=BODY_PT)
    pdf.cell(half, 9, "经办人：____________")
    pdf.cell(half, 9, "申请人签收：____________", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.cell(half, 9, f"日期：{cn_date(issued_on)}")
    pdf.cell(half, 9, "日期：______年____月____日", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(6)
    pdf.cell(0, 9, f"（{center_name}盖章）", align=Align.R, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FONT, size=9)
    pdf.set_text_color(90, 90, 90)
    para("本告知书一式两份，申请人与窗口各执一份。", size=9)
    pdf.set_text_color(0, 0, 0)
    return bytes(pdf.output())
