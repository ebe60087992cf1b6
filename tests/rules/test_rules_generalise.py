"""Issue 10, part 3: rules that hold beyond one generator. Check boxes read into values,
names with middle dots or spaces, agents named only in a power of attorney's body text,
generic labels whose person was named a few rows earlier, tables whose labels head the
columns, identifiers wrapped at a line end, low-confidence mismatches, and case page
numbers that do not start at 1."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import replace
from datetime import date

import pytest
from rules_pagekit import page
from rules_samples import (
    AGENT,
    COMPANY,
    LEGAL_REP,
    articles,
    company_form,
    id_back,
    id_front,
    lease,
    power_of_attorney,
)

from rules.analysis import analyse_pages
from rules.catalog import Catalog, load_catalog
from rules.completeness import LOW_CONFIDENCE, check_completeness
from rules.extract import extract_fields
from rules.normalize import person_name, same_text, ticked_options
from rules.types import CompletenessReport, PageText, ReportStatus, SlotResult, SlotState, TextLine

DAY = date(2024, 3, 5)


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


def run(catalog: Catalog, pages: Sequence[PageText], numbers: Sequence[int] | None = None
        ) -> CompletenessReport:
    numbers = numbers or range(1, len(pages) + 1)
    pages = [replace(p, number=n) for p, n in zip(pages, numbers, strict=True)]
    a = analyse_pages(pages, catalog)
    return check_completeness(catalog.item("company-establishment"), a.documents, DAY,
                              catalog=catalog, classifications=a.classifications)


def slot(r: CompletenessReport, code: str) -> SlotResult:
    return next(s for s in r.slots if s.code == code)


def packet(*, poa: PageText | None = None, agent_front: PageText | None = None,
           form: PageText | None = None) -> list[PageText]:
    return [form or company_form(0), *articles(0), id_front(0, LEGAL_REP), id_back(0),
            *lease(0), poa or power_of_attorney(0), agent_front or id_front(0, AGENT),
            id_back(0, "2010.01.01-长期")]


# --- values normalised for their kind ----------------------------------------------------------


@pytest.mark.parametrize(("read", "name"), [
    ("☑段强军", "段强军"), ("段强军□", "段强军"), ("√ 段强军", "段强军"), ("段 强军", "段强军"),
    ("l段强军'", "段强军"), ("段强军（签字）", "段强军"), ("段强军同志", "段强军"),
    ("阿卜杜拉·买买提", "阿卜杜拉·买买提"), ("阿卜杜拉.买买提", "阿卜杜拉·买买提"),
    ("阿卜杜拉•买买提", "阿卜杜拉·买买提"), ("阿卜杜拉 买买提", "阿卜杜拉·买买提"),
])
def test_a_persons_name_holds_no_marks_punctuation_or_latin_noise(read: str, name: str) -> None:
    assert person_name(read) == name


@pytest.mark.parametrize("read", ["本", "上述受托人", "代理人无转委托权。特此委托", "授权委托书",
                                  "☑居民身份证", "信息"])
def test_what_cannot_be_a_persons_name_is_no_name(read: str) -> None:
    assert person_name(read) is None


def test_check_marks_never_decide_an_equality() -> None:
    assert same_text("☑段强军", "段强军")
    assert not same_text("段强军", "段强")


def test_ticked_options_of_a_check_box_list() -> None:
    assert ticked_options("☑有限责任公司设立登记□变更□备案") == "有限责任公司设立登记"
    assert ticked_options("没有勾选框") == "没有勾选框"


def test_id_card_name_read_with_a_check_box_matches_the_form(catalog: Catalog) -> None:
    # The case from the issue: "☑段强军" at confidence 0.898 against the form's "段强军".
    agent = ("段强军", AGENT[1])
    front = id_front(0, ("☑段强军", agent[1]), conf=0.898)
    form = company_form(0)
    form = replace(form, lines=tuple(
        replace(ln, text=ln.text.replace(AGENT[0], agent[0])) for ln in form.lines))
    r = run(catalog, packet(form=form, poa=power_of_attorney(0, agent), agent_front=front))
    agent_card = slot(r, "agent_id_card")
    assert agent_card.state == SlotState.PRESENT and not agent_card.needs_review
    doc = next(d for d in r.documents if d.id == agent_card.documents[0])
    assert doc.field_value("name") == "段强军"
    assert r.status == ReportStatus.COMPLETE


# --- agents --------------------------------------------------------------------------------------


@pytest.mark.parametrize("body", [
    f"兹委托{AGENT[0]}（身份证号码：{AGENT[1]}）为我方代理人，代为办理公司设立登记。",
    f"兹委托我公司员工{AGENT[0]}同志为我方代理人，代为办理公司设立登记。",
    f"现委托{AGENT[0]}作为我单位的代理人，办理公司设立登记。",
])
def test_agent_named_only_in_the_power_of_attorneys_body(catalog: Catalog, body: str) -> None:
    half = len(body) // 2
    poa = page(0, [body[:half], body[half:], "特此委托。", f"委托人（盖章）：{COMPANY}",
                   "日期：2024年2月28日"], title="授权委托书")
    fields = extract_fields(catalog.material_types["power_of_attorney"], poa)
    assert fields["agent_name"].value == AGENT[0]
    r = run(catalog, packet(poa=poa))
    assert slot(r, "power_of_attorney").state == SlotState.PRESENT
    assert r.status == ReportStatus.COMPLETE


def test_samr_letter_names_the_agent_after_its_long_label(catalog: Catalog) -> None:
    poa = page(0, [f"申请人：{COMPANY}", f"指定代表或者共同委托代理人：{AGENT[0]}",
                   "委托事项及权限：", "2.同意☑不同意□核对登记材料中的复印件并签署核对意见；",
                   f"签字：{AGENT[0]}"], title="指定代表或者共同委托代理人授权委托书")
    fields = extract_fields(catalog.material_types["power_of_attorney"], poa)
    assert fields["agent_name"].value == AGENT[0]
    assert fields["principal"].value == COMPANY


def test_identifier_wrapped_at_the_line_end_of_running_text(catalog: Catalog) -> None:
    poa = page(0, [f"兹委托{AGENT[0]}（身份证号码：{AGENT[1][:13]}",
                   f"{AGENT[1][13:]}）为我方代理人，代为办理公司设立登记相关事宜。"],
               title="授权委托书")
    fields = extract_fields(catalog.material_types["power_of_attorney"], poa)
    assert fields["agent_id_number"].value == AGENT[1]


def test_generic_labels_belong_to_the_person_named_above_them(catalog: Catalog) -> None:
    # "身份证件号码" two rows under the agent's heading, a phone number between; the ID
    # number before the name in the legal representative's block.
    form = page(0, [
        "申请事项：有限责任公司设立登记", f"企业名称：{COMPANY}",
        "法定代表人信息", f"身份证件号码：{LEGAL_REP[1]}", "身份证件类型：☑身份证 □护照",
        f"姓名：{LEGAL_REP[0]}",
        "指定代表/委托代理人", f"姓名：{AGENT[0]}", "联系电话：13800000000",
        f"身份证件号码：{AGENT[1]}",
    ], title="公司登记（备案）申请书")
    f = extract_fields(catalog.material_types["application_form"], form)
    assert (f["legal_rep_name"].value, f["legal_rep_id_number"].value) == LEGAL_REP
    assert (f["agent_name"].value, f["agent_id_number"].value) == AGENT
    assert f["item_name"].value == "有限责任公司设立登记"


# --- tables ------------------------------------------------------------------------------------


def _grid(rows: list[list[str]], xs: list[float], *, title: str) -> PageText:
    lines = [TextLine(title, 0.97, (400.0, 60.0, 900.0, 110.0))]
    for r, cells in enumerate(rows):
        y = 200.0 + 70.0 * r
        for x, text in zip(xs, cells, strict=True):
            if text:
                lines.append(TextLine(text, 0.97, (x, y, x + 26.0 * len(text), y + 30.0)))
    return PageText(number=1, lines=tuple(lines))


def test_table_with_a_header_row_of_labels(catalog: Catalog) -> None:
    form = _grid([
        ["类别", "证件号码", "姓名", "手机"],
        ["法定代表人", LEGAL_REP[1], LEGAL_REP[0], "13800000000"],
        ["委托代理人", AGENT[1], AGENT[0], "13900000000"],
    ], [100.0, 420.0, 950.0, 1200.0], title="公司登记（备案）申请书")
    f = extract_fields(catalog.material_types["application_form"], form)
    assert (f["legal_rep_name"].value, f["legal_rep_id_number"].value) == LEGAL_REP
    assert (f["agent_name"].value, f["agent_id_number"].value) == AGENT
    assert f.get("applicant_id") is None  # a person's number is not the applicant's


def test_transposed_table_people_head_the_columns(catalog: Catalog) -> None:
    form = _grid([
        ["", "法定代表人", "委托代理人"],
        ["姓名", LEGAL_REP[0], AGENT[0]],
        ["身份证号码", LEGAL_REP[1], AGENT[1]],
    ], [100.0, 450.0, 1000.0], title="公司登记（备案）申请书")
    f = extract_fields(catalog.material_types["application_form"], form)
    assert (f["legal_rep_name"].value, f["legal_rep_id_number"].value) == LEGAL_REP
    assert (f["agent_name"].value, f["agent_id_number"].value) == AGENT


def test_labels_printed_above_their_values(catalog: Catalog) -> None:
    form = _grid([
        ["委托代理人姓名", "委托代理人身份证件号码"],
        [AGENT[0], AGENT[1]],
        ["法定代表人姓名", "法定代表人身份证件号码"],
        [LEGAL_REP[0], LEGAL_REP[1]],
    ], [100.0, 800.0], title="公司登记（备案）申请书")
    f = extract_fields(catalog.material_types["application_form"], form)
    assert (f["legal_rep_name"].value, f["legal_rep_id_number"].value) == LEGAL_REP
    assert (f["agent_name"].value, f["agent_id_number"].value) == AGENT


def test_an_unknown_label_like_word_does_not_pass_for_a_misread_label(catalog: Catalog) -> None:
    # "身份证件类型" differs from the label "身份证号" in one character of four.
    form = page(0, ["法定代表人：张三", "身份证件类型：居民身份证",
                    f"身份证件号码：{LEGAL_REP[1]}"], title="公司登记（备案）申请书")
    f = extract_fields(catalog.material_types["application_form"], form)
    assert f["legal_rep_id_number"].value == LEGAL_REP[1]


# --- confidence ----------------------------------------------------------------------------------


def test_mismatch_on_a_low_confidence_read_needs_review_not_invalid(catalog: Catalog) -> None:
    # The power of attorney's agent read as someone else, below the threshold.
    poa = page(0, [f"委托人：{COMPANY}", ("受托人：李思", LOW_CONFIDENCE - 0.1),
                   f"身份证号码：{AGENT[1]}", "委托事项：代为办理公司设立登记"],
               title="授权委托书")
    r = run(catalog, packet(poa=poa))
    s = slot(r, "power_of_attorney")
    assert s.state == SlotState.PRESENT and s.needs_review
    assert any(f.code == "mismatch" and f.needs_review for f in s.findings)
    assert r.status == ReportStatus.NEEDS_REVIEW and s not in r.to_bring


def test_mismatch_on_a_confident_read_stays_invalid(catalog: Catalog) -> None:
    poa = page(0, [f"委托人：{COMPANY}", "受托人：王五", f"身份证号码：{AGENT[1]}",
                   "委托事项：代为办理公司设立登记"], title="授权委托书")
    r = run(catalog, packet(poa=poa))
    assert slot(r, "power_of_attorney").state == SlotState.INVALID
    assert r.status == ReportStatus.INCOMPLETE


# --- page numbers ------------------------------------------------------------------------------


def test_case_page_numbers_need_not_start_at_one_or_be_contiguous(catalog: Catalog) -> None:
    pages = packet()
    numbers = [3 + 2 * k for k in range(len(pages))]  # 3, 5, 7, … (failed pages between)
    r = run(catalog, pages, numbers)
    assert r.status == ReportStatus.COMPLETE, r.to_dict()
    seen = {p for d in r.documents for p in d.pages}
    assert seen == set(numbers)
    for d in r.documents:
        for ef in d.fields.values():
            assert ef.page in d.pages


def test_name_one_character_off_with_the_right_id_number_needs_review(catalog: Catalog) -> None:
    # 李四 read as 李泗 on the agent's card, confidently; the ID number agrees with the form.
    front = id_front(0, ("李泗", AGENT[1]))
    r = run(catalog, packet(agent_front=front))
    s = slot(r, "agent_id_card")
    assert s.state == SlotState.PRESENT and s.needs_review
    assert any(f.code == "mismatch" and f.evidence.get("near_miss") for f in s.findings)
    assert r.status == ReportStatus.NEEDS_REVIEW


def test_another_persons_name_is_still_a_mismatch(catalog: Catalog) -> None:
    front = id_front(0, ("王五六", AGENT[1]))
    r = run(catalog, packet(agent_front=front))
    assert slot(r, "agent_id_card").state == SlotState.INVALID
    assert r.status == ReportStatus.INCOMPLETE


def test_agent_id_number_on_the_form_requires_the_agents_papers(catalog: Catalog) -> None:
    # The agent's name could not be read, the agent's ID number could: the agent's slots
    # are still required, so a missing card is never waved through as not_required.
    form = page(0, ["申请事项：有限责任公司设立登记", f"拟设立公司名称：{COMPANY}",
                    f"法定代表人：{LEGAL_REP[0]}", f"法定代表人身份证号码：{LEGAL_REP[1]}",
                    f"代理人身份证号码：{AGENT[1]}", "联系电话：13800000000"],
                title="公司登记（备案）申请书")
    pages = [form, *articles(0), id_front(0, LEGAL_REP), id_back(0), *lease(0)]
    r = run(catalog, pages)
    assert slot(r, "agent_id_card").state == SlotState.MISSING
    assert slot(r, "power_of_attorney").state == SlotState.MISSING
    assert r.status == ReportStatus.INCOMPLETE


def test_name_one_character_off_but_another_id_number_is_another_person(
        catalog: Catalog) -> None:
    poa = page(0, [f"委托人：{COMPANY}", "受托人：李泗", "身份证号码：110101198001011232",
                   "委托事项：代为办理公司设立登记"], title="授权委托书")
    r = run(catalog, packet(poa=poa))
    assert slot(r, "power_of_attorney").state == SlotState.INVALID


def test_a_box_merged_over_two_table_columns_is_cut_at_the_column(catalog: Catalog) -> None:
    form = _grid([
        ["类别", "证件号码", "姓名"],
        ["委托代理人", "", ""],
    ], [100.0, 420.0, 950.0], title="公司登记（备案）申请书")
    merged = TextLine(AGENT[1] + AGENT[0], 0.95, (420.0, 270.0, 420.0 + 14.3 * 18 + 530.0
                                                  + 26.0 * 2, 300.0))
    form = replace(form, lines=(*form.lines, merged))
    f = extract_fields(catalog.material_types["application_form"], form)
    assert (f["agent_name"].value, f["agent_id_number"].value) == AGENT


def test_a_credit_code_is_not_taken_for_a_repaired_id_number(catalog: Catalog) -> None:
    # Read as an ID number with B repaired to 8, its check digit would agree by chance;
    # but nobody was born in the year 287.
    form = page(0, ["申请人名称：某某餐饮管理有限公司", "统一社会信用代码：91210102870104313B"],
                title="食品经营许可申请书")
    f = extract_fields(catalog.material_types["application_form"], form)
    assert f["applicant_id"].value == "91210102870104313B" and f["applicant_id"].valid


def test_agent_line_that_goes_on_with_sex_and_id_number(catalog: Catalog) -> None:
    poa = page(0, [f"委托人：{COMPANY}", f"受托人：{AGENT[0]}  性别：男",
                   f"身份证号码：{AGENT[1]}"], title="授权委托书")
    fields = extract_fields(catalog.material_types["power_of_attorney"], poa)
    assert fields["agent_name"].value == AGENT[0]
    assert fields["agent_id_number"].value == AGENT[1]


def _boxes(*cells: tuple[str, float, float, float, float], title: str) -> PageText:
    """A page of boxes placed by hand: (text, x0, y0, x1, y1)."""
    lines = [TextLine(title, 0.97, (400.0, 60.0, 1000.0, 110.0))]
    lines += [TextLine(t, 0.97, (x0, y0, x1, y1)) for t, x0, y0, x1, y1 in cells]
    return PageText(number=1, lines=tuple(lines))


OPERATOR = ("高璐", "330106198812286507")


def test_id_number_too_long_for_its_cell_beside_the_label_wraps_below(catalog: Catalog) -> None:
    # "经营者 | 高璐 | 公民身份号码 | 330106198812286" and the cell's last digits below,
    # once with a tick OCR read in front of them.
    for tail in ("507", "☒507", "√507"):
        form = _boxes(("个体工商户名称", 160, 423, 407, 458),
                      ("西湖区恒通面馆", 460, 423, 705, 457),
                      ("经营者", 160, 516, 265, 551), (OPERATOR[0], 460, 516, 530, 551),
                      ("公民身份号码", 790, 516, 1000, 553),
                      (OPERATOR[1][:15], 1350, 521, 1634, 547), (tail, 1350, 574, 1408, 600),
                      ("经营场所", 160, 662, 300, 697),
                      ("杭州市西湖区教工路356号", 460, 662, 900, 697),
                      title="个体工商户开业登记申请表")
        f = extract_fields(catalog.material_types["application_form"], form)
        assert (f["applicant_name"].value, f["applicant_id"].value) == OPERATOR, tail
        assert f["applicant_id"].valid


@pytest.mark.parametrize("label", ["身份证号", "证件号", "公民身份证号码"])
def test_short_generic_id_labels_belong_to_the_person_above(catalog: Catalog, label: str) -> None:
    form = page(0, ["个体工商户名称：雁塔区鲜丰早餐店", f"经营者：{OPERATOR[0]}",
                    f"{label}：{OPERATOR[1]}", "电话：14111132258"],
                title="个体工商户登记（备案）申请书")
    f = extract_fields(catalog.material_types["application_form"], form)
    assert f["applicant_id"].value == OPERATOR[1]


def test_a_ticked_corner_heading_still_heads_a_people_table(catalog: Catalog) -> None:
    rep = ("何宁", "330106198302212006")
    for corner in ("人员类别", "☒人员类别"):
        form = _boxes(("申请人名称", 160, 419, 322, 451), (COMPANY, 460, 419, 876, 452),
                      (corner, 160, 689, 288, 723), ("姓名", 460, 689, 524, 721),
                      ("身份証件号码", 790, 689, 982, 721), ("移动电话", 1350, 689, 1478, 721),
                      ("法定代表人", 160, 779, 320, 813), (rep[0], 460, 779, 524, 810),
                      (rep[1], 790, 784, 1103, 807), ("13520313048", 1350, 783, 1541, 808),
                      title="有限责任公司设立登记申请书")
        f = extract_fields(catalog.material_types["application_form"], form)
        assert (f["legal_rep_name"].value, f["legal_rep_id_number"].value) == rep, corner


def test_a_transliterated_name_read_with_a_space_for_its_dot(catalog: Catalog) -> None:
    form = page(0, [f"申请单位：{COMPANY}", "☑法定代表人 □负责人", "姓名：阿卜杜拉 帕提古丽",
                    f"身份证号：{LEGAL_REP[1]}"], title="公司登记（备案）申请书")
    f = extract_fields(catalog.material_types["application_form"], form)
    assert f["legal_rep_name"].value == "阿卜杜拉·帕提古丽"


def test_two_pairs_per_row_read_column_by_column(catalog: Catalog) -> None:
    # OCR returned the left column first: "证件号码" follows the agent's name in its output
    # but sits beside the legal representative's name on the page.
    rep, agent = ("上官国栋", "310104198211050068"), ("钟瑶", "370102198707166433")
    form = _boxes(("名称" + COMPANY, 133, 422, 706, 478),
                  ("法定代表人" + rep[0], 134, 504, 497, 558),
                  ("代理人姓名 " + agent[0], 133, 581, 431, 638),
                  ("联系方式 18770147944", 134, 660, 540, 716),
                  ("证件号码" + rep[1], 884, 492, 1422, 548),
                  ("代理人证件号码" + agent[1], 885, 571, 1527, 625),
                  title="公司设立登记申请书")
    f = extract_fields(catalog.material_types["application_form"], form)
    assert f["legal_rep_id_number"].value == rep[1]
    assert f["agent_id_number"].value == agent[1]


def test_two_sections_side_by_side_each_heads_its_column(catalog: Catalog) -> None:
    rep = ("古丽·努尔", "210102198303104127")
    form = _boxes(("申请人信息", 150, 379, 302, 409), ("法定代表人信息", 867, 379, 1079, 411),
                  ("名称：" + COMPANY, 150, 439, 622, 472),
                  ("姓名：" + rep[0], 867, 439, 1087, 469),
                  ("住所：沈阳市和平区中华路393号", 150, 493, 779, 523),
                  ("身份证号码：" + rep[1], 867, 493, 1335, 523),
                  title="有限责任公司设立登记申请表")
    f = extract_fields(catalog.material_types["application_form"], form)
    assert f["applicant_name"].value == COMPANY
    assert (f["legal_rep_name"].value, f["legal_rep_id_number"].value) == rep
    assert "applicant_id" not in f or f["applicant_id"].value != rep[1]


def test_a_label_stacked_vertically_heads_the_rows_beside_it(catalog: Catalog) -> None:
    rep = ("石鹏", "370102198509256411")
    cells = [("名称", 268, 385, 334, 417), (COMPANY, 668, 385, 988, 418),
             ("姓名", 268, 547, 332, 579), (rep[0], 668, 547, 732, 579),
             ("身份证件号码", 268, 629, 460, 661), (rep[1], 668, 633, 978, 658)]
    cells += [(ch, 184, y, 216, y + 32) for ch, y in zip("申请人", (390, 432, 475), strict=True)]
    cells += [(ch, 184, y, 216, y + 32)
              for ch, y in zip("法定代表人", (552, 594, 636, 678, 721), strict=True)]
    f = extract_fields(catalog.material_types["application_form"], _boxes(*cells, title="申请表"))
    assert (f["legal_rep_name"].value, f["legal_rep_id_number"].value) == rep


def test_values_over_or_before_their_bracketed_captions(catalog: Catalog) -> None:
    above = _boxes((COMPANY, 276, 410, 660, 442), ("（申请人名称）", 384, 471, 552, 495),
                   (LEGAL_REP[1], 308, 552, 628, 576),
                   ("（法定代表人身份证件号码）", 312, 609, 624, 633),
                   title="公司登记（备案）申请书")
    before = _boxes((COMPANY, 170, 410, 586, 442), ("（申请人名称）", 656, 411, 824, 435),
                    (LEGAL_REP[1], 170, 702, 490, 726),
                    ("（法定代表人身份证件号码）", 560, 699, 872, 723),
                    title="食品经营许可申请书")
    for form in (above, before):
        f = extract_fields(catalog.material_types["application_form"], form)
        assert (f["applicant_name"].value, f["legal_rep_id_number"].value) == (
            COMPANY, LEGAL_REP[1])


def test_the_operators_name_not_the_shops_is_the_applicant(catalog: Catalog) -> None:
    form = page(0, ["名称：海淀区金穗烘焙坊", "经营场所：北京市海淀区苏州街285号",
                    "经营者姓名：孔晓燕", "身份证件号码：110108198301161843",
                    "本人承诺：所提交的申请材料真实、合法、有效。",
                    "申请人声明：以上信息真实、准确。"],
                title="个体工商户登记（备案）申请书")
    f = extract_fields(catalog.material_types["application_form"], form)
    assert f["applicant_name"].value == "孔晓燕"


def test_a_table_under_a_persons_heading_without_row_labels(catalog: Catalog) -> None:
    form = _boxes(("名称", 170, 467, 290, 497), ("朝阳区青禾便利店", 500, 467, 740, 497),
                  ("经营者", 150, 653, 240, 683),
                  ("姓名", 170, 733, 230, 763), ("身份证件号码", 630, 733, 810, 763),
                  ("黄家豪", 170, 821, 260, 851), ("110105200102102171", 630, 825, 930, 847),
                  title="个体工商户设立登记申请表")
    f = extract_fields(catalog.material_types["application_form"], form)
    assert (f["applicant_name"].value, f["applicant_id"].value) == ("黄家豪",
                                                                     "110105200102102171")


def test_a_row_about_someone_the_form_type_does_not_know_is_not_read(catalog: Catalog) -> None:
    # The food-safety manager's row must not stand in for the legal representative's
    # number, which was written with a wrong check digit.
    form = _boxes(("二、法定代表人（负责人）、食品安全管理人员信息", 150, 209, 840, 239),
                  ("人员类别", 130, 289, 250, 319), ("姓名", 440, 289, 500, 319),
                  ("身份证件号码", 910, 289, 1090, 319),
                  ("法定代表人（负责人）", 130, 377, 430, 407), ("欧阳晓燕", 440, 377, 580, 407),
                  ("330106198402287014", 910, 381, 1210, 403),
                  ("食品安全管理人员", 130, 465, 370, 495), ("欧阳晓燕", 440, 465, 560, 495),
                  ("330106198402287013", 910, 469, 1210, 491), title="食品经营许可申请书")
    f = extract_fields(catalog.material_types["application_form"], form)
    assert f["legal_rep_id_number"].value == "330106198402287014"
    assert not f["legal_rep_id_number"].valid


def test_a_forms_later_pages_stay_with_it_by_page_number_and_running_header(
        catalog: Catalog) -> None:
    first = page(0, ["（2025版）", f"名称：{COMPANY}", f"法定代表人姓名：{LEGAL_REP[0]}", "- 1 -"],
                 title="公司登记（备案）申请书")
    # Page 2 reads much like an ID card: a person's name, ID type and number.
    second = page(0, ["（2025版）", f"姓名：{LEGAL_REP[0]}", "身份证件类型：",
                      "☑居民身份证 □其他", f"身份证件号码：{LEGAL_REP[1]}", "- 2 -"],
                  title="法定代表人信息")
    a = analyse_pages([replace(first, number=1), replace(second, number=2)], catalog)
    assert [(d.material_type, d.pages) for d in a.documents] == [("application_form", (1, 2))]
    assert a.documents[0].fields["legal_rep_id_number"].value == LEGAL_REP[1]


def test_an_identifier_read_as_two_boxes_on_its_row(catalog: Catalog) -> None:
    # Printed in 18 boxes, read by OCR as "110108" and "197405084286".
    form = _boxes(("法定代表人", 179, 479, 339, 513), ("赵芳", 519, 479, 583, 511),
                  ("证件号码", 879, 569, 1007, 601), ("110108", 1139, 573, 1240, 598),
                  ("197405084286", 1244, 573, 1449, 598), title="食品经营许可申请书")
    f = extract_fields(catalog.material_types["application_form"], form)
    assert f["legal_rep_id_number"].value == "110108197405084286"
    assert f["legal_rep_id_number"].valid



def test_shuffled_printed_pages_in_every_order_leave_no_empty_document(
        catalog: Catalog) -> None:
    # A three-page form printing "第n页 共3页", a power of attorney and an ID card in every
    # order: print may move pages between documents, but every document keeps a page and
    # every form page ends up in the form.
    form = [page(0, [f"名称：{COMPANY}", "第1页 共3页"], title="公司登记（备案）申请书"),
            page(0, [f"法定代表人：{LEGAL_REP[0]}", f"身份证件号码：{LEGAL_REP[1]}",
                     "第2页 共3页"]),
            page(0, [f"委托代理人：{AGENT[0]}", f"身份证件号码：{AGENT[1]}", "第3页 共3页"])]
    others = [power_of_attorney(0), id_front(0, LEGAL_REP)]
    for order in itertools.permutations(range(5)):
        all_pages = [*form, *others]
        pages = [replace(all_pages[k], number=n) for n, k in enumerate(order, 1)]
        a = analyse_pages(pages, catalog)
        assert all(d.pages for d in a.documents), order
        form_pages = {n for n, k in enumerate(order, 1) if k < 3}
        forms = [d for d in a.documents if d.material_type == "application_form"]
        assert forms and form_pages <= {p for d in forms for p in d.pages}, order
