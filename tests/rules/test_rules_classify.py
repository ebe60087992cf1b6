"""Classification of every material type (and of pages that are none), ID card sides, and
grouping of pages into documents."""

from __future__ import annotations

import pytest
from rules_pagekit import blank, page
from rules_samples import (
    AGENT,
    LEGAL_REP,
    OPERATOR,
    articles,
    business_license,
    commitment,
    company_form,
    food_form,
    food_rules,
    id_back,
    id_both,
    id_front,
    individual_form,
    layout,
    lease,
    noise,
    power_of_attorney,
    property_cert,
)

from rules.analysis import analyse_pages
from rules.catalog import Catalog, load_catalog
from rules.classify import classify_page
from rules.types import PageText


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


CASES: list[tuple[str, PageText, str]] = [
    ("company form", company_form(1), "application_form"),
    ("food form", food_form(1), "application_form"),
    ("individual form", individual_form(1), "application_form"),
    ("id front", id_front(1, LEGAL_REP), "id_card"),
    ("id back", id_back(1), "id_card"),
    ("business licence", business_license(1), "business_license"),
    ("property certificate", property_cert(1), "property_certificate"),
    ("lease first page", lease(1)[0], "lease_contract"),
    ("power of attorney", power_of_attorney(1), "power_of_attorney"),
    ("articles", articles(1)[0], "articles_of_association"),
    ("food safety rules", food_rules(1), "food_safety_rules"),
    ("layout", layout(1), "premises_layout"),
    ("commitment letter", commitment(1), "commitment_letter"),
]


@pytest.mark.parametrize(("label", "pg", "expected"), CASES, ids=[c[0] for c in CASES])
def test_each_material_type_is_recognised(catalog: Catalog, label: str, pg: PageText,
                                          expected: str) -> None:
    c = classify_page(pg, catalog)
    assert c.material_type == expected, c.reason
    assert not c.needs_review
    assert c.confidence >= 0.6


def test_commitment_letter_naming_another_material_in_its_title(catalog: Catalog) -> None:
    c = classify_page(commitment(1, "食品安全管理制度"), catalog)
    assert c.material_type == "commitment_letter"
    c = classify_page(commitment(1, "经营场所使用证明", title="告知承诺书"), catalog)
    assert c.material_type == "commitment_letter"


def test_application_form_mentioning_licence_and_id_is_still_a_form(catalog: Catalog) -> None:
    pg = page(1, [
        "申请人：福州星海科技有限公司",
        "统一社会信用代码：91350102MA31ABCD7T",
        "营业执照副本一份，居民身份证复印件一份",
        "法定代表人：张三",
        "身份证号码：350102198506121235",
        "注册资本100万元成立日期2020年01月01日",
    ], title="食品经营许可申请表")
    assert classify_page(pg, catalog).material_type == "application_form"


def test_power_of_attorney_with_id_numbers_is_not_an_id_card(catalog: Catalog) -> None:
    pg = page(1, ["委托人张三", "身份证号码350102198506121235", "受托人李四",
                  "身份证号码350102199003078516", "特此委托"], title="委托书")
    assert classify_page(pg, catalog).material_type == "power_of_attorney"


def test_misread_title_character_is_tolerated(catalog: Catalog) -> None:
    pg = power_of_attorney(1)
    misread = page(1, [ln.text for ln in pg.lines[1:]], title="授权委讬书")
    assert classify_page(misread, catalog).material_type == "power_of_attorney"


def test_unknown_and_blank_pages(catalog: Catalog) -> None:
    c = classify_page(noise(1), catalog)
    assert c.material_type == "unknown" and c.needs_review
    assert classify_page(blank(2), catalog).material_type == "blank"
    a = analyse_pages([blank(1), noise(2)], catalog)
    assert a.documents == ()


@pytest.mark.parametrize(("pg", "side"), [
    (id_front(1, LEGAL_REP), "front"),
    (id_back(1), "back"),
    (id_both(1, OPERATOR), "both"),
])
def test_id_card_sides(catalog: Catalog, pg: PageText, side: str) -> None:
    c = classify_page(pg, catalog)
    assert c.material_type == "id_card"
    assert c.side == side


def test_merged_front_line_with_misread_id_is_still_a_front(catalog: Catalog) -> None:
    pg = page(1, ["姓名张三性别男民族汉", "出生1985年6月12日", "住址福建省福州市鼓楼区五四路88号",
                  "公民身份号码3501O2198506121235"])
    c = classify_page(pg, catalog)
    assert (c.material_type, c.side) == ("id_card", "front")


# --- grouping ----------------------------------------------------------------------------------


def test_multi_page_lease_is_one_document(catalog: Catalog) -> None:
    a = analyse_pages([*lease(1), property_cert(4)], catalog)
    types = [(d.material_type, d.pages) for d in a.documents]
    assert types == [("lease_contract", (1, 2, 3)), ("property_certificate", (4,))]
    assert not a.documents[0].needs_review


def test_articles_over_two_pages_and_blank_pages_between(catalog: Catalog) -> None:
    p1, p2 = articles(1)
    p2 = PageText(3, p2.lines)
    a = analyse_pages([p1, blank(2), p2], catalog)
    assert [(d.material_type, d.pages) for d in a.documents] == [
        ("articles_of_association", (1, 3))]
    assert [c.material_type for c in a.classifications] == [
        "articles_of_association", "blank", "articles_of_association"]


def test_two_id_cards_make_two_documents_paired_by_adjacency(catalog: Catalog) -> None:
    pages = [id_front(1, LEGAL_REP), id_back(2), id_front(3, AGENT), id_back(4, "2010.01.01-长期")]
    a = analyse_pages(pages, catalog)
    docs = [d for d in a.documents if d.material_type == "id_card"]
    assert [d.pages for d in docs] == [(1, 2), (3, 4)]
    assert [d.field_value("id_number") for d in docs] == [LEGAL_REP[1], AGENT[1]]
    assert docs[0].sides == ("front", "back")
    assert docs[1].fields["valid_until"].open_ended


def test_back_before_front_and_a_both_page(catalog: Catalog) -> None:
    a = analyse_pages([id_back(1), id_front(2, LEGAL_REP), id_both(3, OPERATOR)], catalog)
    assert [d.pages for d in a.documents] == [(1, 2), (3,)]
    assert a.documents[1].sides == ("front", "back")


def test_shuffled_pages_are_reassembled(catalog: Catalog) -> None:
    l1, l2, l3 = lease(1)
    pages = [
        l1,
        id_front(2, LEGAL_REP),
        PageText(3, l2.lines),  # the lease's middle page arrives after the ID front
        PageText(4, id_back(4).lines),
        PageText(5, l3.lines),
    ]
    a = analyse_pages(pages, catalog)
    found = {d.material_type: d.pages for d in a.documents}
    assert found["id_card"] == (2, 4)
    assert 1 in found["lease_contract"] and 3 in found["lease_contract"]


def test_untitled_continuation_page_joins_previous_document(catalog: Catalog) -> None:
    cont = page(2, ["乙方应按时缴纳水电费", "本合同一式两份，甲乙双方各执一份"])
    a = analyse_pages([lease(1)[0], cont], catalog)
    assert [(d.material_type, d.pages) for d in a.documents] == [("lease_contract", (1, 2))]


def test_a_titled_unknown_page_is_not_swallowed(catalog: Catalog) -> None:
    a = analyse_pages([*lease(1), noise(4)], catalog)
    assert a.documents[0].pages == (1, 2, 3)
    assert a.classifications[-1].material_type == "unknown"
