"""The tamper-evident audit log on SQLite and PostgreSQL: the hash chain, its verification,
appends that cannot fork it, group commit, signed checkpoints in the object store and the
`docintake audit` commands."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import event, text
from typer.testing import CliRunner

from intake.audit import checkpoint, verify
from intake.runtime import Runtime
from intake.settings import load_settings
from storage.audit import SERVICE, Actor, AuditLog, AuditWriter, ChainState, verify_chain
from storage.db import Database, _alembic_config

CLERK = Actor(7, "window 3", "clerk")


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    database.migrate()
    yield database
    database.dispose()


def _fill(db: Database, count: int) -> None:
    with db.session() as session:
        log = AuditLog(session)
        for i in range(count):
            log.append(CLERK, "certificate.read", result="ok", target=f"cert-{i}",
                       holder_id="11010519491231002X", purpose="设立登记", case_ref=f"SQ-{i}",
                       detail={"n": i, "名称": "营业执照"})


def _tamper(db: Database, *statements: str) -> None:
    """What someone with the database owner's password can do: lift the append-only
    triggers and rewrite rows."""
    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("DROP TRIGGER IF EXISTS audit_log_no_change ON audit_log"))
        else:
            conn.execute(text("DROP TRIGGER IF EXISTS audit_log_no_update"))
            conn.execute(text("DROP TRIGGER IF EXISTS audit_log_no_delete"))
        for statement in statements:
            conn.execute(text(statement))


def _state(db: Database) -> ChainState:
    with db.session() as session:
        return verify_chain(session)


def test_an_intact_chain_verifies_and_links_every_entry(db: Database) -> None:
    _fill(db, 5)
    state = _state(db)
    assert (state.count, state.head_seq, state.broken) == (5, 5, None)
    with db.session() as session:
        rows = session.execute(text(
            "SELECT seq, prev_hash, entry_hash FROM audit_log ORDER BY seq")).all()
    assert [r.seq for r in rows] == [1, 2, 3, 4, 5]
    assert rows[0].prev_hash == "0" * 64
    assert all(rows[i].prev_hash == rows[i - 1].entry_hash for i in range(1, 5))
    assert state.head_hash == rows[-1].entry_hash


@pytest.mark.parametrize(("statement", "seq", "problem"), [
    ("UPDATE audit_log SET result = 'denied' WHERE seq = 3", 3, "changed"),
    ("UPDATE audit_log SET detail = NULL WHERE seq = 4", 4, "changed"),
    ("DELETE FROM audit_log WHERE seq = 2", 2, "removed"),
    # an entry moved out of its place: named where it now stands, its old place is empty
    ("UPDATE audit_log SET seq = -3 WHERE seq = 3", -3, "reordered"),
])
def test_a_changed_removed_or_reordered_entry_is_named(db: Database, statement: str, seq: int,
                                                        problem: str) -> None:
    _fill(db, 5)
    _tamper(db, statement)
    state = _state(db)
    assert state.broken is not None
    assert (state.broken.seq, state.broken.problem) == (seq, problem)
    assert f"seq {seq}" in state.broken.describe()


def test_swapped_entries_are_reported_as_reordered(db: Database) -> None:
    _fill(db, 5)
    _tamper(db, "UPDATE audit_log SET seq = 100 WHERE seq = 2",
            "UPDATE audit_log SET seq = 2 WHERE seq = 3",
            "UPDATE audit_log SET seq = 3 WHERE seq = 100")
    state = _state(db)
    assert state.broken is not None and state.broken.problem == "reordered"
    assert state.broken.seq == 2


def test_concurrent_appends_in_separate_transactions_never_fork_the_chain(db: Database
                                                                          ) -> None:
    def work(n: int) -> None:
        for i in range(5):
            with db.session() as session:
                AuditLog(session).append(Actor(n, f"k{n}", "system"), "certificate.search",
                                         result="ok", target=str(i))

    threads = [threading.Thread(target=work, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    state = _state(db)
    assert (state.count, state.broken) == (30, None)


def test_a_rolled_back_append_leaves_no_gap_and_releases_the_chain(db: Database) -> None:
    _fill(db, 2)
    with pytest.raises(RuntimeError), db.session() as session:
        AuditLog(session).append(CLERK, "certificate.read", result="ok")
        raise RuntimeError("the business transaction fails after auditing")
    _fill(db, 1)  # would block forever if the chain lock had leaked
    state = _state(db)
    assert (state.count, state.broken) == (3, None)


def test_an_append_after_other_writes_and_one_before_them_both_go_through(db: Database
                                                                          ) -> None:
    """An assessment writes, then audits; meanwhile a request audits a read. Neither may
    wait for the other for ever (on SQLite they did, until "database is locked")."""
    with db.engine.begin() as conn:
        conn.execute(text("CREATE TABLE scratch_work (n INTEGER)"))
    request_locking = threading.Event()
    errors: list[BaseException] = []

    def note(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if threading.current_thread().name == "request" and "audit_log" in statement:
            request_locking.set()  # the request is taking the chain (or reading its head)

    def request() -> None:
        try:
            with db.session() as session:
                AuditLog(session).append(CLERK, "certificate.read", result="ok")
        except BaseException as exc:
            errors.append(exc)

    event.listen(db.engine, "before_cursor_execute", note)
    try:
        with db.session() as session:
            session.execute(text("INSERT INTO scratch_work VALUES (1)"))  # the writes first
            reader = threading.Thread(target=request, name="request")
            reader.start()
            request_locking.wait()
            AuditLog(session).append(SERVICE, "certificate.lookup", result="ok")
        reader.join()
    finally:
        event.remove(db.engine, "before_cursor_execute", note)
    assert errors == []
    state = _state(db)
    assert (state.count, state.broken) == (2, None)


def test_group_commit_answers_only_durable_entries_and_shares_flushes(db: Database) -> None:
    commits = 0

    def count(_conn: object) -> None:
        nonlocal commits
        commits += 1

    event.listen(db.engine, "commit", count)
    writer = AuditWriter(db)
    seqs: list[int] = []
    seen_by_others: list[bool] = []
    start = threading.Barrier(24)

    def request(n: int) -> None:
        start.wait()
        seq = writer.append(Actor(n, f"system {n}", "system"), "certificate.search",
                            result="ok", holder_id="91350100M000100Y43")
        seqs.append(seq)
        # the moment append returns, any other connection sees the entry
        with db.session() as session:
            seen_by_others.append(session.execute(
                text("SELECT count(*) FROM audit_log WHERE seq = :s"), {"s": seq}).scalar() == 1)

    threads = [threading.Thread(target=request, args=(n,)) for n in range(24)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    writer.close()
    event.remove(db.engine, "commit", count)
    assert sorted(seqs) == list(range(1, 25)) and all(seen_by_others)
    if db.engine.dialect.name == "postgresql":
        # The writer commits on psycopg's connection: count the transactions that wrote.
        with db.engine.connect() as conn:
            writer_commits = conn.scalar(text("SELECT count(DISTINCT xmin::text) "
                                              "FROM audit_log"))
    else:
        writer_commits = commits - len(seen_by_others)  # the readers' sessions commit too
    assert 1 <= writer_commits < 24  # at least two entries shared a flush
    assert _state(db).broken is None


def test_a_batch_is_one_insert_after_one_head_read_and_links_in_order(db: Database) -> None:
    _fill(db, 2)
    statements: list[str] = []

    def note(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        statements.append(statement.split()[0].upper() + " " + statement.split()[1])

    event.listen(db.engine, "before_cursor_execute", note)
    with db.session() as session:
        written = AuditLog(session).append_many(
            [(Actor(n, f"system {n}", "system"), "certificate.search",
              {"result": "ok", "holder_id": f"H{n}", "detail": {"n": n}}) for n in range(5)])
    event.remove(db.engine, "before_cursor_execute", note)
    assert [e.seq for e in written] == [3, 4, 5, 6, 7]
    assert [e.prev_hash for e in written[1:]] == [e.entry_hash for e in written[:-1]]
    # PostgreSQL returns the new ids of a multi-row INSERT in order; SQLite cannot, so the
    # ORM writes its rows one by one there (in-process, without a round trip).
    inserts = 1 if db.engine.dialect.name == "postgresql" else 5
    assert sum(s.startswith("INSERT") for s in statements) == inserts
    assert sum("audit_log.seq" in s for s in statements) == 1  # the head, read once
    state = _state(db)
    assert (state.count, state.head_hash, state.broken) == (7, written[-1].entry_hash, None)


def test_a_batch_with_an_invalid_entry_writes_nothing(db: Database) -> None:
    with pytest.raises(ValueError, match="unknown audit result"), db.session() as session:
        AuditLog(session).append_many([(SERVICE, "a", {"result": "ok"}),
                                       (SERVICE, "b", {"result": "maybe"})])
    assert _state(db).count == 0


def test_group_commit_reports_a_failed_write_to_its_caller(db: Database) -> None:
    writer = AuditWriter(db)
    with pytest.raises(ValueError, match="unknown audit result"):
        writer.append(SERVICE, "x", result="maybe")
    _tamper(db, "DROP TABLE audit_log")
    with pytest.raises(Exception, match="audit_log"):
        writer.append(SERVICE, "certificate.read", result="ok")
    writer.close()


def test_two_group_committing_processes_never_fork_the_chain(db: Database) -> None:
    # Two writers on two engines (two API processes): their batches take turns at the
    # chain lock, each entry follows the one before it whoever wrote it.
    other = Database(db.url)
    writers = [AuditWriter(db), AuditWriter(other)]
    seqs: list[int] = []
    start = threading.Barrier(16)

    def request(n: int) -> None:
        start.wait()
        for i in range(3):
            seqs.append(writers[n % 2].append(Actor(n, f"system {n}", "system"),
                                              "certificate.search", result="ok",
                                              detail={"request": n, "i": i}))

    threads = [threading.Thread(target=request, args=(n,)) for n in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for writer in writers:
        writer.close()
    other.dispose()
    assert sorted(seqs) == list(range(1, 49))
    state = _state(db)
    assert (state.count, state.broken) == (48, None)


def test_a_failed_batch_fails_its_callers_only_and_hands_the_turn_on(
        db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    import storage.audit as audit

    real = audit.commit_entries
    failing = threading.Event()
    failing.set()
    writing = threading.Event()
    release = threading.Event()

    def first_batch_fails(database: object, entries: object) -> list[int]:
        if failing.is_set():
            failing.clear()
            writing.set()
            release.wait(10)  # the others queue behind this batch meanwhile
            raise RuntimeError("the disk is full")
        return real(database, entries)  # type: ignore[arg-type]

    monkeypatch.setattr(audit, "commit_entries", first_batch_fails)
    writer = AuditWriter(db)
    outcomes: dict[int, object] = {}

    def request(n: int) -> None:
        try:
            outcomes[n] = writer.append(CLERK, "certificate.read", result="ok", target=str(n))
        except RuntimeError as error:
            outcomes[n] = error

    first = threading.Thread(target=request, args=(0,))
    first.start()
    assert writing.wait(10)
    queued = [threading.Thread(target=request, args=(n,)) for n in range(1, 5)]
    for t in queued:
        t.start()
    release.set()
    for t in [first, *queued]:
        t.join(10)
    writer.close()
    assert isinstance(outcomes[0], RuntimeError)  # its batch failed: it is told
    assert sorted(v for k, v in outcomes.items() if k) == [1, 2, 3, 4]  # the next turn wrote
    assert _state(db).count == 4


def test_the_migration_chains_entries_written_before_it(database_url: str) -> None:
    db = Database(database_url)
    with db.engine.begin() as conn:
        config = _alembic_config(database_url)
        config.attributes["connection"] = conn
        command.upgrade(config, "0002")
        for i in range(3):
            conn.execute(text(
                "INSERT INTO audit_log (at, actor, role, action, result, detail) VALUES "
                "(:at, 'old', 'admin', 'certificate.revoke', 'ok', :detail)"),
                {"at": f"2026-11-2{i} 10:00:00+00:00", "detail": '{"reason": "遗失"}'})
    db.migrate()
    state = _state(db)
    assert (state.count, state.broken) == (3, None)
    with pytest.raises(Exception, match="append-only"), db.session() as session:
        session.execute(text("UPDATE audit_log SET result = 'denied'"))
    db.dispose()


# -- checkpoints ----------------------------------------------------------------------------
@pytest.fixture
def runtime(tmp_path: Path, database_url: str) -> Iterator[Runtime]:
    settings = load_settings(data_dir=tmp_path / "data", database_url=database_url,
                             task_mode="inline")
    rt = Runtime.from_settings(settings)
    yield rt
    rt.close()


def test_a_checkpoint_catches_a_cut_off_tail_and_a_rewritten_log(runtime: Runtime) -> None:
    db = runtime.database
    _fill(db, 4)
    assert verify(runtime).ok  # no checkpoint yet: the chain alone
    signed = checkpoint(runtime)
    assert signed.count == 4
    _fill(db, 2)
    result = verify(runtime)
    assert result.ok and result.count == 6 and "extends the checkpoint" in result.message

    _tamper(db, "DELETE FROM audit_log WHERE seq >= 4")  # a valid but shorter chain
    assert _state(db).broken is None
    result = verify(runtime)
    assert not result.ok and "cut off" in result.message and "3" in result.message


def test_a_rewritten_and_rehashed_log_fails_against_the_checkpoint(runtime: Runtime) -> None:
    from storage.audit import entry_digest
    from storage.models import AuditEntry

    db = runtime.database
    _fill(db, 3)
    checkpoint(runtime)
    _tamper(db)
    # An attacker who knows the algorithm rewrites entry 2 and re-hashes the rest.
    with db.session() as session:
        entries = list(session.query(AuditEntry).order_by(AuditEntry.seq))
        entries[1].result = "denied"
        prev = entries[0].entry_hash
        for entry in entries[1:]:
            entry.prev_hash = prev
            entry.entry_hash = prev = entry_digest(entry, prev)
    assert _state(db).broken is None  # the chain alone cannot tell
    result = verify(runtime)
    assert not result.ok and "rewritten" in result.message


def test_a_forged_checkpoint_is_not_accepted(runtime: Runtime) -> None:
    _fill(runtime.database, 2)
    checkpoint(runtime)
    key = runtime.objects.keys("audit/checkpoints/")[-1]
    forged = runtime.objects.get(key).decode().replace("\n2\n", "\n1\n", 1)
    runtime.objects.put("audit/checkpoints/999999999999-forged.note", forged.encode())
    result = verify(runtime)
    assert not result.ok and "not genuine" in result.message


def test_the_cli_verifies_and_names_the_first_bad_entry(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    from api.cli import app

    monkeypatch.setenv("DOCINTAKE_DATA_DIR", str(tmp_path / "cli"))
    runner = CliRunner()
    settings = load_settings(data_dir=tmp_path / "cli")
    rt = Runtime.from_settings(settings)
    _fill(rt.database, 3)
    ok = runner.invoke(app, ["audit", "checkpoint"])
    assert ok.exit_code == 0, ok.output
    good = runner.invoke(app, ["audit", "verify"])
    assert good.exit_code == 0 and "3 entries" in good.output
    _tamper(rt.database, "UPDATE audit_log SET purpose = '其他' WHERE seq = 2")
    bad = runner.invoke(app, ["audit", "verify"])
    rt.close()
    assert bad.exit_code == 1
    assert "seq 2" in bad.output and "changed" in bad.output
