"""Shared fixtures. Live services are real: PostgreSQL on 127.0.0.1:5432 gets a fresh
database per test session; HTTP tests talk to a real uvicorn server over a socket."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from intake.settings import Settings, load_settings
from storage.db import scratch_postgres_database

PG_ADMIN_URL = os.environ.get("DOCINTAKE_TEST_PG_ADMIN_URL",
                              "postgresql+psycopg://127.0.0.1:5432/postgres")


@pytest.fixture(scope="session", autouse=True)
def _caches_in_the_session_directory(tmp_path_factory: pytest.TempPathFactory) -> None:
    """OpenVINO's compiled-model cache (DOCINTAKE_OCR_CACHE_DIR defaults under
    XDG_CACHE_HOME) goes to this session's temporary directory, not the user's home;
    worker processes started by the tests inherit it."""
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("xdg-cache"))


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A new, empty PostgreSQL database, dropped afterwards. Fails (never skips) when the
    server is not running: these tests exist to exercise the real production database."""
    with scratch_postgres_database(PG_ADMIN_URL, "docintake_test") as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.db'}"
        return
    base = request.getfixturevalue("postgres_url")
    # One schema-clean database per test: recreate the tables from the migrations.
    engine = create_engine(base, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    yield base


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """A real S3 HTTP API (moto's server) on 127.0.0.1 for the object-store code paths."""
    from moto.server import ThreadedMotoServer

    from tests.helpers import free_port

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(data_dir=tmp_path / "data", task_mode="inline")


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Any]:
    from intake.runtime import Runtime

    rt = Runtime.from_settings(settings)
    yield rt
    rt.close()


@pytest.fixture(scope="session", autouse=True)
def _no_full_identifier_in_any_log() -> Iterator[None]:
    """Every log record of the whole run, at INFO and above, formatted as production writes
    it (`JsonFormatter` behind `MaskingFilter`), is searched at the end for a full ID
    number or credit code in any spelling (`tests.logcheck`); finding one fails the run."""
    import io
    import logging

    from intake.logs import JsonFormatter, MaskingFilter
    from tests.logcheck import full_identifiers

    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(MaskingFilter())
    handler.setLevel(logging.INFO)
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(min(level, logging.INFO))
    try:
        yield
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
    leaked = full_identifiers(buffer.getvalue())
    lines = [line for line in buffer.getvalue().splitlines()
             if any(ident in full_identifiers(line) for ident in leaked)]
    assert not leaked, f"full ID numbers in the logs: {sorted(leaked)}: {lines[:5]}"
