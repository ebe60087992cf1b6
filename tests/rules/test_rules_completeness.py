"""The completeness engine on whole cases, from OCR pages to the report."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import replace
from datetime import date

import pytest
from rules_samples import (
    AGENT,
    CREDIT_CODE,
    LEGAL_REP,
    OPERATOR,
    STRANGER,
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
from rules.completeness import LOW_CONFIDENCE, check_completeness
from rules.types import (
    CompletenessReport,
    Document,
    PageText,
    ReportStatus,
    ReusableCertificate,
    SlotResult,
    SlotState,
)

DAY = date(2024, 3, 5)


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


def numbered(pages: Sequence[PageText]) -> list[PageText]:
    return [replace(p, number=i) for i, p in enumerate(pages, start=1)]


def run(catalog: Catalog, item: str, pages: Sequence[PageText], day: date = DAY,
        **kw: object) -> CompletenessReport:
    a = analyse_pages(numbered(pages), catalog)
    return check_completeness(catalog.item(item), a.documents, day, catalog=catalog,
                              classifications=a.classifications, **kw)  # type: ignore[arg-type]


def states(r: CompletenessReport) -> dict[str, str]:
    return {s.code: s.state.value for s in r.slots}


def slot(r: CompletenessReport, code: str) -> SlotResult:
    return next(s for s in r.slots if s.code == code)


def codes(r: CompletenessReport, code: str) -> list[str]:
    return [f.code for f in slot(r, code).findings]


def company_pages(*, agent: bool = True, legal_rep_back: str = "2015.03.01-2035.03.01",
                  premises: Sequence[PageText] | None = None,
                  legal_rep_front: PageText | None = None) -> list[PageText]:
    pages = [company_form(0, agent=agent), *articles(0),
             legal_rep_front or id_front(0, LEGAL_REP), id_back(0, legal_rep_back),
             *(premises if premises is not None else lease(0))]
    if agent:
        pages += [power_of_attorney(0), id_front(0, AGENT), id_back(0, "2010.01.01-长期")]
    return pages


# --- company establishment -------------------------------------------------------------------


def test_company_complete_with_agent(catalog: Catalog) -> None:
    r = run(catalog, "company-establishment", company_pages())
    assert r.status == ReportStatus.COMPLETE, r.to_dict()
    assert set(states(r).values()) == {"present"}
    legal = slot(r, "legal_rep_id_card")
    (doc_id,) = legal.documents
    doc = next(d for d in r.documents if d.id == doc_id)
    assert doc.field_value("id_number") == LEGAL_REP[1]  # the legal rep's card, not the agent's
    agent_doc = next(d for d in r.documents if d.id == slot(r, "agent_id_card").documents[0])
    assert agent_doc.field_value("id_number") == AGENT[1]
    assert r.to_bring == ()
    json.dumps(r.to_dict(), ensure_ascii=False)


def test_agent_slots_not_required_without_agent(catalog: Catalog) -> None:
    r = run(catalog, "company-establishment", company_pages(agent=False))
    assert r.status == ReportStatus.COMPLETE
    for code in ("power_of_attorney", "agent_id_card"):
        s = slot(r, code)
        assert s.state == SlotState.NOT_REQUIRED and not s.required
        assert s.findings[0].code == "not_required"
        # Neither the agent's name nor the agent's ID number is on the form.
        assert s.findings[0].message == "申请书未填写委托代理人，且申请书未填写代理人身份证号码"


def test_agent_named_but_his_papers_missing(catalog: Catalog) -> None:
    pages = company_pages()[:-3]  # drop power of attorney and the agent's ID card
    r = run(catalog, "company-establishment", pages)
    assert states(r)["power_of_attorney"] == "missing"
    assert states(r)["agent_id_card"] == "missing"
    assert r.status == ReportStatus.INCOMPLETE
    assert {s.code for s in r.to_bring} == {"power_of_attorney", "agent_id_card"}


def test_expired_id_card_depends_on_the_acceptance_date(catalog: Catalog) -> None:
    pages = company_pages(agent=False, legal_rep_back="2004.03.01-2024.03.01")
    r = run(catalog, "company-establishment", pages, day=date(2024, 3, 5))
    s = slot(r, "legal_rep_id_card")
    assert s.state == SlotState.INVALID
    assert "expired" in codes(r, "legal_rep_id_card")
    assert r.status == ReportStatus.INCOMPLETE
    # The same card on the day it still was valid, and on its last day.
    for day in (date(2024, 2, 1), date(2024, 3, 1)):
        r = run(catalog, "company-establishment", pages, day=day)
        assert states(r)["legal_rep_id_card"] == "present"
        assert r.status == ReportStatus.COMPLETE


def test_id_card_of_someone_else_is_a_mismatch(catalog: Catalog) -> None:
    pages = company_pages(agent=False, legal_rep_front=id_front(0, STRANGER))
    r = run(catalog, "company-establishment", pages)
    s = slot(r, "legal_rep_id_card")
    assert s.state == SlotState.INVALID
    mismatch = [f for f in s.findings if f.code == "mismatch"]
    assert mismatch and not mismatch[0].needs_review
    assert STRANGER[1] in mismatch[0].message and LEGAL_REP[1] in mismatch[0].message
    assert r.status == ReportStatus.INCOMPLETE


def test_bad_check_digit_on_the_id_card(catalog: Catalog) -> None:
    bad = LEGAL_REP[1][:-1] + "6"
    pages = company_pages(agent=False, legal_rep_front=id_front(0, LEGAL_REP, id_text=bad))
    r = run(catalog, "company-establishment", pages)
    assert states(r)["legal_rep_id_card"] == "invalid"
    assert "id_number.check_digit" in codes(r, "legal_rep_id_card")
    assert r.status == ReportStatus.INCOMPLETE


def test_misread_letter_in_id_is_repaired_not_rejected(catalog: Catalog) -> None:
    misread = LEGAL_REP[1].replace("0", "O", 1)
    pages = company_pages(agent=False, legal_rep_front=id_front(0, LEGAL_REP, id_text=misread))
    r = run(catalog, "company-establishment", pages)
    assert states(r)["legal_rep_id_card"] == "present"
    assert r.status == ReportStatus.COMPLETE


def test_id_card_missing_its_back(catalog: Catalog) -> None:
    pages = [p for p in company_pages(agent=False) if "签发机关" not in p.text]
    r = run(catalog, "company-establishment", pages)
    assert states(r)["legal_rep_id_card"] == "invalid"
    assert "missing_side" in codes(r, "legal_rep_id_card")
    assert r.status == ReportStatus.INCOMPLETE


def test_commitment_letter_replaces_premises_proof(catalog: Catalog) -> None:
    pages = company_pages(agent=False, premises=[commitment(0, "住所使用证明")])
    r = run(catalog, "company-establishment", pages)
    s = slot(r, "premises_proof")
    assert s.state == SlotState.COMMITTED
    assert s.findings[0].code == "committed"
    assert r.status == ReportStatus.COMPLETE


def test_commitment_letter_with_unreadable_material_needs_review(catalog: Catalog) -> None:
    from rules_pagekit import page
    letter = page(0, ["承诺人：张三", "本人郑重承诺所述内容真实，如有虚假承诺愿承担法律责任。",
                      "日期：2024年3月1日"], title="告知承诺书")
    r = run(catalog, "company-establishment", company_pages(agent=False, premises=[letter]))
    s = slot(r, "premises_proof")
    assert s.state == SlotState.COMMITTED and s.needs_review
    assert r.status == ReportStatus.NEEDS_REVIEW


def test_lease_ended_before_acceptance_is_invalid(catalog: Catalog) -> None:
    pages = company_pages(agent=False,
                          premises=lease(0, term="自2021年1月1日起至2023年12月31日止"))
    r = run(catalog, "company-establishment", pages)
    assert states(r)["premises_proof"] == "invalid"
    assert "ended" in codes(r, "premises_proof")
    r = run(catalog, "company-establishment", pages, day=date(2023, 6, 1))
    assert states(r)["premises_proof"] == "present"


def test_property_certificate_satisfies_premises_proof(catalog: Catalog) -> None:
    r = run(catalog, "company-establishment", company_pages(agent=False,
                                                            premises=[property_cert(0)]))
    assert states(r)["premises_proof"] == "present"
    assert r.status == ReportStatus.COMPLETE


def test_never_complete_when_a_required_slot_is_missing(catalog: Catalog) -> None:
    pages = [p for p in company_pages(agent=False) if "章程" not in p.text and "股东" not in p.text]
    r = run(catalog, "company-establishment", pages)
    assert states(r)["articles_of_association"] == "missing"
    assert r.status == ReportStatus.INCOMPLETE
    assert [s.code for s in r.to_bring] == ["articles_of_association"]
    # Without any application form nothing can be complete either.
    r = run(catalog, "company-establishment", company_pages(agent=False)[1:])
    assert states(r)["application_form"] == "missing"
    assert r.status == ReportStatus.INCOMPLETE
    assert slot(r, "agent_id_card").findings[0].code == "condition_unknown"


# --- reuse from the certificate store --------------------------------------------------------


def cert(status: str = "valid", until: date | None = date(2035, 3, 1),
         holder: str = LEGAL_REP[1]) -> ReusableCertificate:
    return ReusableCertificate(id="c-42", material_type="id_card", holder_id=holder,
                               holder_name=LEGAL_REP[0], number=holder, valid_until=until,
                               status=status)


def without_legal_rep_card() -> list[PageText]:
    return [p for p in company_pages(agent=False)
            if LEGAL_REP[1] not in p.text or "申请书" in p.text
            if "签发机关" not in p.text]


def test_reuse_from_the_store_when_paper_is_absent(catalog: Catalog) -> None:
    r = run(catalog, "company-establishment", without_legal_rep_card(), certificates=[cert()])
    s = slot(r, "legal_rep_id_card")
    assert s.state == SlotState.REUSED and s.certificate == "c-42"
    assert r.status == ReportStatus.COMPLETE


@pytest.mark.parametrize("bad", [
    cert(status="revoked"),
    cert(until=date(2024, 1, 1)),
    cert(status="expired"),
    cert(holder=STRANGER[1]),
])
def test_unusable_certificates_are_not_reused(catalog: Catalog, bad: ReusableCertificate) -> None:
    r = run(catalog, "company-establishment", without_legal_rep_card(), certificates=[bad])
    assert states(r)["legal_rep_id_card"] == "missing"
    assert r.status == ReportStatus.INCOMPLETE


def test_reuse_is_preferred_over_invalid_paper(catalog: Catalog) -> None:
    pages = company_pages(agent=False, legal_rep_back="2004.03.01-2024.03.01")
    r = run(catalog, "company-establishment", pages, certificates=[cert()])
    s = slot(r, "legal_rep_id_card")
    assert s.state == SlotState.REUSED
    # The expired paper stays as evidence, marked as superseded.
    expired = [f for f in s.findings if f.code == "expired"]
    assert expired and expired[0].evidence.get("superseded")
    assert r.status == ReportStatus.COMPLETE


def test_valid_paper_wins_over_reuse(catalog: Catalog) -> None:
    r = run(catalog, "company-establishment", company_pages(agent=False), certificates=[cert()])
    assert states(r)["legal_rep_id_card"] == "present"


# --- certainty ---------------------------------------------------------------------------------


def test_low_confidence_on_a_deciding_field_needs_review(catalog: Catalog) -> None:
    pages = company_pages(agent=False, legal_rep_front=id_front(0, LEGAL_REP, id_conf=0.55))
    r = run(catalog, "company-establishment", pages)
    s = slot(r, "legal_rep_id_card")
    assert s.state == SlotState.PRESENT and s.needs_review
    assert any(f.needs_review and f.code == "low_confidence" for f in s.findings)
    assert r.status == ReportStatus.NEEDS_REVIEW
    assert pytest.approx(0.80) == LOW_CONFIDENCE


def test_low_confidence_mismatch_is_not_a_confident_rejection(catalog: Catalog) -> None:
    # Issue 10: a mismatch decided on a value read below the threshold makes the slot
    # needs_review — never invalid, and never a complete case.
    pages = company_pages(agent=False,
                          legal_rep_front=id_front(0, STRANGER, id_conf=0.5, conf=0.5))
    r = run(catalog, "company-establishment", pages)
    s = slot(r, "legal_rep_id_card")
    assert s.state == SlotState.PRESENT and s.needs_review
    mismatches = [f for f in s.findings if f.code == "mismatch"]
    assert mismatches and all(f.needs_review for f in mismatches)
    assert r.status == ReportStatus.NEEDS_REVIEW
    assert slot(r, "legal_rep_id_card") not in r.to_bring


def test_unclassified_page_needs_review(catalog: Catalog) -> None:
    pages = [*company_pages(agent=False), noise(0)]
    r = run(catalog, "company-establishment", pages)
    assert r.status == ReportStatus.NEEDS_REVIEW
    assert r.findings[-1].code == "unclassified_pages" and r.findings[-1].needs_review
    assert r.unassigned_pages == (len(pages),)


def test_surplus_documents_are_reported_not_assigned(catalog: Catalog) -> None:
    r = run(catalog, "company-establishment",
            [*company_pages(agent=False), id_front(0, AGENT), id_back(0)])
    assert r.status == ReportStatus.COMPLETE
    assert r.findings[0].code == "surplus_documents"
    assert len(r.unassigned_pages) == 2


def test_clerk_fact_overrides_what_ocr_read(catalog: Catalog) -> None:
    r = run(catalog, "company-establishment", company_pages(agent=False),
            facts={"application_form.agent_name": "李四"})
    assert states(r)["power_of_attorney"] == "missing"


# --- food business licence and individual business -------------------------------------------


def food_pages(**kw: str) -> list[PageText]:
    return [food_form(0), business_license(0, **kw), id_front(0, LEGAL_REP),
            id_back(0), food_rules(0), layout(0)]


def test_food_licence_complete(catalog: Catalog) -> None:
    r = run(catalog, "food-business-license", food_pages())
    assert r.status == ReportStatus.COMPLETE, r.to_dict()


def test_food_licence_credit_code_mismatch(catalog: Catalog) -> None:
    other = "91350102MA2Y0K3L1A"[:-1]
    from stdnum.cn import uscc
    other += uscc.calc_check_digit(other)
    r = run(catalog, "food-business-license", food_pages(credit_code=other))
    assert states(r)["business_license"] == "invalid"
    assert "mismatch" in codes(r, "business_license")
    assert r.status == ReportStatus.INCOMPLETE


def test_food_licence_term_ended(catalog: Catalog) -> None:
    r = run(catalog, "food-business-license",
            food_pages(term="2004年01月01日至2024年01月01日"))
    assert states(r)["business_license"] == "invalid"
    assert "ended" in codes(r, "business_license")


def test_food_safety_rules_committed_and_licence_reused(catalog: Catalog) -> None:
    pages = [food_form(0), id_front(0, LEGAL_REP), id_back(0),
             commitment(0, "食品安全管理制度"), layout(0)]
    licence = ReusableCertificate(id="c-7", material_type="business_license",
                                  holder_id=CREDIT_CODE, holder_name="福州星海科技有限公司",
                                  number=CREDIT_CODE, valid_until=None)
    r = run(catalog, "food-business-license", pages, certificates=[licence])
    assert states(r)["food_safety_rules"] == "committed"
    assert states(r)["business_license"] == "reused"
    assert r.status == ReportStatus.COMPLETE
    r = run(catalog, "food-business-license", pages)
    assert states(r)["business_license"] == "missing"
    assert r.status == ReportStatus.INCOMPLETE


def test_individual_business_complete_and_commitment(catalog: Catalog) -> None:
    pages = [individual_form(0), id_both(0, OPERATOR), *lease(0, lessee=OPERATOR[0])]
    r = run(catalog, "individual-business-registration", pages)
    assert r.status == ReportStatus.COMPLETE, r.to_dict()
    pages = [individual_form(0), id_both(0, OPERATOR), commitment(0, "经营场所使用证明")]
    r = run(catalog, "individual-business-registration", pages)
    assert states(r)["premises_proof"] == "committed"
    assert r.status == ReportStatus.COMPLETE


def test_individual_business_operator_mismatch(catalog: Catalog) -> None:
    pages = [individual_form(0), id_both(0, STRANGER), property_cert(0)]
    r = run(catalog, "individual-business-registration", pages)
    assert states(r)["operator_id_card"] == "invalid"
    assert r.status == ReportStatus.INCOMPLETE


# --- the function itself -----------------------------------------------------------------------


def test_pure_and_fast(catalog: Catalog) -> None:
    a = analyse_pages(numbered(company_pages()), catalog)
    item = catalog.item("company-establishment")
    docs: tuple[Document, ...] = a.documents
    first = check_completeness(item, docs, DAY, catalog=catalog)
    start = time.perf_counter()
    for _ in range(20):
        again = check_completeness(item, docs, DAY, catalog=catalog)
    per_case = (time.perf_counter() - start) / 20
    assert again == first
    assert per_case < 0.005
