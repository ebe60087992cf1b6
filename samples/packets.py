"""Application packets with ground truth: `build_packet` writes a named scenario
(`SCENARIOS`) as scanner output files together with the slot states the completeness engine
is expected to report. Used by `docintake demo`, the tests and the benchmarks.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path

from PIL import Image

from rules.catalog import Catalog, load_catalog
from samples.documents import (
    ApplicationForm,
    Level,
    SampleDocument,
    application_form,
    articles_of_association,
    business_license,
    commitment_letter,
    food_safety_rules,
    id_card,
    lease_contract,
    make_lease,
    make_property,
    power_of_attorney,
    premises_layout,
    property_certificate,
)
from samples.identities import (
    Person,
    corrupt_check_char,
    make_company,
    make_person,
)
from samples.scanner import degrade, write_images, write_text_pdf

# --------------------------------------------------------------------------------------
# Packets
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DocumentTruth:
    """Where a material is in the packet (global 1-based page numbers across `files`, in
    order) and the fields it carries."""

    material_type: str
    pages: tuple[int, ...]
    file: str
    fields: dict[str, str | None]
    sides: tuple[str, ...] = ()


@dataclass
class SamplePacket:
    name: str
    item_code: str
    description: str
    acceptance_date: date
    files: list[Path]
    expected_status: str  # complete | incomplete | needs_review
    expected_states: dict[str, str]  # slot code -> present/reused/committed/...
    documents: list[DocumentTruth] = field(default_factory=list)
    page_count: int = 0


ACCEPTANCE_DATE = date(2025, 6, 16)

@lru_cache(maxsize=1)
def _catalog() -> Catalog:
    return load_catalog()


def item_name(item_code: str) -> str:
    """The item's name as the catalog publishes it (printed on forms and letters)."""
    return _catalog().item(item_code).name


def item_slots(item_code: str) -> tuple[str, ...]:
    """The item's slot codes, in the catalog's order."""
    return tuple(slot.code for slot in _catalog().item(item_code).slots)


# The printed title of each item's application form: the generator's own wording (a real
# form's title is not a catalog name; the classifier must recognise it either way).
FORM_TITLES = {
    "company-establishment": "公司设立登记申请书",
    "food-business-license": "食品经营许可申请书",
    "individual-business-registration": "个体工商户设立登记申请书",
}


class _Packet:
    """Collects documents into scanner files and records the ground truth."""

    def __init__(self, out_dir: Path, rng: random.Random) -> None:
        self.out_dir = out_dir
        self.rng = rng
        self.files: list[Path] = []
        self.documents: list[DocumentTruth] = []
        self.pages = 0
        out_dir.mkdir(parents=True, exist_ok=True)

    def scan(self, filename: str, *docs: SampleDocument, level: Level = "light") -> None:
        images: list[Image.Image] = []
        for doc in docs:
            # Photocopied ID cards come out grey; other pages are grey or colour at random.
            grey = True if doc.material_type == "id_card" else None
            imgs = [degrade(p.image, self.rng, level=level, grey=grey) for p in doc.pages]
            self._record(filename, doc, len(images))
            images.extend(imgs)
        write_images(self.out_dir / filename, images)
        self.files.append(self.out_dir / filename)
        self.pages += len(images)

    def born_digital(self, filename: str, doc: SampleDocument) -> None:
        self._record(filename, doc, 0)
        write_text_pdf(self.out_dir / filename, doc.pages)
        self.files.append(self.out_dir / filename)
        self.pages += len(doc.pages)

    def _record(self, filename: str, doc: SampleDocument, offset_in_file: int) -> None:
        first = self.pages + offset_in_file + 1
        pages = tuple(range(first, first + len(doc.pages)))
        sides = tuple(p.side for p in doc.pages if p.side)
        self.documents.append(DocumentTruth(doc.material_type, pages, filename, doc.fields, sides))


def make_form(
    item: str,
    applicant: str,
    applicant_id: str | None,
    rep: Person | None,
    agent: Person | None,
    address: str,
    on: date,
    *,
    phone: str,
    business_name: str = "",
    extra: tuple[tuple[str, str], ...] = (),
) -> ApplicationForm:
    return ApplicationForm(
        item, FORM_TITLES[item], item_name(item), applicant, applicant_id, rep, agent, phone,
        address, on - timedelta(days=6), business_name, extra,
    )  # fmt: skip


ScenarioBuilder = Callable[[_Packet, date], None]


@dataclass(frozen=True)
class Scenario:
    item_code: str
    description: str
    expected_status: str
    expected_states: dict[str, str]
    build: ScenarioBuilder


def _company_with_agent(pk: _Packet, on: date) -> None:
    rng = pk.rng
    rep = make_person(rng, on)
    agent = make_person(rng, on, region=rep.region)
    company = make_company(rng, rep, on)
    form = make_form(
        "company-establishment", company.name, None, rep, agent, company.address, on,
        phone=agent.phone,
    )  # fmt: skip
    articles = articles_of_association(company, form.signed)
    pk.scan("scan-01.pdf", application_form(form), articles)
    pk.scan("legal-rep-id.jpg", id_card(rep, rng, layout="one_page"))
    pk.scan("property.png", property_certificate(make_property(rng, rep, on), rng))
    matter = f"代为办理{company.name}设立登记相关事宜"
    poa = power_of_attorney(rep.name, rep.id_number, agent, matter, form.signed)
    pk.scan("agent.tif", poa, id_card(agent, rng, layout="one_page"))


def _company_no_agent(pk: _Packet, on: date, *, lease_ended: bool = False) -> None:
    rng = pk.rng
    rep = make_person(rng, on)
    company = make_company(rng, rep, on, industry=rng.choice(("trade", "media")))
    lease = make_lease(rng, company.name, rep.region, on, ended=lease_ended)
    form = make_form(
        "company-establishment", company.name, None, rep, None, lease.premises, on,
        phone=rep.phone,
    )  # fmt: skip
    company = replace(company, address=lease.premises)
    pk.scan("application.jpg", application_form(form))
    # Articles generated by the online registration system: a born-digital PDF.
    pk.born_digital("articles.pdf", articles_of_association(company, form.signed))
    pk.scan("legal-rep-id.tif", id_card(rep, rng, layout="two_pages"))
    pk.scan("lease.pdf", lease_contract(lease, rng), level="medium")


def _food_company(pk: _Packet, on: date, *, broken: bool) -> None:
    rng = pk.rng
    rep = make_person(rng, on, expired=broken)
    company = make_company(rng, rep, on, industry="food")
    form = make_form(
        "food-business-license", company.name, company.credit_code, rep, None, company.address, on,
        phone=rep.phone, extra=(("经营项目", "热食类食品制售；预包装食品销售"),),
    )  # fmt: skip
    pk.scan("application.pdf", application_form(form))
    # The form carries the real code; the licence copy has a wrong check character.
    licence = (
        replace(company, credit_code=corrupt_check_char(company.credit_code, "credit_code"))
        if broken
        else company
    )
    pk.scan("business-license.jpg", business_license(licence, rng))
    if broken:
        pk.scan("legal-rep-id.png", id_card(rep, rng, layout="one_page"))
        return
    pk.scan("legal-rep-id.tif", id_card(rep, rng, layout="two_pages"))
    pk.scan(
        "rules-and-layout.pdf",
        food_safety_rules(company, company.established),
        premises_layout(company, rng),
    )


def _individual(pk: _Packet, on: date, *, committed: bool) -> None:
    rng = pk.rng
    operator = make_person(rng, on)
    shop = make_company(rng, operator, on, individual=True)
    item = "individual-business-registration"
    form = make_form(
        item, operator.name, operator.id_number, None, None, shop.address, on,
        phone=operator.phone, business_name=shop.name,
        extra=(("经营范围", "小吃服务；预包装食品销售"),),
    )  # fmt: skip
    pk.scan("application.jpg", application_form(form))
    if committed:
        pk.scan("operator-id.jpg", id_card(operator, rng, layout="one_page"))
        letter = commitment_letter(operator, item_name(item), "premises_proof", form.signed)
        pk.scan("commitment.png", letter)
    else:
        lease = make_lease(rng, operator.name, operator.region, on)
        pk.scan("lease.tif", lease_contract(lease, rng))


_COMPANY_SLOTS = item_slots("company-establishment")
_FOOD_SLOTS = item_slots("food-business-license")
_INDIVIDUAL_SLOTS = item_slots("individual-business-registration")


def _states(slots: Sequence[str], default: str = "present", **overrides: str) -> dict[str, str]:
    return {s: overrides.get(s, default) for s in slots}


SCENARIOS: dict[str, Scenario] = {
    "company-complete-with-agent": Scenario(
        "company-establishment",
        "公司设立，委托代理人办理，提交房产证 / company set-up through an agent, property "
        "certificate as premises proof",
        "complete",
        _states(_COMPANY_SLOTS),
        _company_with_agent,
    ),
    "company-complete-no-agent": Scenario(
        "company-establishment",
        "公司设立，法定代表人自办，提交租赁合同 / company set-up by the legal representative, "
        "lease valid on the acceptance date",
        "complete",
        _states(_COMPANY_SLOTS, power_of_attorney="not_required", agent_id_card="not_required"),
        _company_no_agent,
    ),
    "company-lease-expired": Scenario(
        "company-establishment",
        "公司设立，租赁合同已到期 / company set-up whose lease ended before the acceptance date",
        "incomplete",
        _states(
            _COMPANY_SLOTS,
            premises_proof="invalid",
            power_of_attorney="not_required",
            agent_id_card="not_required",
        ),
        lambda pk, on: _company_no_agent(pk, on, lease_ended=True),
    ),
    "food-complete": Scenario(
        "food-business-license",
        "食品经营许可，材料齐全 / food business licence, all materials present",
        "complete",
        _states(_FOOD_SLOTS),
        lambda pk, on: _food_company(pk, on, broken=False),
    ),
    "food-incomplete": Scenario(
        "food-business-license",
        "食品经营许可：身份证过期、营业执照信用代码校验位错误、缺食品安全管理制度和平面布局图 / "
        "expired ID card, licence with a bad credit-code check character, two materials missing",
        "incomplete",
        _states(
            _FOOD_SLOTS,
            business_license="invalid",
            legal_rep_id_card="invalid",
            food_safety_rules="missing",
            premises_layout="missing",
        ),
        lambda pk, on: _food_company(pk, on, broken=True),
    ),
    "individual-committed": Scenario(
        "individual-business-registration",
        "个体工商户登记，以告知承诺书代替经营场所证明 / individual business, commitment letter "
        "instead of premises proof",
        "complete",
        _states(_INDIVIDUAL_SLOTS, premises_proof="committed"),
        lambda pk, on: _individual(pk, on, committed=True),
    ),
    "individual-missing": Scenario(
        "individual-business-registration",
        "个体工商户登记，缺经营者身份证 / individual business, operator's ID card missing",
        "incomplete",
        _states(_INDIVIDUAL_SLOTS, operator_id_card="missing"),
        lambda pk, on: _individual(pk, on, committed=False),
    ),
}


def build_packet(
    scenario: str, out_dir: Path, *, seed: int = 0, acceptance_date: date = ACCEPTANCE_DATE
) -> SamplePacket:
    """Write the files of one scenario into `out_dir` (created if needed) and return them
    with the expected completeness result. Same scenario + seed → byte-identical files."""
    try:
        spec = SCENARIOS[scenario]
    except KeyError:
        raise ValueError(f"unknown scenario {scenario!r}; known: {', '.join(SCENARIOS)}") from None
    rng = random.Random(f"{scenario}/{seed}")
    pk = _Packet(Path(out_dir), rng)
    spec.build(pk, acceptance_date)
    return SamplePacket(
        name=scenario,
        item_code=spec.item_code,
        description=spec.description,
        acceptance_date=acceptance_date,
        files=pk.files,
        expected_status=spec.expected_status,
        expected_states=dict(spec.expected_states),
        documents=pk.documents,
        page_count=pk.pages,
    )


DEMO_SCENARIOS = (
    "company-complete-with-agent",
    "food-incomplete",
    "individual-committed",
    "individual-missing",
)


def demo_packets(out_dir: Path, *, seed: int = 7) -> list[SamplePacket]:
    """The demo set, one sub-directory per scenario: a complete company set-up, a food
    licence with missing and invalid materials, and two individual-business cases."""
    return [build_packet(name, Path(out_dir) / name, seed=seed) for name in DEMO_SCENARIOS]
