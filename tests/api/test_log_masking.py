"""No full ID number reaches a log line: a representative set of operations through the
real server (uvicorn's access log included, as `docintake serve` configures it), SQLAlchemy
statement logging and a database error carrying the number, each with ID numbers in every
spelling a client might use; the captured lines are searched with `tests.logcheck`."""

from __future__ import annotations

import io
import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from sqlalchemy import text
from stdnum.cn import ric

from api.app import create_app
from intake.logs import JsonFormatter, MaskingFilter, mask_identifiers, mask_log_text
from intake.runtime import Runtime
from intake.settings import load_settings
from storage.apikeys import create_api_key
from tests.helpers import free_port
from tests.logcheck import full_identifiers


def _resident(base17: str) -> str:
    return base17 + ric.calc_check_digit(base17 + "0")


HOLDER = _resident("35010219870612003")
OTHER = _resident("11010519491231002")
FIRST_GENERATION = "350102870612003"
CREDIT_CODE = "91350100M000100Y43"


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(MaskingFilter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield buffer
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def test_masking_covers_words_groups_encodings_and_first_generation() -> None:
    masked = f"{HOLDER[:4]}{'*' * 10}{HOLDER[-4:]}"
    assert mask_identifiers(f"身份证{HOLDER}已核验") == f"身份证{masked}已核验"
    assert full_identifiers(mask_identifiers(f"ID{HOLDER}x")) == set()
    spaced = f"{HOLDER[:6]} {HOLDER[6:14]} {HOLDER[14:]}"
    hyphenated = "-".join(HOLDER[i:i + 4] for i in range(0, 18, 4))
    assert full_identifiers(spaced) == {HOLDER}  # the checker sees what it must
    for form in (spaced, hyphenated, FIRST_GENERATION, f"a{FIRST_GENERATION}b",
                 CREDIT_CODE):
        assert full_identifiers(mask_identifiers(form)) == set(), form
    encoded = "purpose=%E8%BA%AB%E4%BB%BD%E8%AF%81" + "".join(f"%{ord(c):02X}" for c in HOLDER)
    assert full_identifiers(encoded) == {HOLDER}
    assert full_identifiers(mask_log_text(encoded)) == set()
    assert full_identifiers(mask_log_text(encoded.replace("%", "%25"))) == set()
    # numbers that are not IDs stay readable
    assert mask_identifiers("order 1234567890123456789012") == "order 1234567890123456789012"
    assert mask_log_text("100% of 20 pages") == "100% of 20 pages"


def test_operations_leave_no_full_id_in_the_logs(tmp_path: Path, database_url: str,
                                                 captured: io.StringIO) -> None:
    settings = load_settings(data_dir=tmp_path / "data", database_url=database_url,
                             task_mode="inline")
    runtime = Runtime.from_settings(settings)
    with runtime.database.session() as session:
        keys = {role: create_api_key(session, role=role, name=f"log {role}")[1]
                for role in ("system", "admin", "clerk")}
    port = free_port()
    # as `docintake serve` runs it: uvicorn's own loggers propagate to the root handler
    server = uvicorn.Server(uvicorn.Config(create_app(runtime), host="127.0.0.1", port=port,
                                           log_config=None, access_log=True,
                                           log_level="info"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    engine_log = logging.getLogger("sqlalchemy.engine")
    engine_log.setLevel(logging.INFO)  # statements and (hidden) parameters
    # An earlier server in this process (log_level=...) left uvicorn's own logging config:
    # its loggers' handlers, without propagation to the root.
    uvicorn_logs = [logging.getLogger(name) for name in ("uvicorn", "uvicorn.access")]
    saved = [(lg.level, lg.propagate, lg.handlers) for lg in uvicorn_logs]
    for lg in uvicorn_logs:
        lg.setLevel(logging.INFO)
        lg.propagate, lg.handlers = True, []
    try:
        base = f"http://127.0.0.1:{port}/api/v1"
        spaced = f"{HOLDER[:6]} {HOLDER[6:14]} {HOLDER[14:]}"
        with httpx.Client(base_url=base, timeout=30) as client:
            def call(role: str, path: str, **params: str) -> int:
                response = client.get(path, params=params,
                                      headers={"Authorization": f"Bearer {keys[role]}"})
                assert response.status_code < 500, response.text
                return response.status_code

            call("system", "/certificates", holder_id=HOLDER, purpose=f"身份证{HOLDER}",
                 case_ref=f"ref-{OTHER}")
            call("system", f"/certificates/{spaced}", purpose="check", case_ref="x")
            call("system", "/certificates", holder_id=FIRST_GENERATION, purpose="p",
                 case_ref=CREDIT_CODE)
            call("admin", "/audit", holder_id=HOLDER)
            call("admin", f"/audit/holders/{HOLDER}")
            call("clerk", f"/cases/{HOLDER}")
        # Database errors whose own text carries the number (PostgreSQL quotes a value it
        # cannot convert; both name a missing table), logged with their tracebacks.
        for statement, params in ((f'SELECT * FROM "t{HOLDER}"', {}),
                                  ("SELECT CAST(:v AS integer)", {"v": f"x{HOLDER}"})):
            try:
                with runtime.database.session() as session:
                    session.execute(text(statement), params)
            except Exception:
                logging.getLogger("docintake.test").exception("query failed")
        logging.getLogger("docintake.test").info("holder checked", extra={
            "detail": "-".join(HOLDER[i:i + 6] for i in range(0, 18, 6))})
    finally:
        engine_log.setLevel(logging.WARNING)
        for lg, (level, propagate, handlers) in zip(uvicorn_logs, saved, strict=True):
            lg.setLevel(level)
            lg.propagate, lg.handlers = propagate, handlers
        server.should_exit = True
        thread.join(timeout=30)
        runtime.close()
    lines = captured.getvalue()
    assert "GET /api/v1/certificates" in lines  # the access log was captured
    assert "query failed" in lines and "SELECT" in lines
    assert full_identifiers(lines) == set(), [
        line for line in lines.splitlines() if full_identifiers(line)][:3]
