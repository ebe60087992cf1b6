"""The packaged catalog carries the reference items exactly, and broken catalog files fail
at load time with the file, the path inside it and what is wrong."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from rules.catalog import (
    DEFAULT_CATALOG_DIR,
    Catalog,
    CatalogError,
    UnknownItemError,
    load_catalog,
)

ELEMENTS = (
    "code", "name", "agency", "category", "legal_basis", "slots", "procedure", "fees",
    "legal_time_limit_days", "committed_time_limit_days", "handling_place",
    "consultation_phone", "supervision_phone", "handling_mode", "online_application",
    "max_visits",
)

EXPECTED_SLOTS = {
    "company-establishment": [
        "application_form", "articles_of_association", "legal_rep_id_card", "premises_proof",
        "power_of_attorney", "agent_id_card",
    ],
    "food-business-license": [
        "application_form", "business_license", "legal_rep_id_card", "food_safety_rules",
        "premises_layout",
    ],
    "individual-business-registration": ["application_form", "operator_id_card", "premises_proof"],
}

TYPES = {
    "application_form", "id_card", "business_license", "property_certificate", "lease_contract",
    "power_of_attorney", "articles_of_association", "food_safety_rules", "premises_layout",
    "commitment_letter",
}


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


def test_default_catalog_has_the_reference_items_and_types(catalog: Catalog) -> None:
    assert set(catalog.material_types) == TYPES
    assert {c for c, mt in catalog.material_types.items() if mt.certificate} == {
        "id_card", "business_license", "property_certificate"}
    for code, slots in EXPECTED_SLOTS.items():
        item = catalog.item(code)
        assert [s.code for s in item.slots] == slots
        assert item.agency == "市场监督管理局"
        assert item.category == "行政许可"
        assert item.max_visits == 1


def test_every_item_publishes_all_16_elements(catalog: Catalog) -> None:
    for item in catalog.items.values():
        data = item.to_dict()
        assert len(ELEMENTS) == 16
        for element in ELEMENTS:
            assert element in data, element
            assert data[element] not in ("", None, []), element
        assert isinstance(item.legal_basis, tuple) and item.legal_basis
        assert item.committed_time_limit_days <= item.legal_time_limit_days
        assert item.handling_mode in ("承诺件", "即办件")
    assert catalog.item("company-establishment").legal_time_limit_days == 15
    assert catalog.item("company-establishment").committed_time_limit_days == 3
    assert catalog.item("food-business-license").legal_time_limit_days == 20
    assert catalog.item("individual-business-registration").committed_time_limit_days == 1


def test_reference_rules_are_declared(catalog: Catalog) -> None:
    ce = catalog.item("company-establishment")
    assert ce.slot("premises_proof").accepts == ("property_certificate", "lease_contract")
    assert ce.slot("premises_proof").commitment_allowed
    assert ce.slot("legal_rep_id_card").reusable
    assert ce.slot("legal_rep_id_card").holder == "application_form.legal_rep_id_number"
    assert ce.slot("agent_id_card").required_when is not None
    assert not ce.slot("articles_of_association").commitment_allowed
    food = catalog.item("food-business-license")
    assert food.slot("food_safety_rules").commitment_allowed
    assert food.slot("business_license").reusable
    assert catalog.material_types["id_card"].name == "居民身份证"
    assert catalog.material_types["id_card"].field("valid_until") is not None


def test_default_catalog_is_cached_and_serialisable(catalog: Catalog) -> None:
    assert load_catalog() is load_catalog()
    data = catalog.to_dict()
    text = json.dumps(data, ensure_ascii=False)
    assert "有限责任公司设立登记" in text
    assert len(data["items"]) == 3 and len(data["material_types"]) == 10


def test_unknown_item_is_a_key_error_with_a_clear_message(catalog: Catalog) -> None:
    with pytest.raises(UnknownItemError) as info:
        catalog.item("no-such-item")
    assert isinstance(info.value, KeyError)
    assert "no-such-item" in str(info.value)
    assert "company-establishment" in str(info.value)


# --- broken catalogs -------------------------------------------------------------------------


def _copy(tmp_path: Path) -> Path:
    target = tmp_path / "catalog"
    shutil.copytree(DEFAULT_CATALOG_DIR, target)
    return target


def _edit(path: Path, change: Any) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def _load_error(directory: Path) -> CatalogError:
    with pytest.raises(CatalogError) as info:
        load_catalog(directory)
    err = info.value
    assert str(err) == f"{err.file}: {err.path}: {err.message}"
    return err


ITEM = "items/company-establishment.yaml"


def test_unknown_material_type_is_reported_with_its_path(tmp_path: Path) -> None:
    d = _copy(tmp_path)
    _edit(d / ITEM, lambda it: it["slots"][3].update(accepts=["property_certificate", "lease"]))
    err = _load_error(d)
    assert err.file == ITEM
    assert err.path == "slots[3].accepts[1]"
    assert "lease" in err.message


def test_missing_element_is_reported(tmp_path: Path) -> None:
    d = _copy(tmp_path)
    _edit(d / ITEM, lambda it: it.pop("supervision_phone"))
    err = _load_error(d)
    assert (err.file, err.path) == (ITEM, "supervision_phone")
    assert "missing" in err.message


def test_condition_on_unknown_field_is_reported(tmp_path: Path) -> None:
    d = _copy(tmp_path)
    _edit(d / ITEM, lambda it: it["slots"][4].update(
        required_when={"present": "application_form.agent_nmae"}))
    err = _load_error(d)
    assert (err.file, err.path) == (ITEM, "slots[4].required_when")
    assert "agent_nmae" in err.message


def test_condition_with_two_operators_is_reported(tmp_path: Path) -> None:
    d = _copy(tmp_path)
    _edit(d / ITEM, lambda it: it["slots"][4].update(required_when={
        "present": "application_form.agent_name", "absent": "application_form.phone"}))
    err = _load_error(d)
    assert err.path.startswith("slots[4].required_when")


def test_duplicate_slot_code_is_reported(tmp_path: Path) -> None:
    d = _copy(tmp_path)
    _edit(d / ITEM, lambda it: it["slots"][5].update(code="power_of_attorney"))
    err = _load_error(d)
    assert (err.file, err.path) == (ITEM, "slots[5].code")
    assert "twice" in err.message


def test_unknown_check_is_reported(tmp_path: Path) -> None:
    d = _copy(tmp_path)
    _edit(d / ITEM, lambda it: it["slots"][2]["checks"].insert(
        0, {"check": "looks_official", "field": "name"}))
    err = _load_error(d)
    assert (err.file, err.path) == (ITEM, "slots[2].checks[0].check")
    assert "looks_official" in err.message


def test_check_on_field_the_type_lacks_is_reported(tmp_path: Path) -> None:
    d = _copy(tmp_path)
    _edit(d / ITEM, lambda it: it["slots"][2]["checks"].append(
        {"check": "not_expired", "field": "valid_to"}))
    err = _load_error(d)
    assert (err.file, err.path) == (ITEM, "slots[2].checks[2].field")
    assert "valid_to" in err.message and "id_card" in err.message


def test_check_field_missing_on_one_accepted_type_needs_when_type(tmp_path: Path) -> None:
    d = _copy(tmp_path)
    _edit(d / ITEM, lambda it: it["slots"][3]["checks"][0].pop("when_type"))
    err = _load_error(d)
    assert err.path == "slots[3].checks[0].field"
    assert "property_certificate" in err.message


def test_commitment_names_only_where_commitment_is_allowed(tmp_path: Path) -> None:
    d = _copy(tmp_path)
    _edit(d / ITEM, lambda it: it["slots"][1].update(commitment_names=["章程"]))
    err = _load_error(d)
    assert err.path == "slots[1].commitment_names"


def test_reusable_slot_needs_a_certificate_type_and_holder(tmp_path: Path) -> None:
    d = _copy(tmp_path)
    _edit(d / ITEM, lambda it: it["slots"][1].update(reusable=True,
                                                     holder="application_form.legal_rep_id_number"))
    err = _load_error(d)
    assert err.path == "slots[1].reusable"


def test_unknown_key_in_material_type_is_reported(tmp_path: Path) -> None:
    d = _copy(tmp_path)
    _edit(d / "material_types.yaml",
          lambda data: data["material_types"][1]["fields"][0].update(colour="red"))
    err = _load_error(d)
    assert err.file == "material_types.yaml"
    assert err.path == "material_types[1].fields[0].colour"


def test_bad_field_kind_is_reported(tmp_path: Path) -> None:
    d = _copy(tmp_path)
    _edit(d / "material_types.yaml",
          lambda data: data["material_types"][1]["fields"][5].update(kind="idnumber"))
    err = _load_error(d)
    assert err.path == "material_types[1].fields[5].kind"


def test_invalid_yaml_names_the_file(tmp_path: Path) -> None:
    d = _copy(tmp_path)
    (d / ITEM).write_text("code: [unclosed\n", encoding="utf-8")
    err = _load_error(d)
    assert err.file == ITEM and err.path.startswith("line")


def test_slot_reference_cycle_is_reported(tmp_path: Path) -> None:
    d = _copy(tmp_path)

    def cycle(it: dict[str, Any]) -> None:
        it["slots"][0]["required_when"] = {"present": "power_of_attorney.agent_name"}

    _edit(d / ITEM, cycle)
    err = _load_error(d)
    assert err.file == ITEM and "cycle" in err.message


def test_a_new_item_is_data_only(tmp_path: Path) -> None:
    d = _copy(tmp_path)
    (d / "items" / "tiny.yaml").write_text(
        """
code: tiny-item
name: 测试事项
agency: 某局
category: 公共服务
legal_basis: [《某条例》]
procedure: [受理, 办结]
fees: 不收费
legal_time_limit_days: 5
committed_time_limit_days: 1
handling_place: 一号窗口
consultation_phone: "0591-00000000"
supervision_phone: "12345"
handling_mode: 即办件
online_application: false
max_visits: 1
slots:
  - {code: id, name: 身份证明, accepts: [id_card], reusable: true, holder: facts.holder_id}
""",
        encoding="utf-8",
    )
    catalog = load_catalog(d)
    assert catalog.item("tiny-item").slots[0].accepts == ("id_card",)
    assert len(catalog.items) == 4
