"""The API keeps its OpenAPI contract for any input: schemathesis, in-process (ASGI),
generates requests for every operation of the app's route table (routes added later are
covered without listing them) with a real key of each role, and checks that no answer is
a server error, that every status is documented and every body matches its schema.

The number of examples is bounded so the test fits the suite's time budget; the
generation is random, so each run explores different inputs."""

from __future__ import annotations

import os
import traceback
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from api.app import create_app
from api.problems import PROBLEM_JSON
from intake.runtime import Runtime
from intake.settings import load_settings
from storage.apikeys import ROLES, create_api_key
from tests.helpers import RecordingRunner

EXAMPLES_PER_ROLE = int(os.environ.get("DOCINTAKE_CONTRACT_EXAMPLES", "4"))
"""Per operation and role; raise it for a longer exploration (e.g. before a release)."""
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance,
          content_type_conformance]


@pytest.fixture
def contract_app(tmp_path: Path) -> Iterator[tuple[Any, dict[str, str]]]:
    # SQLite by default; DOCINTAKE_CONTRACT_DATABASE_URL runs it against another database
    settings = load_settings(data_dir=tmp_path / "data", task_mode="inline",
                             database_url=os.environ.get("DOCINTAKE_CONTRACT_DATABASE_URL"),
                             max_upload_bytes=64 * 1024, max_batch_bytes=256 * 1024)
    runtime = Runtime.from_settings(settings)
    with runtime.database.session() as session:
        keys = {role: create_api_key(session, role=role, name=f"contract {role}",
                                     scopes=["id_card"] if role == "system" else None,
                                     purposes=["资格审查"] if role == "system" else None)[1]
                for role in ROLES}
    app = create_app(runtime, runner=RecordingRunner())
    # a case to aim at, so that some generated requests reach an existing object
    app.state.service.create_case("company-establishment")
    try:
        yield app, keys
    finally:
        runtime.close()


def test_the_document_states_problems_required_parameters_and_time_zones(
        contract_app: tuple[Any, dict[str, str]]) -> None:
    app, _ = contract_app
    document = app.openapi()
    assert document["components"]["schemas"]["Problem"]["required"][:2] == ["type", "title"]
    upload = document["paths"]["/api/v1/cases/{case_id}/batches"]["post"]
    for status in ("400", "401", "403", "404", "413", "422"):
        assert PROBLEM_JSON in upload["responses"][status]["content"], status
    read = document["paths"]["/api/v1/certificates/{cert_id}"]["get"]
    assert {p["name"]: p.get("required", False) for p in read["parameters"]}["case_ref"]
    catalog = document["paths"]["/api/v1/catalog/items"]["get"]
    assert "413" not in catalog["responses"] and "401" in catalog["responses"]


def _explore(operation: Any, key: str) -> str | None:
    """Run generated requests against one operation with one key; the failure, if any."""
    headers = {"Authorization": f"Bearer {key}"}

    @given(case=operation.as_strategy())
    @settings(max_examples=EXAMPLES_PER_ROLE, deadline=None, database=None,
              phases=[Phase.generate], suppress_health_check=list(HealthCheck))
    def run(case: schemathesis.Case) -> None:
        case.call_and_validate(headers=headers, checks=CHECKS)

    try:
        run()
    except (Exception, BaseExceptionGroup) as exc:  # schemathesis raises a group
        return f"{operation.label}: " + "".join(traceback.format_exception_only(exc))[:1500]
    return None


def test_every_operation_keeps_the_contract_for_every_role(
        contract_app: tuple[Any, dict[str, str]]) -> None:
    app, keys = contract_app
    # the document is served to key holders only
    schema = schemathesis.openapi.from_asgi(
        "/openapi.json", app, headers={"Authorization": f"Bearer {keys['clerk']}"})
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 30  # the route table, not a hand-made list
    failures = [failure for operation in operations for key in keys.values()
                if (failure := _explore(operation, key)) is not None]
    assert not failures, "\n\n".join(failures[:10]) + f"\n({len(failures)} failures)"


def test_timestamps_carry_a_time_zone(contract_app: tuple[Any, dict[str, str]]) -> None:
    """SQLite keeps no zone; the storage type puts UTC back on every value it reads."""
    from fastapi.testclient import TestClient

    app, keys = contract_app
    client = TestClient(app, base_url="http://test/api/v1",
                        headers={"Authorization": f"Bearer {keys['clerk']}"})
    created = client.post("/cases", json={"item_code": "company-establishment"})
    assert created.status_code == 201, created.text
    case_id = created.json()["id"]
    again = client.get(f"/cases/{case_id}").json()  # read back from the database
    for moment in (created.json()["created_at"], again["created_at"]):
        assert datetime.fromisoformat(moment).utcoffset() is not None, moment
