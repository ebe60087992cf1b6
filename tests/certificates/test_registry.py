"""The certificate registry and the append-only audit log on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError

from storage.audit import Actor, AuditLog
from storage.certificates import CertificateRegistry, NewCertificate, status_on
from storage.db import Database


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    database.migrate()
    yield database
    database.dispose()


def card(holder: str, *, until: date | None = date(2030, 1, 1), kind: str = "id_card",
         number: str | None = None) -> NewCertificate:
    return NewCertificate(material_type=kind, type_name=kind, number=number or holder,
                          holder_name="王小明", holder_id=holder, holder_id_type="id_number",
                          verification="reviewer", verified_by="r1", valid_until=until,
                          issuer="北京市公安局朝阳分局",
                          fields={"id_number": {"value": holder, "confidence": 0.99,
                                                "page": 2, "box": [1, 2, 3, 4]}},
                          source_pages=[2])


def test_add_search_revoke_expire(db: Database) -> None:
    with db.session() as session:
        reg = CertificateRegistry(session)
        a, created = reg.add(card("11010519491231002X"))
        again, created_again = reg.add(card("11010519491231002X"))
        assert created and not created_again and again.id == a.id  # idempotent
        lic, _ = reg.add(card("11010519491231002X", kind="business_license", number="L1"))
        old, _ = reg.add(card("11010519491231002X", until=date(2020, 1, 1)))
        reg.add(card("110105198512030011"))
        ids = {"card": a.id, "licence": lic.id, "old": old.id}
    with db.session() as session:
        reg = CertificateRegistry(session)
        found = reg.search(["11010519491231002X"], ["id_card"])
        assert [c.id for c in found] == [ids["card"], ids["old"]]  # newest end date first
        assert found[0].fields["id_number"]["page"] == 2  # provenance kept
        assert {c.material_type for c in reg.search(["11010519491231002X"])} == {
            "id_card", "business_license"}
        assert reg.search(["11010519491231002X"], []) == []
        old_row = reg.get(ids["old"])
        assert old_row is not None and status_on(old_row, date(2026, 11, 2)) == "expired"
        assert status_on(old_row, date(2019, 1, 1)) == "valid"
        assert reg.expire_due(date(2026, 11, 2)) == 1
        revoked = reg.revoke(ids["card"], by_key=None, reason="挂失")
        assert revoked is not None and revoked.status == "revoked"
        assert reg.revoke("no-such-id", by_key=None, reason="x") is None
    with db.session() as session:
        reg = CertificateRegistry(session)
        statuses = {c.id: c.status for c in reg.search(["11010519491231002X"])}
        assert statuses == {ids["card"]: "revoked", ids["licence"]: "valid",
                            ids["old"]: "expired"}
        revoked_row = reg.get(ids["card"])
        assert revoked_row is not None
        assert status_on(revoked_row, date(2000, 1, 1)) == "revoked"


def test_audit_log_is_append_only(db: Database) -> None:
    actor = Actor(None, "gov system", "system")
    with db.session() as session:
        log = AuditLog(session)
        log.append(actor, "certificate.search", result="ok", holder_id="11010519491231002X",
                   purpose="核验", case_ref="CASE-1")
        log.append(actor, "certificate.search", result="invalid", holder_id="X")
        with pytest.raises(ValueError):
            log.append(actor, "certificate.search", result="maybe")
    assert not hasattr(AuditLog, "update") and not hasattr(AuditLog, "delete")
    for statement in ("UPDATE audit_log SET result = 'ok'", "DELETE FROM audit_log"):
        with pytest.raises(DatabaseError, match="append-only"), db.session() as session:
            session.execute(text(statement))
    with db.session() as session:
        entries = AuditLog(session).entries(holder_id="11010519491231002X")
        assert [(e.result, e.case_ref) for e in entries] == [("ok", "CASE-1")]
        assert len(AuditLog(session).entries()) == 2
        assert AuditLog(session).entries(actions=["certificate.read"]) == []
