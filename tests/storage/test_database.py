"""The same migrations on SQLite and PostgreSQL, and the repositories over both."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from storage.apikeys import (
    ApiKeyError,
    authenticate,
    check_key,
    create_api_key,
    note_use_of,
    revoke_api_key,
)
from storage.cases import CaseRepository
from storage.db import Database
from storage.models import Base


def test_migrations_build_the_schema_the_models_describe(database_url: str) -> None:
    db = Database(database_url)
    db.migrate()
    db.migrate()  # a second start finds nothing to do
    assert db.current_revision() == Database.head_revision()
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    db.dispose()
    assert diff == []


def test_api_keys_are_stored_hashed_and_checked(database_url: str) -> None:
    db = Database(database_url)
    db.migrate()
    with db.session() as session:
        row, plaintext = create_api_key(session, role="clerk", name="window 3")
        key_id = row.id
        assert plaintext not in (row.key_hash, row.prefix)
        assert plaintext.startswith(f"dik_{row.prefix}_")
    with db.session() as session:
        found = authenticate(session, plaintext)
        assert found is not None and found.role == "clerk"
        tampered = plaintext[:-1] + ("A" if plaintext[-1] != "A" else "B")
        assert authenticate(session, tampered) is None
        assert authenticate(session, "not-a-key") is None
        assert revoke_api_key(session, key_id)
    with db.session() as session:
        assert authenticate(session, plaintext) is None
    with db.session() as session, pytest.raises(ApiKeyError):
        create_api_key(session, role="superuser", name="x")
    db.dispose()


def test_a_request_checks_its_key_on_a_plain_connection(database_url: str) -> None:
    db = Database(database_url)
    db.migrate()
    with db.session() as session:
        row, plaintext = create_api_key(session, role="system", name="tax bureau",
                                        scopes=["id_card"], purposes=["纳税核验"])
        key_id = row.id
    start = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    with db.reading() as conn:
        key = check_key(conn, plaintext)
        assert key is not None and (key.id, key.role, key.scopes, key.purposes) == (
            key_id, "system", ("id_card",), ("纳税核验",))
        assert check_key(conn, plaintext[:-1] + ("A" if plaintext[-1] != "A" else "B")) \
            is None
        assert check_key(conn, "not-a-key") is None
        note_use_of(conn, key, start)

    def last_used() -> datetime | None:
        with db.reading() as conn:
            key = check_key(conn, plaintext)
            assert key is not None
            return key.last_used_at

    assert last_used() == start
    with db.reading() as conn:  # within the resolution: not written again
        note_use_of(conn, key, start + timedelta(seconds=30))
    assert last_used() == start
    with db.reading() as conn:  # a stale read of the key does not move it back either
        note_use_of(conn, key, start + timedelta(seconds=90))
        key = check_key(conn, plaintext)
        assert key is not None
        note_use_of(conn, key, start + timedelta(seconds=100))
    assert last_used() == start + timedelta(seconds=90)
    with db.session() as session:
        revoke_api_key(session, key_id)
    with db.reading() as conn:
        key = check_key(conn, plaintext)
        assert key is not None and key.revoked_at is not None
    db.dispose()


def test_a_pooled_connection_the_server_ended_is_replaced_at_checkout(
        postgres_url: str) -> None:
    db, admin = Database(postgres_url), Database(postgres_url)
    with db.engine.connect() as conn:
        first = conn.scalar(text("SELECT pg_backend_pid()"))
    with db.engine.connect() as conn:  # the pool hands the same connection out again
        assert conn.scalar(text("SELECT pg_backend_pid()")) == first
    with admin.reading() as conn:  # a restart or an operator ends it meanwhile
        conn.execute(text("SELECT pg_terminate_backend(:pid, 10000)"), {"pid": first})
    with db.engine.connect() as conn:  # no error: another connection is handed out
        assert conn.scalar(text("SELECT 1")) == 1
        assert conn.scalar(text("SELECT pg_backend_pid()")) != first
    db.dispose()
    admin.dispose()


def test_same_file_is_stored_once_per_case(database_url: str) -> None:
    db = Database(database_url)
    db.migrate()
    with db.session() as session:
        repo = CaseRepository(session)
        case = repo.create_case(item_code="company-establishment",
                                acceptance_date=date(2026, 11, 2))
        batch = repo.create_batch(case, "key-1")
        row = repo.add_file(batch, sha256="a" * 64, filename="a.pdf", content_type=None,
                            size=10, object_key="originals/aa")
        pages = repo.create_pages(row, "pdf", 3)
        again = repo.create_pages(row, "pdf", 3)  # a redelivered split changes nothing
        assert [p.id for p in pages] == [p.id for p in again]
        assert [p.sequence for p in pages] == [1, 2, 3]
        assert repo.find_file(case.id, "a" * 64) is row
        assert repo.find_batch_by_key(case.id, "key-1") is batch
        case_id = case.id
    with pytest.raises(IntegrityError), db.session() as session:
        repo = CaseRepository(session)
        case = repo.get_case(case_id)
        assert case is not None
        batch = repo.create_batch(case)
        repo.add_file(batch, sha256="a" * 64, filename="copy.pdf", content_type=None,
                      size=10, object_key="originals/aa")
    db.dispose()


def test_stored_reports_move_into_assessments_and_back(database_url: str) -> None:
    """Migration 0010: a report stored on a case becomes its first assessment, with an
    empty catalog version so that the next start-up assesses it again; downgrading puts
    the newest one back on the case."""
    import json

    from alembic import command
    from sqlalchemy import inspect, text

    from storage.db import _alembic_config

    db = Database(database_url)

    def migrate(target: str, *, down: bool = False) -> None:
        with db.engine.begin() as connection:
            config = _alembic_config(database_url)
            config.attributes["connection"] = connection
            (command.downgrade if down else command.upgrade)(config, target)

    migrate("0002")
    report = {"status": "incomplete", "slots": [], "documents": [], "unassigned_pages": []}
    with db.engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO cases (id, number, item_code, acceptance_date, facts, created_at, "
            "status, report, report_updated_at) VALUES ('c1', 'SQ1', 'x', '2026-11-02', '{}', "
            "'2026-11-02 09:00:00+00', 'incomplete', :report, '2026-11-02 10:00:00+00')"),
            {"report": json.dumps(report)})
    migrate("head")
    with db.engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT case_id, report, status, catalog_version, reason FROM assessments")).all()
        columns = {c["name"] for c in inspect(conn).get_columns("cases")}
        tables = set(inspect(conn).get_table_names())
    assert [(r[0], r[2], r[3], r[4]) for r in rows] == [("c1", "incomplete", "", "migrated")]
    stored = rows[0][1]
    assert (json.loads(stored) if isinstance(stored, str) else stored) == report
    assert "report" not in columns and "documents" not in tables

    migrate("0009_field_corrections", down=True)
    with db.engine.connect() as conn:
        back = conn.execute(text("SELECT report FROM cases WHERE id = 'c1'")).scalar_one()
    assert (json.loads(back) if isinstance(back, str) else back) == report
    db.dispose()
