"""The synthetic packets: valid (and deliberately invalid) identifiers, files a scanner would
produce, ground truth consistent with REFERENCE.md, deterministic output, legible pages."""

from __future__ import annotations

import hashlib
import random
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pdfplumber
import pypdfium2
import pytest
from PIL import Image
from stdnum.cn import ric, uscc

import samples
from samples import (
    ACCEPTANCE_DATE,
    SCENARIOS,
    SampleDocument,
    SamplePacket,
    build_packet,
    corrupt_check_char,
    credit_code,
    degrade,
    demo_packets,
    make_company,
    make_person,
)

# Slots per item, written out from REFERENCE.md (not taken from the module under test).
REFERENCE_SLOTS = {
    "company-establishment": {
        "application_form",
        "articles_of_association",
        "legal_rep_id_card",
        "premises_proof",
        "power_of_attorney",
        "agent_id_card",
    },
    "food-business-license": {
        "application_form",
        "business_license",
        "legal_rep_id_card",
        "food_safety_rules",
        "premises_layout",
    },
    "individual-business-registration": {"application_form", "operator_id_card", "premises_proof"},
}
STATE_WORDS = {"present", "reused", "committed", "not_required", "missing", "invalid"}
MAGIC = {
    ".png": (b"\x89PNG\r\n\x1a\n",),
    ".jpg": (b"\xff\xd8\xff",),
    ".tif": (b"II*\x00", b"MM\x00*"),
    ".pdf": (b"%PDF-",),
}
ON = date(2025, 6, 16)


@pytest.fixture(scope="module")
def packets(tmp_path_factory: pytest.TempPathFactory) -> dict[str, SamplePacket]:
    """Every scenario built once; the demo set through `demo_packets` itself."""
    root = tmp_path_factory.mktemp("packets")
    built = {p.name: p for p in demo_packets(root / "demo")}
    for name in SCENARIOS:
        if name not in built:
            built[name] = build_packet(name, root / name, seed=0)
    return built


def _pages_in(path: Path) -> int:
    suffix = path.suffix.lower()
    if suffix == ".pdf":
        return len(pypdfium2.PdfDocument(path))
    with Image.open(path) as img:
        return int(getattr(img, "n_frames", 1))


def _doc(packet: SamplePacket, material_type: str, index: int = 0) -> dict[str, str | None]:
    docs = [d for d in packet.documents if d.material_type == material_type]
    return docs[index].fields


# ---- identifiers -------------------------------------------------------------------


def test_resident_ids_have_correct_check_digit_birth_date_and_sex() -> None:
    rng = random.Random(1)
    for _ in range(60):
        person = make_person(rng, ON)
        assert ric.validate(person.id_number) == person.id_number  # also checks region code
        assert ric.get_birth_date(person.id_number) == person.birth_date
        assert (int(person.id_number[16]) % 2 == 1) == (person.sex == "男")
        assert 22 <= (ON - person.birth_date).days // 365 <= 62
        bad = corrupt_check_char(person.id_number, "resident_id")
        assert len(bad) == 18 and bad[:17] == person.id_number[:17] and bad != person.id_number
        assert not ric.is_valid(bad)


def test_resident_id_builder_alone_is_valid() -> None:
    rng = random.Random(11)
    for k in range(40):
        birth = date(1970, 1, 1) + timedelta(days=k * 331)
        for sex in ("男", "女"):
            number = samples.resident_id(rng, "110105", birth, sex)
            assert ric.validate(number) == number
            assert number[6:14] == birth.strftime("%Y%m%d")


def test_credit_codes_have_correct_check_character() -> None:
    rng = random.Random(2)
    for individual in (False, True):
        for _ in range(40):
            code = credit_code(rng, "110105", individual=individual)
            assert uscc.validate(code) == code
            assert code.startswith("92110105" if individual else "91110105")
            bad = corrupt_check_char(code, "credit_code")
            assert bad[:17] == code[:17] and not uscc.is_valid(bad)


def test_id_card_validity_is_drawn_around_the_acceptance_date() -> None:
    rng = random.Random(3)
    for _ in range(30):
        valid = make_person(rng, ON)
        assert valid.id_valid_from < ON
        assert valid.id_valid_until is None or valid.id_valid_until > ON
        expired = make_person(rng, ON, expired=True)
        assert expired.id_valid_until is not None and expired.id_valid_until < ON
        assert expired.id_expired_on(ON) and not valid.id_expired_on(ON)
        # The card's term follows the holder's age when it was issued (5/10/20 years).
        years = expired.id_valid_until.year - expired.id_valid_from.year
        assert years in (5, 10, 20)


# ---- pages ----------------------------------------------------------------------------


def _ink(image: Image.Image, box: tuple[float, float, float, float]) -> float:
    """Fraction of dark pixels in a box."""
    crop = np.asarray(image.convert("L").crop(box))
    return float((crop < 128).mean())


def test_id_card_labels_are_drawn_where_recorded() -> None:
    rng = random.Random(4)
    person = make_person(rng, ON)
    doc = samples.id_card(person, rng, layout="one_page")
    (page,) = doc.pages
    assert page.image.size == samples.A4_SIZE and page.side == "both"
    boxes = {t.text: t.box for t in page.texts}
    for label in ("姓名", "性别", "民族", "出生", "住址", "公民身份号码", "签发机关", "有效期限"):
        assert _ink(page.image, boxes[label]) > 0.05, label
    assert _ink(page.image, boxes[person.id_number]) > 0.05
    assert _ink(page.image, (0, 0, 200, 200)) == 0.0  # the page margin is blank
    assert samples.wrap_text(person.address, 38, 500)[0] in page.lines
    birth = person.birth_date
    assert f"{birth.year}年{birth.month}月{birth.day}日" in page.lines
    validity = next(
        t for t in page.lines if t.startswith(person.id_valid_from.strftime("%Y.%m.%d"))
    )
    assert validity.endswith(
        "长期" if person.id_valid_until is None else f"{person.id_valid_until:%Y.%m.%d}"
    )
    # Text must be big enough for OCR at 200 dpi.
    number_box = boxes[person.id_number]
    assert number_box[3] - number_box[1] >= 30


def test_two_page_id_card_has_front_and_back() -> None:
    rng = random.Random(5)
    doc = samples.id_card(make_person(rng, ON), rng, layout="two_pages")
    assert [p.side for p in doc.pages] == ["front", "back"]
    assert "公民身份号码" in doc.pages[0].lines and "签发机关" not in doc.pages[0].lines
    assert "签发机关" in doc.pages[1].lines and "居民身份证" in doc.pages[1].lines


def _all_material_documents() -> list[SampleDocument]:
    rng = random.Random(6)
    rep = make_person(rng, ON)
    agent = make_person(rng, ON)
    company = make_company(rng, rep, ON, industry="food")
    shop = make_company(rng, rep, ON, individual=True)
    form = samples.ApplicationForm(
        "company-establishment", "公司设立登记申请书", "有限责任公司设立登记", company.name,
        None, rep, agent, rep.phone, company.address, ON - timedelta(days=3),
    )  # fmt: skip
    return [
        samples.application_form(form),
        samples.id_card(rep, rng),
        samples.business_license(company, rng),
        samples.business_license(shop, rng),
        samples.property_certificate(samples.make_property(rng, rep, ON), rng),
        samples.lease_contract(samples.make_lease(rng, company.name, rep.region, ON), rng),
        samples.power_of_attorney(rep.name, rep.id_number, agent, "代为办理设立登记", ON),
        samples.articles_of_association(company, ON),
        samples.food_safety_rules(company, ON),
        samples.premises_layout(company, rng),
        samples.commitment_letter(rep, "个体工商户设立登记", "premises_proof", ON),
    ]


def test_every_material_type_renders_with_its_labels() -> None:
    docs = _all_material_documents()
    assert {d.material_type for d in docs} == {
        "application_form", "id_card", "business_license", "property_certificate",
        "lease_contract", "power_of_attorney", "articles_of_association",
        "food_safety_rules", "premises_layout", "commitment_letter",
    }  # fmt: skip
    by_type: dict[str, str] = {}
    for doc in docs:
        for page in doc.pages:
            assert page.image.size == samples.A4_SIZE
            assert page.material_type == doc.material_type
            # Nothing drawn off the page.
            for t in page.texts:
                assert t.box[0] >= 0 and t.box[2] <= samples.A4_SIZE[0], t.text
                assert t.box[1] >= 0 and t.box[3] <= samples.A4_SIZE[1], t.text
        by_type[doc.material_type] = by_type.get(doc.material_type, "") + "\n".join(
            line for page in doc.pages for line in page.lines
        )
    expected = {
        "application_form": ["公司设立登记申请书", "申请事项", "申请人（名称）", "法定代表人",
                             "法定代表人身份证号码", "委托代理人", "代理人身份证号码", "联系电话",
                             "住所", "申请日期"],
        "id_card": ["姓名", "公民身份号码", "中华人民共和国", "居民身份证", "签发机关"],
        "business_license": ["营业执照", "统一社会信用代码", "名称", "类型", "法定代表人",
                             "经营者", "注册资本", "成立日期", "营业期限", "住所", "经营场所",
                             "登记机关"],
        "property_certificate": ["不动产权证书", "权利人", "坐落", "面积", "用途", "不动产权第"],
        "lease_contract": ["房屋租赁合同", "出租方（甲方）：", "承租方（乙方）：", "房屋坐落：",
                           "租赁期限自"],
        "power_of_attorney": ["授权委托书", "委托人：", "受托人：", "身份证号码：", "委托事项：",
                              "日期："],
        "articles_of_association": ["有限公司章程", "第一章 总则", "第二条 公司名称："],
        "food_safety_rules": ["食品安全管理制度", "一、", "1. "],
        "premises_layout": ["经营场所平面布局图", "加工区", "仓库", "就餐区"],
        "commitment_letter": ["告知承诺书", "承诺人：", "身份证号码：",
                              "以本承诺书代替经营场所使用证明", "日期："],
    }  # fmt: skip
    for material, labels in expected.items():
        for label in labels:
            assert label in by_type[material], (material, label)


def test_multi_page_documents_have_the_announced_page_count() -> None:
    docs = {d.material_type: d for d in _all_material_documents()}
    assert len(docs["lease_contract"].pages) == 2
    assert len(docs["articles_of_association"].pages) == 2
    assert "第2页 共2页" in docs["lease_contract"].pages[1].lines


def test_lease_term_is_printed_as_the_ground_truth_says() -> None:
    rng = random.Random(7)
    lease = samples.make_lease(rng, "北京瑞丰科技有限公司", samples.REGIONS[0], ON)
    doc = samples.lease_contract(lease, rng)
    text = "".join(line for page in doc.pages for line in page.lines)
    assert f"租赁期限自{ON.year - 1}年1月1日起至{ON.year + 1}年12月31日止" in text
    assert doc.fields["term_end"] == f"{ON.year + 1}-12-31"


# ---- degradation ------------------------------------------------------------------


def test_degrade_keeps_text_legible_and_is_reproducible() -> None:
    rng = random.Random(8)
    person = make_person(rng, ON)
    page = samples.id_card(person, rng).pages[0]
    box = next(t.box for t in page.texts if t.text == person.id_number)
    for level in ("light", "medium"):
        a = degrade(page.image, random.Random(9), level=level, grey=True)
        b = degrade(page.image, random.Random(9), level=level, grey=True)
        assert a.mode == "L" and a.size == page.image.size
        assert a.tobytes() == b.tobytes()
        assert a.tobytes() != page.image.convert("L").tobytes()
        # Still dark text on a light page: the number's box keeps its ink, skew is slight.
        grown = (box[0] - 25, box[1] - 25, box[2] + 25, box[3] + 25)
        assert _ink(a, grown) > 0.04
        assert np.asarray(a)[300:600, 100:400].mean() > 200
    colour = degrade(page.image, random.Random(10), grey=False)
    assert colour.mode == "RGB"


def test_degrade_rotate_option_turns_the_page() -> None:
    img = Image.new("RGB", samples.A4_SIZE, "white")
    out = degrade(img, random.Random(0), rotate=90)
    assert out.size == (samples.A4_SIZE[1], samples.A4_SIZE[0])
    assert degrade(img, random.Random(0)).size == samples.A4_SIZE


# ---- packets ----------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_scenario_files_and_ground_truth(packets: dict[str, SamplePacket], name: str) -> None:
    packet = packets[name]
    assert packet.item_code in REFERENCE_SLOTS
    assert set(packet.expected_states) == REFERENCE_SLOTS[packet.item_code]
    assert set(packet.expected_states.values()) <= STATE_WORDS
    bad = {s for s in packet.expected_states.values() if s in ("missing", "invalid")}
    assert packet.expected_status == ("incomplete" if bad else "complete")
    assert packet.acceptance_date == ACCEPTANCE_DATE
    assert packet.description

    total = 0
    for path in packet.files:
        assert path.is_file()
        head = path.read_bytes()[:8]
        assert any(head.startswith(m) for m in MAGIC[path.suffix.lower()]), path.name
        assert path.stat().st_size < 3_000_000, path.name  # "modest" scanner output
        n = _pages_in(path)
        if path.suffix.lower() in (".png", ".jpg"):
            assert n == 1
        total += n
    assert total == packet.page_count <= 8

    # Ground-truth documents tile the packet's pages, in order, without overlap.
    pages = [p for d in packet.documents for p in d.pages]
    assert pages == list(range(1, total + 1))


def test_packets_cover_every_scanner_format(packets: dict[str, SamplePacket]) -> None:
    suffixes = {p.suffix for packet in packets.values() for p in packet.files}
    assert suffixes == {".png", ".jpg", ".tif", ".pdf"}
    multi_tif = [
        p for packet in packets.values() for p in packet.files
        if p.suffix == ".tif" and _pages_in(p) > 1
    ]  # fmt: skip
    multi_pdf = [
        p for packet in packets.values() for p in packet.files
        if p.suffix == ".pdf" and _pages_in(p) > 1
    ]  # fmt: skip
    assert multi_tif and multi_pdf


def test_company_with_agent_names_match_across_documents(packets: dict[str, SamplePacket]) -> None:
    packet = packets["company-complete-with-agent"]
    form = _doc(packet, "application_form")
    rep_card, agent_card = _doc(packet, "id_card", 0), _doc(packet, "id_card", 1)
    poa = _doc(packet, "power_of_attorney")
    assert (form["legal_rep_name"], form["legal_rep_id_number"]) == (
        rep_card["name"],
        rep_card["id_number"],
    )
    assert form["agent_name"] == agent_card["name"] == poa["agent_name"]
    assert form["agent_id_number"] == agent_card["id_number"] == poa["agent_id_number"]
    assert _doc(packet, "articles_of_association")["company_name"] == form["applicant_name"]
    assert _doc(packet, "property_certificate")["holder"] == rep_card["name"]
    assert all(v == "present" for v in packet.expected_states.values())


def test_company_without_agent_has_a_valid_lease_and_no_agent(
    packets: dict[str, SamplePacket],
) -> None:
    packet = packets["company-complete-no-agent"]
    form = _doc(packet, "application_form")
    assert form["agent_name"] is None and form["agent_id_number"] is None
    lease = _doc(packet, "lease_contract")
    start, end = lease["term_start"], lease["term_end"]
    assert start is not None and end is not None
    assert start <= ACCEPTANCE_DATE.isoformat() <= end
    assert lease["lessee"] == form["applicant_name"]
    assert packet.expected_states["power_of_attorney"] == "not_required"
    assert packet.expected_states["agent_id_card"] == "not_required"
    ended = _doc(packets["company-lease-expired"], "lease_contract")["term_end"]
    assert ended is not None and ended < ACCEPTANCE_DATE.isoformat()


def test_born_digital_pdf_has_an_extractable_text_layer(packets: dict[str, SamplePacket]) -> None:
    packet = packets["company-complete-no-agent"]
    name = _doc(packet, "articles_of_association")["company_name"]
    path = next(p for p in packet.files if p.name == "articles.pdf")
    with pdfplumber.open(path) as pdf:
        assert len(pdf.pages) == 2
        text = "".join((page.extract_text() or "") for page in pdf.pages)
        assert not pdf.pages[0].images  # text, not a scan
    assert f"{name}章程" in text
    assert "第一章 总则" in text and "第2页 共2页" in text


def test_food_incomplete_has_expired_card_and_bad_credit_code(
    packets: dict[str, SamplePacket],
) -> None:
    packet = packets["food-incomplete"]
    form = _doc(packet, "application_form")
    card = _doc(packet, "id_card")
    licence = _doc(packet, "business_license")
    assert card["valid_until"] is not None and card["valid_until"] < ACCEPTANCE_DATE.isoformat()
    assert card["id_number"] is not None and ric.is_valid(card["id_number"])
    assert card["id_number"] == form["legal_rep_id_number"]
    assert licence["credit_code"] is not None and not uscc.is_valid(licence["credit_code"])
    assert form["applicant_id"] is not None and uscc.is_valid(form["applicant_id"])
    assert licence["credit_code"][:17] == form["applicant_id"][:17]
    types = {d.material_type for d in packet.documents}
    assert "food_safety_rules" not in types and "premises_layout" not in types
    assert packet.expected_states == {
        "application_form": "present",
        "business_license": "invalid",
        "legal_rep_id_card": "invalid",
        "food_safety_rules": "missing",
        "premises_layout": "missing",
    }


def test_individual_scenarios(packets: dict[str, SamplePacket]) -> None:
    committed = packets["individual-committed"]
    form = _doc(committed, "application_form")
    letter = _doc(committed, "commitment_letter")
    card = _doc(committed, "id_card")
    assert form["applicant_name"] == card["name"] == letter["signer_name"]
    assert form["applicant_id"] == card["id_number"] == letter["signer_id_number"]
    assert letter["replaces"] == "经营场所使用证明"
    assert committed.expected_states["premises_proof"] == "committed"
    assert committed.expected_status == "complete"

    missing = packets["individual-missing"]
    assert "id_card" not in {d.material_type for d in missing.documents}
    assert missing.expected_states["operator_id_card"] == "missing"
    assert missing.expected_states["premises_proof"] == "present"


def test_demo_set_covers_items_and_outcomes(packets: dict[str, SamplePacket]) -> None:
    demo = [packets[name] for name in samples.DEMO_SCENARIOS]
    assert {p.item_code for p in demo} == set(REFERENCE_SLOTS)
    assert any(p.expected_status == "complete" for p in demo)
    assert any({"missing", "invalid"} <= set(p.expected_states.values()) for p in demo)
    assert all(p.files[0].parent.parent.name == "demo" for p in demo)


def test_same_seed_same_bytes_other_seed_other_people(tmp_path: Path) -> None:
    def digest(packet: SamplePacket) -> list[str]:
        return [hashlib.sha256(p.read_bytes()).hexdigest() for p in packet.files]

    a = build_packet("individual-missing", tmp_path / "a", seed=3)
    b = build_packet("individual-missing", tmp_path / "b", seed=3)
    c = build_packet("individual-missing", tmp_path / "c", seed=4)
    assert digest(a) == digest(b)
    assert a.documents == b.documents
    assert _doc(a, "application_form") != _doc(c, "application_form")


def test_unknown_scenario_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown scenario"):
        build_packet("no-such-scenario", tmp_path)
