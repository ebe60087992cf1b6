"""The one-time notification PDF: everything the applicant must bring, once, in Chinese.

Text is read back with pypdfium2 (pdfplumber sees no text in fpdf2's embedded CFF font).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import pypdfium2
import pytest

from intake.notification import NotificationItem, render_notification
from rules.types import (
    CompletenessReport,
    Document,
    ExtractedField,
    Finding,
    ReportStatus,
    SlotResult,
    SlotState,
)

ACCEPTED = date(2025, 6, 16)
ISSUED = date(2025, 6, 17)
HINT = "可提交《告知承诺书》代替该材料"


@dataclass(frozen=True)
class FakeItem:
    code: str = "company-establishment"
    name: str = "有限责任公司设立登记"
    agency: str = "市场监督管理局"
    legal_basis: Sequence[str] = (
        "《中华人民共和国公司法》",
        "《中华人民共和国市场主体登记管理条例》",
    )
    legal_time_limit_days: int = 15
    committed_time_limit_days: int = 3
    handling_place: str = "政务服务中心一楼市场监管窗口（12-18号）"
    consultation_phone: str = "010-12345678"


def _pages_text(pdf: bytes) -> list[str]:
    doc = pypdfium2.PdfDocument(pdf)
    # Wrapped lines split words; compare without any whitespace.
    return [re.sub(r"\s+", "", page.get_textpage().get_text_range()) for page in doc]


def _text(pdf: bytes) -> str:
    return "".join(_pages_text(pdf))


def _slot(
    code: str,
    name: str,
    state: SlotState,
    *messages: str,
    commitment: bool = False,
) -> SlotResult:
    findings = tuple(Finding("check", m) for m in messages)
    if state is SlotState.MISSING:
        findings = (Finding("missing", "未提交"),)
    return SlotResult(
        code, name, state, required=True, findings=findings, commitment_allowed=commitment
    )


def make_form(applicant: str) -> Document:
    return Document(
        "d1", "application_form", (1,), 0.95,
        {"applicant_name": ExtractedField(applicant, 0.95, page=1)},
    )  # fmt: skip


def _report(slots: tuple[SlotResult, ...], status: ReportStatus) -> CompletenessReport:
    return CompletenessReport(
        item="company-establishment",
        item_name="有限责任公司设立登记",
        acceptance_date=ACCEPTED,
        status=status,
        slots=slots,
        documents=(make_form("北京瑞丰科技有限公司"),),
    )


EXPIRED = "法定代表人身份证已于2024年3月1日过期"
MISMATCH = "身份证号码与申请书填写的法定代表人身份证号码不一致"


@pytest.fixture(scope="module")
def incomplete_pdf() -> bytes:
    slots = (
        _slot("application_form", "公司登记（备案）申请书", SlotState.PRESENT),
        _slot("articles_of_association", "公司章程", SlotState.MISSING),
        _slot("legal_rep_id_card", "法定代表人身份证明", SlotState.INVALID, EXPIRED, MISMATCH),
        _slot("premises_proof", "住所使用证明", SlotState.MISSING, commitment=True),
        _slot("power_of_attorney", "授权委托书", SlotState.NOT_REQUIRED),
        _slot("agent_id_card", "委托代理人身份证明", SlotState.NOT_REQUIRED),
    )
    report = _report(slots, ReportStatus.INCOMPLETE)
    return render_notification(report, FakeItem(), case_number="SC-2025-000042", issued_on=ISSUED)


def test_is_a_pdf_with_embedded_font(incomplete_pdf: bytes) -> None:
    assert incomplete_pdf.startswith(b"%PDF-")
    assert b"/FontFile" in incomplete_pdf  # the CJK font travels with the document
    assert len(pypdfium2.PdfDocument(incomplete_pdf)) == 1


def test_header_names_item_case_date_and_applicant(incomplete_pdf: bytes) -> None:
    text = _text(incomplete_pdf)
    assert "一次性告知书" in text
    assert "有限责任公司设立登记" in text and "company-establishment" in text
    assert "SC-2025-000042" in text
    assert "2025年6月17日" in text  # issued on
    assert "2025年6月16日" in text  # accepted on
    assert "申请人：北京瑞丰科技有限公司" in text
    assert "市场监督管理局" in text


def test_lists_every_missing_and_invalid_slot_with_reasons(incomplete_pdf: bytes) -> None:
    text = _text(incomplete_pdf)
    for name in ("公司章程", "法定代表人身份证明", "住所使用证明"):
        assert name in text
    assert EXPIRED in text and MISMATCH in text
    assert text.count("未提交") == 2
    assert "共2项" not in text and "共3项" in text
    # Present and not-required slots are not listed.
    assert "授权委托书" not in text and "委托代理人身份证明" not in text
    assert "公司登记（备案）申请书" not in text
    assert "材料齐全" not in text


def test_commitment_hint_only_under_slots_that_allow_it(incomplete_pdf: bytes) -> None:
    text = _text(incomplete_pdf)
    assert text.count(HINT) == 1
    # Sections in list order: 1. 公司章程, 2. 法定代表人身份证明, 3. 住所使用证明.
    first = text.index("1.公司章程")
    second = text.index("2.法定代表人身份证明")
    third = text.index("3.住所使用证明")
    rest = text.index("办理须知")
    assert first < second < third < rest
    assert HINT not in text[first:third]
    assert HINT in text[third:rest]


def test_states_legal_basis_time_limits_place_and_phone(incomplete_pdf: bytes) -> None:
    text = _text(incomplete_pdf)
    assert "《中华人民共和国公司法》" in text
    assert "《中华人民共和国市场主体登记管理条例》" in text
    assert "法定办结时限15个工作日" in text
    assert "承诺办结时限3个工作日" in text
    assert "政务服务中心一楼市场监管窗口（12-18号）" in text
    assert "010-12345678" in text
    assert "经办人" in text and "日期" in text


def test_complete_report_says_materials_complete() -> None:
    slots = (
        _slot("application_form", "公司登记（备案）申请书", SlotState.PRESENT),
        _slot("premises_proof", "住所使用证明", SlotState.COMMITTED, commitment=True),
        _slot("agent_id_card", "委托代理人身份证明", SlotState.NOT_REQUIRED),
    )
    pdf = render_notification(
        _report(slots, ReportStatus.COMPLETE),
        FakeItem(),
        case_number="SC-2025-000043",
        issued_on=ISSUED,
        center_name="北京市朝阳区政务服务中心",
    )
    text = _text(pdf)
    assert "材料齐全" in text
    assert "问题：" not in text and HINT not in text and "住所使用证明" not in text
    assert "北京市朝阳区政务服务中心" in text
    assert "法定办结时限15个工作日" in text


def test_thirty_missing_slots_flow_onto_several_pages() -> None:
    slots = tuple(
        _slot(f"slot_{i}", f"第{i:02d}号补充材料", SlotState.MISSING, commitment=i % 5 == 0)
        for i in range(30)
    )
    report = CompletenessReport(
        "company-establishment", "有限责任公司设立登记", ACCEPTED, ReportStatus.INCOMPLETE,
        slots, documents=(),
    )  # fmt: skip
    pdf = render_notification(report, FakeItem(), case_number="SC-9", issued_on=ISSUED)
    pages = _pages_text(pdf)
    assert len(pages) >= 2
    text = "".join(pages)
    for i in range(30):
        assert f"{i + 1}.第{i:02d}号补充材料" in text
    assert text.count(HINT) == 6
    assert "第00号补充材料" in pages[0] and "第29号补充材料" not in pages[0]
    # Page footers carry the case number and the page count.
    assert all("SC-9" in page for page in pages)
    assert f"共{len(pages)}页" in pages[-1]
    # No applicant on record: the notice addresses the applicant generically.
    assert "申请人：" in text


def test_long_reasons_wrap_instead_of_running_off_the_page() -> None:
    reason = "营业执照上的统一社会信用代码校验位错误，" * 12
    slots = (_slot("business_license", "营业执照", SlotState.INVALID, reason),)
    pdf = render_notification(
        _report(slots, ReportStatus.INCOMPLETE), FakeItem(), case_number="X", issued_on=ISSUED
    )
    assert reason in _text(pdf)
    page = pypdfium2.PdfDocument(pdf)[0]
    textpage = page.get_textpage()
    width = page.get_width()
    for i in range(textpage.count_rects()):
        left, _, right, _ = textpage.get_rect(i)
        assert left >= 0 and right <= width


def test_catalog_item_satisfies_the_protocol() -> None:
    """The rules package's catalog `Item` is what the service passes in production."""
    from rules.catalog import load_catalog

    item: NotificationItem = load_catalog().item("food-business-license")
    slots = (_slot("food_safety_rules", "食品安全管理制度", SlotState.MISSING, commitment=True),)
    report = CompletenessReport(
        "food-business-license", item.name, ACCEPTED, ReportStatus.INCOMPLETE, slots, ()
    )
    text = _text(render_notification(report, item, case_number="F-1", issued_on=ISSUED))
    assert item.name in text and "食品安全管理制度" in text and HINT in text
    assert f"法定办结时限{item.legal_time_limit_days}个工作日" in text
