"""Database connection and schema migration.

SQLite is the embedded default; PostgreSQL is the production database. Both are brought to
the current schema by the same Alembic migrations (`migrate`).
"""

from __future__ import annotations

import secrets
import select
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event, exc, text
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
IDLE_PING_SECONDS = 10.0
"""A pooled PostgreSQL connection idle for longer than this is pinged (a round trip)
before it is handed out; a busier one only gets the check that costs none (see
`_checked_out`)."""


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets the API read while the in-process worker writes; foreign keys are off by
    # default in SQLite and we rely on them.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _server_closed(dbapi_connection: Any) -> bool:
    """Whether the server has ended an idle connection, found without a round trip: a
    restarted or terminating server sends its FATAL message and closes the socket, so an
    idle connection with something to read (or none left to read from) is finished."""
    if getattr(dbapi_connection, "closed", False):
        return True
    try:
        readable, _, _ = select.select([dbapi_connection.fileno()], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)


def _pessimistic_checkout(engine: Engine) -> None:
    """`pool_pre_ping` costs a round trip on every checkout, and a request checks out more
    than once. Instead (the idea of PgBouncer's `server_check_delay`): every checkout looks
    at the socket, which costs nothing and catches a restarted or terminated server; a
    connection idle for more than `IDLE_PING_SECONDS` is also pinged, which catches one
    that died silently (a dropped network path). A failed check discards the connection
    and the pool hands out another (SQLAlchemy retries the checkout)."""

    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is None:  # fresh from connect()
            return
        if _server_closed(dbapi_connection):
            raise exc.DisconnectionError("the server closed the pooled connection")
        if time.monotonic() - idle_since > IDLE_PING_SECONDS:
            try:
                engine.dialect.do_ping(dbapi_connection)
            except Exception as error:
                raise exc.DisconnectionError("a pooled connection failed its ping") from error


class Database:
    """An engine plus a session factory for one database URL."""

    def __init__(self, url: str) -> None:
        self.url = url
        # Bound parameters carry ID numbers: never in a log line or an exception's text.
        kwargs: dict[str, Any] = {"future": True, "hide_parameters": True}
        if url.startswith("sqlite"):
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
        else:
            # Kept connections, not overflow ones: a connection beyond `pool_size` is
            # opened for one checkout and closed after it (a new server process each
            # time). The API's worker threads each hold one at a time, the audit writer
            # one more; 4 concurrent clients with a key check, a query and the writer's
            # batch in flight already needed more than the default 5.
            kwargs["pool_size"] = 10
            kwargs["max_overflow"] = 20
        self.engine: Engine = create_engine(url, **kwargs)
        if url.startswith("sqlite"):
            event.listen(self.engine, "connect", _sqlite_pragmas)
        else:
            _pessimistic_checkout(self.engine)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work: committed when the block ends, rolled back if it raises."""
        session = self._sessions()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        """A connection in autocommit mode for a few reads: no BEGIN before them and no
        ROLLBACK after (each statement sees the data committed when it starts)."""
        with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            yield conn

    def migrate(self) -> None:
        """Bring the schema to the newest revision (safe to run on every start)."""
        with self.engine.begin() as connection:
            config = _alembic_config(self.url)
            config.attributes["connection"] = connection
            command.upgrade(config, "head")

    def current_revision(self) -> str | None:
        with self.engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()

    @staticmethod
    def head_revision() -> str | None:
        return ScriptDirectory.from_config(_alembic_config("")).get_current_head()

    def dispose(self) -> None:
        self.engine.dispose()


def _alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


@contextmanager
def scratch_postgres_database(admin_url: str, prefix: str = "docintake_scratch") -> Iterator[str]:
    """Create an empty PostgreSQL database next to `admin_url`'s, yield its URL, and drop
    it afterwards (ending any connection still open to it). For tests and benchmarks."""
    name = f"{prefix}_{secrets.token_hex(4)}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT", hide_parameters=True)
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"),
                {"n": name})
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()
