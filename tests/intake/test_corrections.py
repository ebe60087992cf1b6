"""A reviewer's correction of an extracted field: it needs a reason, keeps the old value,
is audited, and the case is assessed again at once with it applied over the extraction —
on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from intake.access import Principal
from intake.errors import IntakeError
from intake.runners import make_runner
from intake.runtime import Runtime
from intake.service import IntakeService, Upload
from intake.settings import load_settings
from rules.catalog import load_catalog
from rules.corrections import apply_corrections
from rules.types import Document, ExtractedField, FieldCorrection
from storage.apikeys import create_api_key
from storage.models import AuditEntry, FieldCorrectionRow
from tests.certificates.packets import ITEM, form, id_card, resident_id
from tests.helpers import text_pdf

GOOD = resident_id(12)
BAD = GOOD[:-1] + ("0" if GOOD[-1] != "0" else "1")  # a misread check digit


@dataclass
class World:
    runtime: Runtime
    service: IntakeService
    people: dict[str, Principal]

    def case_with_misread_card(self) -> str:
        case = self.service.create_case(ITEM, principal=self.people["clerk"])
        pdf = text_pdf([form("张三", GOOD), id_card("张三", BAD)])
        self.service.upload_batch(
            case.id, [Upload.from_bytes("packet.pdf", pdf, "application/pdf")],
            principal=self.people["clerk"])
        return case.id


@pytest.fixture
def world(database_url: str, tmp_path: Path) -> Iterator[World]:
    runtime = Runtime.from_settings(load_settings(
        data_dir=tmp_path / "data", task_mode="inline", database_url=database_url))
    people = {}
    with runtime.database.session() as session:
        for role in ("clerk", "reviewer"):
            row, _ = create_api_key(session, role=role, name=f"{role} one")
            people[role] = Principal(row.id, row.name, role, center_id=row.center_id)
    service = IntakeService(runtime, make_runner(runtime))
    yield World(runtime, service, people)
    service.runner.shutdown()
    runtime.close()


def _slot(report: dict[str, Any], code: str = "operator_id_card") -> dict[str, Any]:
    slot: dict[str, Any] = next(s for s in report["slots"] if s["code"] == code)
    return slot


def _card(report: dict[str, Any]) -> dict[str, Any]:
    doc: dict[str, Any] = next(d for d in report["documents"] if d["type"] == "id_card")
    return doc


def test_a_correction_reassesses_the_case_and_keeps_the_old_value(world: World) -> None:
    reviewer = world.people["reviewer"]
    case_id = world.case_with_misread_card()
    before = world.service.case_report(case_id, principal=reviewer)
    assert _slot(before)["state"] == "invalid"
    card = _card(before)
    original = card["fields"]["id_number"]
    assert original["value"] == BAD

    after = world.service.correct_field(case_id, card["id"], "id_number", GOOD,
                                        "校验位看错，原件为 " + GOOD[-1], principal=reviewer)

    assert _slot(after)["state"] == "present"
    field = _card(after)["fields"]["id_number"]
    assert field["value"] == GOOD and field["valid"] is True
    assert field["page"] == original["page"] and field["box"] == original["box"]
    assert field["corrected"]["by"] == "reviewer one"
    assert field["corrected"]["value"] == BAD  # the old value, kept
    assert field["corrected"]["at"].endswith("+00:00")
    # the stored report (what notices and verification read) follows too
    assert _slot(world.service.case_report(case_id, principal=reviewer))["state"] == "present"
    with world.runtime.database.session() as session:
        row = session.scalars(select(FieldCorrectionRow)).one()
        assert (row.old_value, row.new_value, row.field) == (BAD, GOOD, "id_number")
        assert row.key_id == reviewer.key_id and row.reason.startswith("校验位看错")
        audit = session.scalars(select(AuditEntry).where(
            AuditEntry.action == "field.correct")).one()
        assert audit.key_id == reviewer.key_id and audit.target == case_id
        assert audit.detail["field"] == "id_number"


def test_a_clerk_sees_the_old_value_masked(world: World) -> None:
    case_id = world.case_with_misread_card()
    card = _card(world.service.case_report(case_id, principal=world.people["reviewer"]))
    world.service.correct_field(case_id, card["id"], "id_number", GOOD, "原件核对",
                                principal=world.people["reviewer"])
    seen = _card(world.service.case_report(case_id, principal=world.people["clerk"]))
    field = seen["fields"]["id_number"]
    assert GOOD not in str(seen) and BAD not in str(seen)
    assert field["corrected"]["value"].startswith(BAD[:4]) and "*" in field["corrected"]["value"]


def test_a_correction_needs_a_reason_a_known_field_and_a_document(world: World) -> None:
    reviewer = world.people["reviewer"]
    case_id = world.case_with_misread_card()
    card_id = _card(world.service.case_report(case_id, principal=reviewer))["id"]
    cases = [((card_id, "id_number", GOOD, "  "), "correction.reason_required"),
             ((card_id, "favourite_colour", "red", "x"), "correction.field_unknown"),
             (("d99", "id_number", GOOD, "x"), "document.not_found"),
             ((card_id, "id_number", "1" * 501, "x"), "correction.value_too_long")]
    for args, code in cases:
        with pytest.raises(IntakeError) as caught:
            world.service.correct_field(case_id, *args, principal=reviewer)
        assert caught.value.code == code
    with world.runtime.database.session() as session:
        assert session.scalars(select(FieldCorrectionRow)).all() == []


def test_the_latest_correction_wins_and_is_revalidated() -> None:
    catalog = load_catalog()
    doc = Document("d1", "id_card", (2,), 0.9, {"id_number": ExtractedField(
        BAD, 0.6, 2, (1.0, 2.0, 3.0, 4.0), valid=False, problem="校验位错误")})

    def fix(value: str, at: str) -> FieldCorrection:
        return FieldCorrection("d1", "id_card", (2,), "id_number", value, BAD, "r", "rev", at)

    (out,) = apply_corrections([doc], [fix(GOOD, "1"), fix(BAD, "2")], catalog)
    field = out.fields["id_number"]
    assert field.value == BAD and field.valid is False  # still checked like a reading
    assert field.box == (1.0, 2.0, 3.0, 4.0) and field.confidence == 1.0
    other = Document("d1", "id_card", (3,), 0.9, dict(doc.fields))  # renumbered: not it
    assert apply_corrections([other], [fix(GOOD, "1")], catalog)[0] is other


def test_a_role_that_sees_a_field_masked_cannot_correct_it(world: World) -> None:
    case_id = world.case_with_misread_card()
    card = _card(world.service.case_report(case_id, principal=world.people["reviewer"]))
    admin = Principal(None, "center admin", "admin", center_id=1)
    with pytest.raises(IntakeError) as caught:
        world.service.correct_field(case_id, card["id"], "id_number", GOOD, "x",
                                    principal=admin)
    assert caught.value.code == "correction.masked"
    after = world.service.correct_field(case_id, card["id"], "name", "张三", "核对",
                                        principal=admin)  # a name is not masked
    assert _card(after)["fields"]["name"]["corrected"]["by"] == "center admin"


def test_one_end_of_a_validity_range_is_corrected_as_a_date() -> None:
    catalog = load_catalog()
    doc = Document("d1", "id_card", (2,), 0.9, {
        "valid_from": ExtractedField("2010-01-01", 0.5, 2, None),
        "valid_until": ExtractedField("2020-01-01", 0.5, 2, None)})

    def fix(name: str, value: str) -> FieldCorrection:
        return FieldCorrection("d1", "id_card", (2,), name, value, None, "r", "rev", "t")

    for name, typed, value, open_ended in (("valid_until", "2030.01.01", "2030-01-01", False),
                                           ("valid_until", "长期", None, True),
                                           ("valid_from", "2011-02-03", "2011-02-03", False)):
        field = apply_corrections([doc], [fix(name, typed)], catalog)[0].fields[name]
        assert (field.value, field.valid, field.open_ended) == (value, True, open_ended)


def test_a_confirmation_keeps_the_value_as_read(world: World) -> None:
    from intake.corrections import CONFIRMED

    reviewer = world.people["reviewer"]
    case_id = world.case_with_misread_card()
    card = _card(world.service.case_report(case_id, principal=reviewer))
    after = world.service.confirm_field(case_id, card["id"], "id_number", principal=reviewer)
    field = _card(after)["fields"]["id_number"]
    assert field["value"] == BAD and field["confidence"] == 1.0
    assert field["valid"] is False  # confirming a wrong number does not make it right
    assert field["corrected"]["reason"] == CONFIRMED
    assert _slot(after)["state"] == "invalid"

