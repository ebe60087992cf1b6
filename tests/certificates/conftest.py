"""Live services for the certificate store tests: a moto S3 server on 127.0.0.1 (the real
S3 HTTP API, not an in-process mock), PostgreSQL through `database_url`, and the real app
on a socket with one key per role plus scoped `system` keys."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from api.app import create_app
from intake.runtime import Runtime
from intake.settings import load_settings
from storage.apikeys import create_api_key
from storage.cases import CaseRepository
from storage.s3 import S3ObjectStore
from tests.api.conftest import LiveApi
from tests.certificates.packets import ITEM
from tests.helpers import serve_in_thread

ACCESS, SECRET = "testing-access", "testing-secret"
SYSTEM_PURPOSES = ["食品经营许可审查", "个体工商户登记核验"]
CASE_REFS = ("SQ20261102-ABC", "SQ-TEST")


def new_bucket() -> str:
    return f"docintake-test-{secrets.token_hex(4)}"


@pytest.fixture
def s3_store(s3_endpoint: str) -> S3ObjectStore:
    return S3ObjectStore.connect(s3_endpoint, access_key=ACCESS, secret_key=SECRET,
                                 bucket=new_bucket(), secure=False, region="us-east-1",
                                 create_bucket=True)


def _reset_postgres(url: str) -> None:
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


class CertApi(LiveApi):
    key_ids: dict[str, int]


ApiFactory = Callable[..., CertApi]


@pytest.fixture(params=["embedded", "production"])
def deployment(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, Any]:
    """Settings for SQLite + local directory, or PostgreSQL + S3 (moto)."""
    if request.param == "embedded":
        return {"data_dir": tmp_path / "data"}
    url = request.getfixturevalue("postgres_url")
    _reset_postgres(url)
    endpoint = request.getfixturevalue("s3_endpoint")
    return {"data_dir": tmp_path / "data", "database_url": url, "object_store": "s3",
            "s3_endpoint": endpoint, "s3_bucket": new_bucket(), "s3_access_key": ACCESS,
            "s3_secret_key": SECRET, "s3_secure": False, "s3_region": "us-east-1",
            "s3_create_bucket": True}


@pytest.fixture
def api_factory(deployment: dict[str, Any]) -> Iterator[ApiFactory]:
    started: list[tuple[Callable[[], None], Runtime]] = []

    def start(**overrides: Any) -> CertApi:
        settings = load_settings(**{**deployment, "task_mode": "thread", **overrides})
        runtime = Runtime.from_settings(settings)
        keys: dict[str, str] = {}
        key_ids: dict[str, int] = {}
        scoped = {"system": ["id_card"], "system_all": ["id_card", "business_license"],
                  "system_unscoped": []}
        with runtime.database.session() as session:
            for name in ("clerk", "reviewer", "admin", *scoped):
                role = "system" if name.startswith("system") else name
                row, keys[name] = create_api_key(
                    session, role=role, name=f"test {name}", scopes=scoped.get(name),
                    purposes=SYSTEM_PURPOSES if role == "system" else None)
                key_ids[name] = row.id
            # The cases the tests' system queries name in `case_ref`.
            repo = CaseRepository(session)
            for number in CASE_REFS:
                repo.create_case(item_code=ITEM, acceptance_date=date.today(),
                                 created_by=key_ids["clerk"]).number = number
        url, stop = serve_in_thread(create_app(runtime))
        started.append((stop, runtime))
        api = CertApi(url, keys, runtime)
        api.key_ids = key_ids
        return api

    yield start
    for stop, runtime in started:
        stop()
        runtime.close()


@pytest.fixture
def cert_api(api_factory: ApiFactory) -> CertApi:
    return api_factory()
