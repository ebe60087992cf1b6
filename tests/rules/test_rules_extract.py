"""Field extraction from OCR lines: merged labels, separate value boxes, values on the next
line, generic labels resolved by context, normalisation, and provenance."""

from __future__ import annotations

from collections.abc import Mapping

import pytest
from rules_pagekit import page
from rules_samples import (
    AGENT,
    COMPANY,
    CREDIT_CODE,
    LEGAL_REP,
    business_license,
    commitment,
    company_form,
    food_form,
    id_back,
    id_front,
    lease,
    power_of_attorney,
    property_cert,
)

from rules.analysis import analyse_pages
from rules.catalog import Catalog, load_catalog
from rules.extract import extract_fields
from rules.types import ExtractedField, PageText, TextLine


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


def values(fields: Mapping[str, ExtractedField]) -> dict[str, str | None]:
    return {k: v.value for k, v in fields.items()}


def test_id_front_with_merged_labels_and_misread_digit(catalog: Catalog) -> None:
    pg = page(7, ["姓名张三性别男", "民族汉出生1985年6月12日", "住址福建省福州市鼓楼区五四路88号",
                  ("公民身份号码3501O2198506121235", 0.91)])
    f = extract_fields(catalog.material_types["id_card"], pg, side="front")
    assert values(f) == {
        "name": "张三", "sex": "男", "ethnicity": "汉", "birth_date": "1985-06-12",
        "address": "福建省福州市鼓楼区五四路88号", "id_number": "350102198506121235",
    }
    idf = f["id_number"]
    assert idf.valid is True and idf.repaired
    assert idf.raw == "3501O2198506121235"
    # Provenance: the page, the box of the line it came from, and its OCR confidence.
    assert idf.page == 7
    assert idf.box == pg.lines[3].box
    assert idf.confidence == pytest.approx(0.91)


def test_id_back_range_and_open_end(catalog: Catalog) -> None:
    mt = catalog.material_types["id_card"]
    f = extract_fields(mt, id_back(1), side="back")
    assert f["issuing_authority"].value == "福州市公安局鼓楼分局"
    assert (f["valid_from"].value, f["valid_until"].value) == ("2015-03-01", "2035-03-01")
    f = extract_fields(mt, id_back(1, "2010.01.01-长期"), side="back")
    assert f["valid_until"].value is None and f["valid_until"].open_ended
    assert f["valid_until"].raw.endswith("长期")
    # Side-specific fields are not read from the wrong side.
    assert "name" not in f


def test_values_in_separate_boxes_and_on_the_next_line(catalog: Catalog) -> None:
    pg = page(1, [
        ["姓名", "张三"],
        ["性别", "男", "民族", "汉"],
        "出生",
        "1985年6月12日",
        ["公民身份号码", ("350102198506121235", 0.88)],
    ])
    f = extract_fields(catalog.material_types["id_card"], pg, side="front")
    assert values(f)["name"] == "张三"
    assert values(f)["sex"] == "男" and values(f)["ethnicity"] == "汉"
    assert values(f)["birth_date"] == "1985-06-12"
    assert f["id_number"].value == "350102198506121235"
    assert f["id_number"].confidence == pytest.approx(0.88)
    assert f["id_number"].box == pg.lines[-1].box  # the value's own box


def test_id_number_without_its_label_is_found_by_shape(catalog: Catalog) -> None:
    pg = page(1, ["姓名张三", "性别男民族汉", "出生1985年6月12日", "住址福州市鼓楼区",
                  "350102198506121235"])
    f = extract_fields(catalog.material_types["id_card"], pg, side="front")
    assert f["id_number"].value == "350102198506121235"


def test_bad_check_digit_is_kept_with_its_problem(catalog: Catalog) -> None:
    pg = id_front(1, LEGAL_REP, id_text="350102198506121236")
    f = extract_fields(catalog.material_types["id_card"], pg, side="front")
    assert f["id_number"].valid is False
    assert f["id_number"].problem_code == "check_digit"


def test_company_form_with_context_labels(catalog: Catalog) -> None:
    f = extract_fields(catalog.material_types["application_form"], company_form(1))
    assert values(f) == {
        "item_name": "有限责任公司设立登记",
        "applicant_name": COMPANY,
        "legal_rep_name": LEGAL_REP[0],
        "legal_rep_id_number": LEGAL_REP[1],
        "agent_name": AGENT[0],
        "agent_id_number": AGENT[1],
        "phone": "0591-88886666",
        "address": "福州市鼓楼区五四路88号",
        "date": "2024-03-01",
    }


def test_form_with_section_headings_and_no_agent(catalog: Catalog) -> None:
    pg = page(1, [
        "申请人名称：鼓楼区芳芳小吃店",
        "法定代表人信息",
        "姓名：张三",
        "证件号码：350102198506121235",
        "委托代理人：无",
        "联系电话：13900000000",
    ], title="登记申请表")
    f = extract_fields(catalog.material_types["application_form"], pg)
    assert f["legal_rep_name"].value == "张三"
    assert f["legal_rep_id_number"].value == "350102198506121235"
    assert f["agent_name"].value is None and f["agent_name"].raw == "无"
    assert "agent_id_number" not in f


def test_food_form_applicant_credit_code(catalog: Catalog) -> None:
    f = extract_fields(catalog.material_types["application_form"], food_form(1))
    assert f["applicant_id"].value == CREDIT_CODE and f["applicant_id"].valid
    assert f["legal_rep_id_number"].value == LEGAL_REP[1]


def test_business_licence_fields(catalog: Catalog) -> None:
    f = extract_fields(catalog.material_types["business_license"], business_license(1))
    assert f["credit_code"].value == CREDIT_CODE and f["credit_code"].valid
    assert f["name"].value == COMPANY
    assert f["type"].value == "有限责任公司(自然人投资或控股)"
    assert f["legal_rep"].value == LEGAL_REP[0]
    assert f["established_date"].value == "2020-01-01"
    assert f["term_end"].value is None and f["term_end"].open_ended
    assert f["address"].value == "福州市鼓楼区五四路88号"
    f = extract_fields(catalog.material_types["business_license"],
                       business_license(1, term="2020年01月01日至2040年12月31日"))
    assert f["term_end"].value == "2040-12-31" and not f["term_end"].open_ended


def test_individual_licence_uses_operator_label(catalog: Catalog) -> None:
    pg = page(1, ["统一社会信用代码" + CREDIT_CODE, "名称鼓楼区芳芳小吃店", "类型个体工商户",
                  "经营者王芳", "组成形式个人经营", "经营场所福州市鼓楼区杨桥路12号",
                  "注册日期2021年5月6日"], title="营业执照")
    f = extract_fields(catalog.material_types["business_license"], pg)
    assert f["legal_rep"].value == "王芳"
    assert f["address"].value == "福州市鼓楼区杨桥路12号"
    assert f["established_date"].value == "2021-05-06"


def test_bracketed_word_after_a_label_annotates_the_label(catalog: Catalog) -> None:
    # Individual-business forms print "申请人（经营者）" and contracts "出租方（甲方）：";
    # the bracketed word is part of the label, never the value.
    pg = page(1, [["个体工商户名称", "武侯区张记水果店"], ["申请人（经营者）", "张萍"],
                  "申请人（经营者）张萍", "身份证号码510107199011151500"],
              title="个体工商户设立登记申请书")
    f = extract_fields(catalog.material_types["application_form"], pg)
    assert f["applicant_name"].value == "张萍"
    assert f["business_name"].value == "武侯区张记水果店"


def test_property_certificate_fields(catalog: Catalog) -> None:
    f = extract_fields(catalog.material_types["property_certificate"], property_cert(1))
    assert f["certificate_number"].value == "闽(2021)福州市不动产权第0012345号"
    assert f["holder"].value == COMPANY
    assert f["location"].value == "福州市鼓楼区五四路88号"
    assert f["area"].value == "120.5"
    assert f["use"].value == "商业"


def test_lease_fields_over_pages(catalog: Catalog) -> None:
    a = analyse_pages(lease(1), catalog)
    (doc,) = a.documents
    assert doc.field_value("lessor") == "陈七"
    assert doc.field_value("lessee") == COMPANY
    assert doc.field_value("address") == "福州市鼓楼区五四路88号"
    assert (doc.field_value("term_start"), doc.field_value("term_end")) == (
        "2024-01-01", "2026-12-31")
    assert doc.fields["term_end"].page == 1


def test_power_of_attorney_and_commitment(catalog: Catalog) -> None:
    f = extract_fields(catalog.material_types["power_of_attorney"], power_of_attorney(1))
    assert values(f) == {"principal": COMPANY, "agent_name": AGENT[0],
                         "agent_id_number": AGENT[1], "matter": "代为办理公司设立登记",
                         "date": "2024-02-28"}
    f = extract_fields(catalog.material_types["commitment_letter"], commitment(1))
    assert f["replaces"].value == "住所使用证明"
    assert f["signer_name"].value == LEGAL_REP[0]
    assert f["signer_id_number"].value == LEGAL_REP[1]
    assert f["date"].value == "2024-03-01"


def test_commitment_replaced_material_found_in_the_text(catalog: Catalog) -> None:
    pg = page(1, ["承诺人（签字）：张三", "本人承诺以本承诺书替代提交《食品安全管理制度》。"],
              title="告知承诺书")
    f = extract_fields(catalog.material_types["commitment_letter"], pg)
    assert f["replaces"].value == "食品安全管理制度"
    assert f["signer_name"].value == "张三"


def test_articles_company_name_from_title(catalog: Catalog) -> None:
    pg = page(1, ["第一章总则", "第一条本公司依法设立"], title=f"{COMPANY}章程")
    f = extract_fields(catalog.material_types["articles_of_association"], pg)
    assert f["company_name"].value == COMPANY


def test_full_width_digits_and_spaces(catalog: Catalog) -> None:
    pg = PageText(1, (
        TextLine("姓 名  张 三", 0.95, (100, 100, 300, 130)),
        TextLine("公民身份号码 ３５０１０２１９８５０６１２１２３５", 0.95, (100, 300, 700, 330)),
    ))
    f = extract_fields(catalog.material_types["id_card"], pg, side="front")
    assert f["name"].value == "张三"
    assert f["id_number"].value == "350102198506121235"


def test_id_front_from_sample(catalog: Catalog) -> None:
    f = extract_fields(catalog.material_types["id_card"], id_front(1, AGENT), side="front")
    assert f["address"].value == "福建省福州市鼓楼区五四路88号"  # wrapped line joined
    assert f["birth_date"].value == "1990-03-07"


def test_date_printed_in_separate_boxes(catalog: Catalog) -> None:
    pg = page(1, [["姓名", "张三"], ["出生", "1985", "年", "6", "月", "12", "日"],
                  ["公民身份号码", "350102198506121235"]])
    f = extract_fields(catalog.material_types["id_card"], pg, side="front")
    assert f["birth_date"].value == "1985-06-12"
    assert f["birth_date"].box is not None and f["birth_date"].box[2] > pg.lines[3].box[2]


def test_licence_with_several_pairs_on_one_line(catalog: Catalog) -> None:
    pg = page(1, ["统一社会信用代码" + CREDIT_CODE + "名称" + COMPANY + "类型有限责任公司",
                  "成立日期2020年01月01日营业期限2020年01月01日至2040年12月31日"],
              title="营业执照")
    f = extract_fields(catalog.material_types["business_license"], pg)
    assert f["credit_code"].value == CREDIT_CODE
    assert f["name"].value == COMPANY and f["type"].value == "有限责任公司"
    assert f["established_date"].value == "2020-01-01"
    assert f["term_end"].value == "2040-12-31"


def test_short_label_inside_an_address_does_not_split_it(catalog: Catalog) -> None:
    pg = page(1, ["姓名张三", "性别男民族汉", "住址武汉市武昌区民族大道88号",
                  "公民身份号码350102198506121235"])
    f = extract_fields(catalog.material_types["id_card"], pg, side="front")
    assert f["address"].value == "武汉市武昌区民族大道88号"
    assert f["ethnicity"].value == "汉"


@pytest.mark.parametrize(("lines", "title", "expected"), [
    (["现就经营场所使用证明作出如下承诺："], "告知承诺书", "经营场所使用证明"),
    (["本人承诺所述属实"], "住所使用证明告知承诺书", "住所使用证明"),
    (["本人承诺免于提交食品安全管理制度，如有不实愿承担责任"], "承诺书", "食品安全管理制度"),
])
def test_what_a_commitment_replaces_without_a_label(catalog: Catalog, lines: list[str],
                                                    title: str, expected: str) -> None:
    pg = page(1, ["承诺人：张三", *lines], title=title)
    f = extract_fields(catalog.material_types["commitment_letter"], pg)
    assert f["replaces"].value == expected


def test_analysis_is_serialisable(catalog: Catalog) -> None:
    import json

    a = analyse_pages([company_form(1), id_front(2, LEGAL_REP), id_back(3)], catalog)
    data = a.to_dict()
    text = json.dumps(data, ensure_ascii=False)
    assert '"type": "id_card"' in text
    assert data["documents"][1]["sides"] == ["front", "back"]
