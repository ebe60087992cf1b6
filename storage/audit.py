"""The append-only, tamper-evident audit log: who (key, name, role) did what to which case or
certificate, for which purpose and case, when, and with what result.

There is deliberately no update or delete here, and the database refuses both with a
trigger (see migration 0002). That stops honest code, not someone with the database's
owner password, so the log also proves itself:

* **A hash chain.** Every entry carries its position `seq` (1, 2, 3 … without gaps), the
  hash of the entry before it, and its own hash: SHA-256 over a canonical encoding of all
  its fields and that previous hash (`entry_digest`). Changing, removing or reordering an
  entry breaks the chain from there on; `verify_chain` replays it and names the first
  entry that does not fit.
* **One writer at a time.** Appends take the chain lock (a PostgreSQL transaction-level
  advisory lock, SQLite's own write lock) before reading the head, and hold it until their
  transaction ends, so two appends can never both extend the same head: the chain cannot
  fork. `seq` is also unique in the schema.
* **Group commit.** A certificate query must not answer before its audit entry is durable,
  but one disk flush per query caps throughput under concurrency. `AuditWriter` collects
  the entries of concurrent requests, appends them in one transaction and one flush, and
  then releases every waiting request (`AuditWriter.append` blocks until then); the
  requests' own threads take turns writing the batches.

Signed checkpoints of the chain's head, kept outside the database, catch a cut-off tail:
see `intake.audit`.

The holder's ID is stored in full in this table so a holder can ask "who used my
certificates"; it is never written to application logs, and list views mask it.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, event, func, insert, select, text
from sqlalchemy.orm import Session, SessionTransaction

from storage.models import AuditEntry

if TYPE_CHECKING:
    from storage.db import Database

RESULTS = ("ok", "denied", "invalid", "not_found")
GENESIS = "0" * 64
"""The `prev_hash` of the first entry."""
CHAIN_FORMAT = 1
"""Version of the canonical encoding, hashed into every entry."""
_ADVISORY_KEY = 0x646F6361756469  # "docaudi": the chain lock's PostgreSQL advisory key


@dataclass(frozen=True)
class Actor:
    """Who acts: an API key, or the service itself (`key_id` None, role `service`)."""

    key_id: int | None
    name: str
    role: str
    scopes: tuple[str, ...] = ()


SERVICE = Actor(None, "docintake", "service")


def _fit(text: str | None, length: int) -> str | None:
    """Request text as an audit column can hold it: control characters (NUL, which
    PostgreSQL refuses in text, among them) as visible escapes, cut to the column's length.
    A refused request is recorded whatever it sent."""
    if not text:
        return None
    safe = "".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in text)
    return safe if len(safe) <= length else safe[:length - 1] + "…"


def _utc(moment: datetime) -> datetime:
    """SQLite hands timestamps back without a zone; they were written in UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _canonical_digest(values: Mapping[str, Any], prev_hash: str) -> str:
    fields = [
        CHAIN_FORMAT, values["seq"], prev_hash,
        _utc(values["at"]).isoformat(timespec="microseconds"), values["key_id"],
        values["actor"], values["role"], values["action"], values["target"],
        values["holder_id"], values["purpose"], values["case_ref"], values["result"],
        values["detail"],
    ]
    encoded = json.dumps(fields, ensure_ascii=False, sort_keys=True, separators=(",", ":"),
                         default=str)
    return hashlib.sha256(encoded.encode("utf-8")).hexdigest()


_DIGESTED = ("seq", "at", "key_id", "actor", "role", "action", "target", "holder_id",
             "purpose", "case_ref", "result", "detail")


def entry_digest(entry: AuditEntry, prev_hash: str) -> str:
    """SHA-256 over the canonical encoding of an entry: every field, in a fixed order, as
    compact UTF-8 JSON with sorted object keys, plus the previous entry's hash."""
    return _canonical_digest({name: getattr(entry, name) for name in _DIGESTED}, prev_hash)


# -- the chain lock -------------------------------------------------------------------------
def _release_at_end(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is not None:  # a savepoint ends, the transaction goes on
        return
    session.info.pop("audit_chain_lock", None)  # the database released it with the transaction


def _take_chain_lock(session: Session) -> None:
    """Hold the chain lock until this session's transaction ends (commit or rollback).

    PostgreSQL: a transaction-level advisory lock. SQLite: the database's own write lock
    (one writer at a time anyway), taken by a statement that changes nothing. Not a lock of
    our own beside it: a transaction that wrote first (an assessment) and then appends
    would hold SQLite's lock while waiting for ours, and one that appends first (a request
    auditing a read) would hold ours while waiting for SQLite's — each waiting for the
    other until SQLite gave up ("database is locked")."""
    if "audit_chain_lock" in session.info:
        return
    if not session.info.get("audit_chain_listener"):
        event.listen(session, "after_transaction_end", _release_at_end)
        session.info["audit_chain_listener"] = True
    _lock_chain(session.connection())
    session.info["audit_chain_lock"] = True


def _lock_chain(conn: Connection) -> None:
    """Take the chain lock for the rest of `conn`'s transaction (see `_take_chain_lock`)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ADVISORY_KEY})
    else:
        # Deletes no row (the append-only triggers fire per row): it only makes this
        # transaction SQLite's writer, waiting (busy_timeout) for the one before it, so
        # the head read next is the newest.
        conn.execute(text("DELETE FROM audit_log WHERE 0"))


_HEAD = select(AuditEntry.seq, AuditEntry.entry_hash).order_by(AuditEntry.seq.desc()).limit(1)


def _head(conn: Session | Connection) -> tuple[int, str]:
    row = conn.execute(_HEAD).first()
    return (0, GENESIS) if row is None else (int(row[0]), str(row[1]))


def _values(seq: int, prev_hash: str, actor: Actor, action: str, *, result: str,
            target: str | None = None, holder_id: str | None = None,
            purpose: str | None = None, case_ref: str | None = None,
            detail: dict[str, Any] | None = None) -> dict[str, Any]:
    """An entry's columns, its hash included."""
    values: dict[str, Any] = {
        "seq": seq, "prev_hash": prev_hash, "at": datetime.now(UTC),
        "key_id": actor.key_id, "actor": actor.name[:200], "role": actor.role,
        "action": action[:50], "target": _fit(target, 200), "holder_id": _fit(holder_id, 64),
        "purpose": _fit(purpose, 500), "case_ref": _fit(case_ref, 200), "result": result,
        "detail": detail}
    values["entry_hash"] = _canonical_digest(values, prev_hash)
    return values


def _entry(seq: int, prev_hash: str, actor: Actor, action: str, **fields: Any) -> AuditEntry:
    return AuditEntry(**_values(seq, prev_hash, actor, action, **fields))


def _check_results(entries: Sequence[tuple[Actor, str, Mapping[str, Any]]]) -> None:
    for _, _, fields in entries:
        if fields.get("result") not in RESULTS:
            raise ValueError(f"unknown audit result {fields.get('result')!r}")


def _chained(seq: int, prev_hash: str,
             entries: Sequence[tuple[Actor, str, Mapping[str, Any]]]) -> list[dict[str, Any]]:
    """The entries' rows, linked after the head (`seq`, `prev_hash`)."""
    rows = []
    for actor, action, fields in entries:
        seq += 1
        values = _values(seq, prev_hash, actor, action, **fields)
        prev_hash = values["entry_hash"]
        rows.append(values)
    return rows


def commit_entries(database: Database,
                   entries: Sequence[tuple[Actor, str, Mapping[str, Any]]]) -> list[int]:
    """`AuditLog.append_many` in a transaction of its own, committed: the group commit's
    batch, without the ORM (no objects, one INSERT). Returns the entries' `seq` once
    they are durable."""
    _check_results(entries)
    if not entries:
        return []
    if database.engine.dialect.name == "postgresql":
        rows = _commit_postgresql(database, entries)
    else:
        with database.engine.begin() as conn:
            _lock_chain(conn)
            rows = _chained(*_head(conn), entries)
            conn.execute(_INSERT, rows)
    return [row["seq"] for row in rows]


_INSERT = insert(AuditEntry)
_COLUMNS = ("seq", "prev_hash", "entry_hash", "at", "key_id", "actor", "role", "action",
            "target", "holder_id", "purpose", "case_ref", "result", "detail")


def _commit_postgresql(database: Database,
                       entries: Sequence[tuple[Actor, str, Mapping[str, Any]]]
                       ) -> list[dict[str, Any]]:
    """The same statements (chain lock, head, one multi-row INSERT, COMMIT) on psycopg's
    own connection in pipeline mode: two round trips, BEGIN + lock + head, then INSERT +
    COMMIT. Every certificate query waits for this, and each round trip and each statement
    through SQLAlchemy's machinery showed in its latency. The lock is still taken before
    the head is read: a pipeline runs its statements in order, each with its own snapshot.
    """
    from psycopg.types.json import Json

    with database.engine.connect() as conn:  # no SQLAlchemy transaction: psycopg's own
        dbapi = conn.connection.dbapi_connection
        assert dbapi is not None
        cursor = dbapi.cursor()
        try:
            with dbapi.pipeline():
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", (_ADVISORY_KEY,))
                cursor.execute("SELECT seq, entry_hash FROM audit_log "
                               "ORDER BY seq DESC LIMIT 1")
                head = cursor.fetchone()  # the first round trip
                rows = _chained(*((0, GENESIS) if head is None
                                  else (int(head[0]), str(head[1]))), entries)
                one = "(" + ", ".join(["%s"] * len(_COLUMNS)) + ")"
                cursor.execute(
                    f"INSERT INTO audit_log ({', '.join(_COLUMNS)}) VALUES "
                    + ", ".join([one] * len(rows)),
                    [Json(row[c]) if c == "detail" and row[c] is not None else row[c]
                     for row in rows for c in _COLUMNS])
                dbapi.commit()  # the second: durable when it returns
        finally:
            cursor.close()  # after a failure the pool rolls the connection back
    return rows


class AuditLog:
    def __init__(self, session: Session) -> None:
        self.session = session

    def append(self, actor: Actor, action: str, *, result: str, target: str | None = None,
               holder_id: str | None = None, purpose: str | None = None,
               case_ref: str | None = None, detail: dict[str, Any] | None = None
               ) -> AuditEntry:
        return self.append_many([(actor, action, {
            "result": result, "target": target, "holder_id": holder_id, "purpose": purpose,
            "case_ref": case_ref, "detail": detail})])[0]

    def append_many(self, entries: Sequence[tuple[Actor, str, Mapping[str, Any]]]
                    ) -> list[AuditEntry]:
        """Append several entries in order, each `(actor, action, fields)` with the keyword
        arguments of `append`: the chain lock taken and the head read once, and the rows
        written in one INSERT (the group commit's batch costs a few round trips, not a few
        per entry). Nothing is written when any entry is invalid."""
        _check_results(entries)
        if not entries:
            return []
        _take_chain_lock(self.session)
        seq, prev_hash = _head(self.session)
        written: list[AuditEntry] = []
        for actor, action, fields in entries:
            seq += 1
            entry = _entry(seq, prev_hash, actor, action, **fields)
            prev_hash = entry.entry_hash
            written.append(entry)
        self.session.add_all(written)
        self.session.flush()
        return written

    def entries(self, *, holder_id: str | None = None, key_id: int | None = None,
                since: datetime | None = None, actions: Collection[str] | None = None,
                before_id: int | None = None, limit: int = 100,
                key_ids: Collection[int] | None = None) -> list[AuditEntry]:
        """Newest first; `before_id` pages backwards; `key_ids` keeps the entries of
        those keys only (a center's keys)."""
        query = select(AuditEntry)
        if key_ids is not None:
            query = query.where(AuditEntry.key_id.in_(list(key_ids)))
        if holder_id is not None:
            query = query.where(AuditEntry.holder_id == holder_id)
        if key_id is not None:
            query = query.where(AuditEntry.key_id == key_id)
        if since is not None:
            query = query.where(AuditEntry.at >= since)
        if actions:
            query = query.where(AuditEntry.action.in_(list(actions)))
        if before_id is not None:
            query = query.where(AuditEntry.id < before_id)
        return list(self.session.scalars(query.order_by(AuditEntry.id.desc()).limit(limit)))

    def case_refs(self, action: str, target: str, *, holder_id: str | None) -> list[str]:
        """The cases (by reference) this action on this target was recorded for, oldest
        first; by the holder's index."""
        rows = self.session.execute(
            select(AuditEntry.case_ref, func.min(AuditEntry.id))
            .where(AuditEntry.holder_id == holder_id, AuditEntry.action == action,
                   AuditEntry.target == target, AuditEntry.case_ref.is_not(None))
            .group_by(AuditEntry.case_ref).order_by(func.min(AuditEntry.id)))
        return [ref for ref, _ in rows if ref is not None]

    def seen(self, action: str, target: str, case_ref: str) -> bool:
        """Whether this action on this target for this case was already recorded."""
        return self.session.scalar(
            select(AuditEntry.id).where(AuditEntry.action == action,
                                        AuditEntry.target == target,
                                        AuditEntry.case_ref == case_ref).limit(1)) is not None


# -- verification ---------------------------------------------------------------------------
@dataclass(frozen=True)
class ChainBreak:
    """The first entry that does not fit the chain, and how."""

    seq: int
    entry_id: int | None
    problem: str  # changed / removed / reordered

    def describe(self) -> str:
        where = f"entry seq {self.seq}" + (f" (id {self.entry_id})" if self.entry_id else "")
        return {
            "changed": f"{where} was changed: its content no longer matches its hash",
            "removed": f"{where} is missing: the entry was removed",
            "reordered": f"{where} does not follow the entry before it: entries were "
                         "reordered or replaced",
        }[self.problem]


@dataclass(frozen=True)
class ChainState:
    count: int
    head_seq: int
    head_hash: str
    broken: ChainBreak | None = None
    hashes: dict[int, str] = field(default_factory=dict, repr=False)
    """Hashes at the positions asked for (`verify_chain(..., remember=...)`)."""


def _ordered(session: Session) -> Iterator[AuditEntry]:
    yield from session.scalars(
        select(AuditEntry).order_by(AuditEntry.seq).execution_options(yield_per=1000))


def verify_chain(session: Session, remember: Collection[int] = ()) -> ChainState:
    """Replay the whole chain from the first entry; stop at the first that does not fit."""
    expected, prev_hash, count = 1, GENESIS, 0
    hashes: dict[int, str] = {}
    for entry in _ordered(session):
        if entry.seq > expected:
            return ChainState(count, expected - 1, prev_hash,
                              ChainBreak(expected, None, "removed"), hashes)
        if entry.seq < expected or entry.prev_hash != prev_hash:
            return ChainState(count, expected - 1, prev_hash,
                              ChainBreak(entry.seq, entry.id, "reordered"), hashes)
        if entry_digest(entry, prev_hash) != entry.entry_hash:
            return ChainState(count, expected - 1, prev_hash,
                              ChainBreak(entry.seq, entry.id, "changed"), hashes)
        prev_hash, count, expected = entry.entry_hash, count + 1, expected + 1
        if entry.seq in remember:
            hashes[entry.seq] = prev_hash
        session.expunge(entry)  # a long chain is streamed, not kept
    return ChainState(count, expected - 1, prev_hash, None, hashes)


# -- group commit ---------------------------------------------------------------------------
@dataclass
class _Pending:
    actor: Actor
    action: str
    fields: dict[str, Any]
    wake: threading.Event = field(default_factory=threading.Event)
    lead: bool = False  # this caller writes the next batch
    written: bool = False  # the batch holding this entry has ended (committed or failed)
    seq: int | None = None
    error: BaseException | None = None


class AuditWriter:
    """Durable audit appends shared between concurrent requests (group commit).

    `append` blocks until the transaction holding its entry has committed. The callers
    themselves write (leader and followers, no writer thread to hand entries to and wake):
    a caller arriving while no batch is being written writes one at once, with whatever
    entries are waiting (up to `max_batch`); a caller arriving during a write waits, and
    when that batch has committed the first waiting caller is woken to write the next one,
    holding every entry that arrived meanwhile. Under load many entries share one
    transaction and one flush to disk; alone, an entry waits for exactly one. Nothing is
    acknowledged before it is durable, so no entry is lost by answering early."""

    def __init__(self, database: Database, *, max_batch: int = 500) -> None:
        self.database = database
        self.max_batch = max_batch
        self._lock = threading.Lock()
        self._waiting: list[_Pending] = []
        self._writing = False  # a caller is writing a batch; the next waits its turn
        self._idle = threading.Condition(self._lock)
        self._closed = False

    def append(self, actor: Actor, action: str, **fields: Any) -> int:
        """Append one entry durably; returns its `seq`. Raises what the database raised."""
        if fields.get("result") not in RESULTS:
            raise ValueError(f"unknown audit result {fields.get('result')!r}")
        if self._closed:
            raise RuntimeError("the audit writer is closed")
        pending = _Pending(actor, action, fields)
        with self._lock:
            self._waiting.append(pending)
            if not self._writing:
                self._writing = pending.lead = True
        while True:
            if pending.lead:
                pending.lead = False
                self._write_next()
            if pending.written:
                break
            pending.wake.wait()
            pending.wake.clear()
        if pending.error is not None:
            raise pending.error
        assert pending.seq is not None
        return pending.seq

    def _write_next(self) -> None:
        """Write the waiting entries as one batch, then hand the turn on (or end it)."""
        with self._lock:
            batch = self._waiting[:self.max_batch]
            del self._waiting[:len(batch)]
        try:
            self._write(batch)
        finally:
            with self._lock:
                if self._waiting:
                    following = self._waiting[0]
                    following.lead = True
                    following.wake.set()
                else:
                    self._writing = False
                    self._idle.notify_all()

    def _write(self, batch: list[_Pending]) -> None:
        try:
            seqs = commit_entries(self.database,
                                  [(p.actor, p.action, p.fields) for p in batch])
        except BaseException as exc:  # every caller learns its entry was not written
            for pending in batch:
                pending.error = exc
                pending.written = True
                pending.wake.set()
            return
        for pending, seq in zip(batch, seqs, strict=True):
            pending.seq = seq
            pending.written = True
            pending.wake.set()

    def close(self, timeout: float = 10.0) -> None:
        """Refuse new entries and wait (at most `timeout`) for those in flight."""
        self._closed = True
        with self._lock:
            self._idle.wait_for(lambda: not self._writing, timeout)
