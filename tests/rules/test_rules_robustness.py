"""What the benchmark taught the rules: OCR character variants, label cells wrapped over two
lines, values in table cells that wrap, prose that mentions a label word, shuffled pages
of multi-page documents, and a catalog extended with a new item AND a new material type
purely in YAML."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest
from rules_pagekit import page
from rules_samples import COMPANY, LEGAL_REP, company_form, food_form

from rules.analysis import analyse_pages
from rules.catalog import DEFAULT_CATALOG_DIR, Catalog, load_catalog
from rules.completeness import check_completeness
from rules.extract import extract_fields
from rules.normalize import compact, parse_date
from rules.types import PageText, ReportStatus, SlotState, TextLine
from rules.validators import validate_credit_code, validate_id_number


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


# --- normalisation ---------------------------------------------------------------------------


def test_traditional_variants_and_full_width_are_normalised() -> None:
    assert compact("性別 男　公民身份號碼 １２３") == "性别男公民身份号码123"


@pytest.mark.parametrize("text", ["2024年3月1日", "2024年03月01日", "2024.03.01", "2024-3-1",
                                  "2024/3/1", "20240301", "二〇二四年三月一日", "2O24年3月l日",
                                  "２０２４年３月１日"])
def test_dates_in_all_common_forms(text: str) -> None:
    assert parse_date(text) == date(2024, 3, 1)


def test_identifiers_survive_ocr_spacing_and_letter_digit_confusions() -> None:
    assert validate_id_number("3501 0219 8506 1212 35").value == LEGAL_REP[1]
    repaired = validate_id_number("35O1O2l985O6121235")
    assert repaired.valid and repaired.repaired and repaired.value == LEGAL_REP[1]
    assert validate_credit_code("９１３５０１０２ＭＡ３１ＡＢＣＤ７Ｔ").valid
    # A repair is only accepted when the check digit then agrees.
    assert not validate_id_number("350102198506121236").valid


# --- extraction ------------------------------------------------------------------------------


def _boxes(rows: list[list[tuple[str, float, float]]], number: int = 1,
           title: str | None = None) -> PageText:
    """Rows of (text, x0, width) boxes, 50 px apart; an optional tall title on top."""
    lines: list[TextLine] = []
    y = 80.0
    if title:
        lines.append(TextLine(title, 0.97, (400.0, y, 400.0 + 48 * len(title), y + 48)))
        y += 100
    for row in rows:
        for text, x0, w in row:
            lines.append(TextLine(text, 0.97, (x0, y, x0 + w, y + 30)))
        y += 50
    return PageText(number, tuple(lines))


def test_label_cell_wrapped_over_two_lines(catalog: Catalog) -> None:
    pg = _boxes([
        [("申请人名称", 100, 150), (COMPANY, 500, 300)],
        [("法定代表人", 100, 150), (LEGAL_REP[0], 500, 60)],
        [("法定代表人身份证件", 100, 270), (LEGAL_REP[1], 500, 470)],
        [("号码", 100, 60)],
    ], title="食品经营许可申请书")
    fields = extract_fields(catalog.material_type("application_form"), pg)
    assert fields["legal_rep_id_number"].value == LEGAL_REP[1]
    assert fields["legal_rep_name"].value == LEGAL_REP[0]


def test_address_wrapping_inside_its_table_cell(catalog: Catalog) -> None:
    pg = _boxes([
        [("权利人", 100, 90), ("张三", 500, 60)],
        [("坐落", 100, 60), ("福建省福州市鼓楼区五四路88号院3号楼2单元", 500, 800)],
        [("1203室", 500, 120)],
        [("用途", 100, 60), ("商服用地/办公", 500, 260)],
    ], title="不动产权证书")
    fields = extract_fields(catalog.material_type("property_certificate"), pg)
    assert fields["location"].value == "福建省福州市鼓楼区五四路88号院3号楼2单元1203室"
    assert fields["use"].value == "商服用地/办公"


def test_value_box_before_its_label_in_reading_order(catalog: Catalog) -> None:
    # OCR rows are not exact: the value's box may be listed before its label.
    lines = (
        TextLine("姓名", 0.97, (100, 100, 160, 130)), TextLine("张三", 0.97, (220, 100, 280, 130)),
        TextLine("福建省福州市鼓楼区五四路", 0.97, (220, 198, 700, 232)),
        TextLine("住址", 0.97, (100, 200, 160, 230)),
        TextLine("88号", 0.97, (220, 250, 300, 282)),
        TextLine("公民身份号码", 0.97, (100, 400, 280, 430)),
        TextLine(LEGAL_REP[1], 0.97, (320, 400, 800, 430)),
    )
    fields = extract_fields(catalog.material_type("id_card"), PageText(1, lines), "front")
    assert fields["address"].value == "福建省福州市鼓楼区五四路88号"


def test_a_label_word_inside_a_sentence_is_not_a_label(catalog: Catalog) -> None:
    pg = page(1, [
        "委托人：" + COMPANY,
        "兹委托李四（身份证号码：350102199003078516）为我单位代理人，",
        "代为办理公司设立登记相关事宜。",
        "委托日期：2024年3月1日",
    ], title="授权委托书")
    fields = extract_fields(catalog.material_type("power_of_attorney"), pg)
    assert fields["agent_name"].value == "李四"
    assert fields["agent_id_number"].value == "350102199003078516"


def test_foreign_label_to_the_right_is_not_the_value(catalog: Catalog) -> None:
    pg = _boxes([
        [("统一社会信用代码", 100, 300), ("证照编号：47524979295932", 900, 420)],
        [("91350102MA31ABCD7T", 100, 420)],
        [("名称", 100, 60), (COMPANY, 400, 300)],
    ], title="营业执照")
    fields = extract_fields(catalog.material_type("business_license"), pg)
    assert fields["credit_code"].value == "91350102MA31ABCD7T"


# --- grouping --------------------------------------------------------------------------------


def _lease_page(n: int, k: int, total: int, *, title: bool) -> PageText:
    body = ["出租方（甲方）：王五", "承租方（乙方）：" + COMPANY,
            "房屋坐落：福州市鼓楼区五四路88号",
            "租赁期限自2024年1月1日起至2026年12月31日止。", "月租金人民币8000元。"] if title else [
        "第五条 违约责任", "任何一方违反本合同约定的，应向守约方支付违约金。",
        "甲方（签字）：王五", "乙方（签章）：" + COMPANY, "签订日期：2023年12月20日"]
    return page(n, [*body, f"第{k}页 共{total}页"], title="房屋租赁合同" if title else None)


def _articles_page(n: int, k: int, *, title: bool) -> PageText:
    rows = ["第一章 总则", "第一条 为规范公司的组织和行为，根据公司法制定本章程。",
            "第二条 公司名称：" + COMPANY + "。", "第三条 股东会由全体股东组成。"] if title else [
        "第四章 组织机构", "第七条 股东会由全体股东组成，是公司的权力机构。",
        "第八条 公司不设董事会，设执行董事一名。", "第九条 法定代表人由执行董事担任。"]
    return page(n, [*rows, f"第{k}页 共2页"], title=COMPANY + "章程" if title else None)


def test_shuffled_lease_page_is_not_swallowed_by_the_neighbouring_articles(
        catalog: Catalog) -> None:
    # Batch: articles p2, lease p2, articles p1, lease p1. Lease p2 follows an open
    # articles document but says "第2页", which that document already has.
    pages = [_articles_page(1, 2, title=False), _lease_page(2, 2, 2, title=False),
             _articles_page(3, 1, title=True), _lease_page(4, 1, 2, title=True)]
    analysis = analyse_pages(pages, catalog)
    types = {c.page: c.material_type for c in analysis.classifications}
    assert types == {1: "articles_of_association", 2: "lease_contract",
                     3: "articles_of_association", 4: "lease_contract"}
    docs = {d.material_type: d.pages for d in analysis.documents}
    assert docs == {"articles_of_association": (1, 3), "lease_contract": (2, 4)}
    lease = next(d for d in analysis.documents if d.material_type == "lease_contract")
    assert lease.fields["term_end"].value == "2026-12-31"
    assert not lease.needs_review


def test_form_label_overlapping_the_value_cell(catalog: Catalog) -> None:
    # A long label printed into the value column still hands its value over.
    pg = _boxes([
        [("申请人（名称）", 171, 294), (COMPANY, 671, 546)],
        [("统一社会信用代码（身份证号码）", 171, 529), ("91350102MA31ABCD7T", 660, 420)],
    ], title="食品经营许可申请表")
    fields = extract_fields(catalog.material_type("application_form"), pg)
    assert fields["applicant_id"].value == "91350102MA31ABCD7T"


# --- a new item and a new material type, data only -------------------------------------------

NEW_TYPE = """
code: health_certificate
name: 健康证明
aliases: [健康证, 从业人员健康证明]
cues:
  title: [健康证明, 健康证]
  strong: [体检日期, 体检单位, 从业类别]
  negative: [申请书, 申请表]
fields:
  - {name: holder, kind: name, labels: [姓名], required: true}
  - {name: id_number, kind: id_number, labels: [身份证号码], required: true}
  - {name: valid_until, kind: date, labels: [有效期至], required: true}
checks:
  - {check: valid_field, field: id_number}
  - {check: not_expired, field: valid_until}
"""

NEW_ITEM = """
code: food-handler-filing
name: 食品从业人员健康备案
agency: 市场监督管理局
category: 其他行政权力
legal_basis: [《中华人民共和国食品安全法》]
procedure: [受理, 审查, 办结]
fees: 不收费
legal_time_limit_days: 5
committed_time_limit_days: 1
handling_place: 二号窗口
consultation_phone: "0591-00000000"
supervision_phone: "12345"
handling_mode: 即办件
online_application: true
max_visits: 1
slots:
  - {code: application_form, name: 备案申请表, accepts: [application_form],
     checks: [{check: present, field: legal_rep_id_number}]}
  - code: health_certificate
    name: 从业人员健康证明
    accepts: [health_certificate]
    match: [{field: id_number, equals: application_form.legal_rep_id_number}]
    checks:
      - {check: equals, field: id_number, other: application_form.legal_rep_id_number}
"""


def _extended(tmp_path: Path) -> Catalog:
    d = tmp_path / "catalog"
    shutil.copytree(DEFAULT_CATALOG_DIR, d)
    (d / "material_types").mkdir(exist_ok=True)
    (d / "material_types" / "health_certificate.yaml").write_text(NEW_TYPE, encoding="utf-8")
    (d / "items" / "food-handler-filing.yaml").write_text(NEW_ITEM, encoding="utf-8")
    return load_catalog(d)


def _health(n: int, until: str) -> PageText:
    return page(n, [f"姓名：{LEGAL_REP[0]}", f"身份证号码：{LEGAL_REP[1]}",
                    "从业类别：食品生产经营",
                    "体检单位：福州市鼓楼区疾病预防控制中心", "体检日期：2024年2月1日",
                    f"有效期至：{until}"], title="健康证明")


def test_new_item_and_material_type_need_no_code(tmp_path: Path) -> None:
    catalog = _extended(tmp_path)
    item = catalog.item("food-handler-filing")
    pages = [food_form(1), _health(2, "2025年1月31日")]
    analysis = analyse_pages(pages, catalog)
    assert [c.material_type for c in analysis.classifications] == [
        "application_form", "health_certificate"]
    report = check_completeness(item, analysis.documents, date(2024, 6, 1), catalog=catalog,
                                classifications=analysis.classifications)
    assert report.status is ReportStatus.COMPLETE
    assert [s.state for s in report.slots] == [SlotState.PRESENT, SlotState.PRESENT]
    # The same certificate judged after its end date: the new type's own check applies.
    late = check_completeness(item, analysis.documents, date(2025, 3, 1), catalog=catalog,
                              classifications=analysis.classifications)
    assert late.status is ReportStatus.INCOMPLETE
    health = next(s for s in late.slots if s.code == "health_certificate")
    assert health.state is SlotState.INVALID
    assert [f.code for f in health.findings] == ["expired"]


def test_new_material_type_does_not_disturb_the_reference_items(tmp_path: Path) -> None:
    catalog = _extended(tmp_path)
    analysis = analyse_pages([company_form(1, agent=False)], catalog)
    assert analysis.classifications[0].material_type == "application_form"
