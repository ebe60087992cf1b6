"""Bodies are bounded and keys checked before a body is read; uploads stream to temporary
files, hashed on the way in, with limits on parts, per file and per request; names and
types from a request never break a batch, on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import json
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from api.app import create_app
from intake.runtime import Runtime
from intake.settings import load_settings
from storage.apikeys import create_api_key
from storage.objects import original_key
from tests.helpers import RecordingRunner, serve_in_thread, text_pdf

FILE_LIMIT = 64 * 1024
BATCH_LIMIT = 512 * 1024
MAX_FILES = 4


@dataclass
class GuardedApi:
    base_url: str
    keys: dict[str, str]
    runtime: Runtime
    runner: RecordingRunner

    def client(self, role: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.keys[role]}"} if role else {}
        return httpx.Client(base_url=self.base_url + "/api/v1", headers=headers, timeout=60)

    def new_case(self) -> str:
        with self.client("clerk") as clerk:
            response = clerk.post("/cases", json={"item_code": "company-establishment"})
        assert response.status_code == 201, response.text
        case_id: str = response.json()["id"]
        return case_id


@pytest.fixture
def guarded_api(tmp_path: Path, database_url: str) -> Iterator[GuardedApi]:
    """The real app on a socket with small upload limits, on SQLite and PostgreSQL; batches
    are recorded, not processed."""
    settings = load_settings(data_dir=tmp_path / "data", database_url=database_url,
                             max_upload_bytes=FILE_LIMIT, max_batch_bytes=BATCH_LIMIT,
                             max_files_per_batch=MAX_FILES)
    runtime = Runtime.from_settings(settings)
    keys = {}
    with runtime.database.session() as session:
        for role in ("clerk", "system", "admin"):
            keys[role] = create_api_key(
                session, role=role, name=f"test {role}",
                scopes=["id_card"] if role == "system" else None,
                purposes=["资格审查"] if role == "system" else None)[1]
    runner = RecordingRunner()
    url, stop = serve_in_thread(create_app(runtime, runner=runner))
    try:
        yield GuardedApi(url, keys, runtime, runner)
    finally:
        stop()
        runtime.close()


def _raw(base_url: str, head: str, body: bytes = b"") -> tuple[int, dict[str, object]]:
    """Send a request head (and maybe the start of a body) on a bare socket and read the
    answer: a server that waited for the announced body would never answer."""
    parts = urlsplit(base_url)
    with socket.create_connection((parts.hostname, parts.port), timeout=20) as sock:
        sock.sendall(head.replace("\n", "\r\n").encode() + b"\r\n" + body)
        data = b""
        while b"\r\n\r\n" not in data:
            data += sock.recv(65536)
        header_block, _, rest = data.partition(b"\r\n\r\n")
        lines = header_block.decode("latin-1").split("\r\n")
        length = next(int(line.split(":", 1)[1]) for line in lines
                      if line.lower().startswith("content-length:"))
        while len(rest) < length:
            rest += sock.recv(65536)
    return int(lines[0].split()[1]), json.loads(rest[:length])


def test_no_key_is_refused_before_a_byte_of_the_body(guarded_api: GuardedApi) -> None:
    case_id = guarded_api.new_case()
    huge = 300 * 1024 * 1024
    for head in (
        f"POST /api/v1/cases HTTP/1.1\nHost: x\nContent-Type: application/json\n"
        f"Content-Length: {huge}\n",
        f"POST /api/v1/cases/{case_id}/batches HTTP/1.1\nHost: x\n"
        f"Content-Type: multipart/form-data; boundary=b\nContent-Length: {huge}\n",
    ):
        status, problem = _raw(guarded_api.base_url, head, b'{"item')
        assert (status, problem["code"]) == (401, "auth.missing_key")
    with guarded_api.client("clerk") as clerk:
        assert clerk.get(f"/cases/{case_id}").json()["batch_ids"] == []


def test_json_bodies_are_bounded_declared_or_streamed(guarded_api: GuardedApi) -> None:
    key = guarded_api.keys["clerk"]
    status, problem = _raw(
        guarded_api.base_url,
        f"POST /api/v1/cases HTTP/1.1\nHost: x\nAuthorization: Bearer {key}\n"
        f"Content-Type: application/json\nContent-Length: {300 * 1024 * 1024}\n", b"{")
    assert (status, problem["code"]) == (413, "request.too_large")

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it streams
        yield b'{"item_code": "company-establishment", "facts": {"x": "'
        for _ in range(100):
            yield b"a" * 1024
        yield b'"}}'

    with guarded_api.client("clerk") as clerk:
        streamed = clerk.post("/cases", content=chunks(),
                              headers={"Content-Type": "application/json"})
        small = clerk.post("/cases", json={"item_code": "company-establishment"})
    assert streamed.status_code == 413 and streamed.json()["code"] == "request.too_large"
    assert small.status_code == 201


def test_upload_streams_hashes_and_rejects_an_oversized_file_alone(
        guarded_api: GuardedApi) -> None:
    case_id = guarded_api.new_case()
    pdf = text_pdf([["申请书"]])
    big = b"%PDF-1.4\n" + b"0" * FILE_LIMIT
    files = [("files", ("form.pdf", pdf, "application/pdf")),
             ("files", ("big.pdf", big, "application/pdf")),
             ("files", ("empty.pdf", b"", "application/pdf")),
             ("note", (None, "not a file"))]
    with guarded_api.client("clerk") as clerk:
        response = clerk.post(f"/cases/{case_id}/batches", files=files)
    assert response.status_code == 202, response.text
    entries = response.json()["files"]
    assert [(e["filename"], e["outcome"], e["error_code"]) for e in entries] == [
        ("form.pdf", "accepted", None), ("big.pdf", "rejected", "file.too_large"),
        ("empty.pdf", "rejected", "file.empty")]
    digest = hashlib.sha256(pdf).hexdigest()
    assert entries[0]["sha256"] == digest
    assert guarded_api.runtime.objects.get(original_key(digest)) == pdf
    assert guarded_api.runner.submitted == [response.json()["id"]]


def test_parts_and_request_total_are_limited(guarded_api: GuardedApi) -> None:
    case_id = guarded_api.new_case()
    with guarded_api.client("clerk") as clerk:
        many = clerk.post(f"/cases/{case_id}/batches",
                          files=[("files", (f"{n}.pdf", b"%PDF-", "application/pdf"))
                                 for n in range(MAX_FILES + 1)])
        total = clerk.post(f"/cases/{case_id}/batches", files=[
            ("files", (f"{n}.pdf", b"x" * (FILE_LIMIT - 1), "application/pdf"))
            for n in range(BATCH_LIMIT // FILE_LIMIT + 1)][:MAX_FILES])
        not_multipart = clerk.post(f"/cases/{case_id}/batches", json={"files": []})
        no_case = clerk.post(f"/cases/{'0' * 8}-0000-0000-0000-{'0' * 12}/batches",
                             files=[("files", ("a.pdf", b"%PDF-", "application/pdf"))])
    assert (many.status_code, many.json()["code"]) == (413, "batch.too_many_files")
    assert (not_multipart.status_code, not_multipart.json()["code"]) == (
        400, "batch.not_multipart")
    assert (no_case.status_code, no_case.json()["code"]) == (404, "case.not_found")
    # MAX_FILES files of FILE_LIMIT fit in BATCH_LIMIT; a chunked body over it does not
    assert total.status_code == 202

    def chunks() -> Iterator[bytes]:
        yield (b"--b\r\nContent-Disposition: form-data; name=\"files\"; "
               b"filename=\"a.pdf\"\r\n\r\n")
        for _ in range(BATCH_LIMIT // 1024 + 1):
            yield b"x" * 1024
        yield b"\r\n--b--\r\n"

    with guarded_api.client("clerk") as clerk:
        streamed = clerk.post(f"/cases/{case_id}/batches", content=chunks(),
                              headers={"Content-Type": "multipart/form-data; boundary=b"})
    assert (streamed.status_code, streamed.json()["code"]) == (413, "batch.too_large")
    with guarded_api.client("clerk") as clerk:
        assert len(clerk.get(f"/cases/{case_id}").json()["batch_ids"]) == 1


def _multipart(parts: list[tuple[bytes, bytes, bytes]]) -> bytes:
    """A multipart body written by hand: clients escape what a hostile one would not."""
    body = b""
    for filename, content_type, data in parts:
        body += (b'--b\r\nContent-Disposition: form-data; name="files"; filename="'
                 + filename + b'"\r\nContent-Type: ' + content_type + b"\r\n\r\n"
                 + data + b"\r\n")
    return body + b"--b--\r\n"


def test_hostile_names_and_types_never_break_a_batch(guarded_api: GuardedApi) -> None:
    case_id = guarded_api.new_case()
    pdfs = [text_pdf([[f"申请书 {n}"]]) for n in range(4)]
    body = _multipart([
        (("扫" * 600 + ".pdf").encode(), b"application/pdf", pdfs[0]),
        ("evil\u202egpj.pdf".encode(), b"x/" + b"y" * 300, pdfs[1]),
        (b"a\x00b\x01c.pdf", b"application/pdf; charset=\x7f", pdfs[2]),
        (b"../../etc/\x1b[31mred.pdf", b"\xff\xfe", pdfs[3]),
    ])
    with guarded_api.client("clerk") as clerk:
        response = clerk.post(f"/cases/{case_id}/batches", content=body,
                              headers={"Content-Type": "multipart/form-data; boundary=b"})
    assert response.status_code == 202, response.text
    entries = response.json()["files"]
    assert [e["outcome"] for e in entries] == ["accepted"] * 4
    names = [e["filename"] for e in entries]
    assert len(names[0]) == 255 and names[0].endswith("….pdf")
    assert names[1:] == ["evilgpj.pdf", "abc.pdf", "_.._etc_[31mred.pdf"]
    # the name as sent is kept beside it, escaped for display
    originals = [e["original_filename"] for e in entries]
    assert originals[1] == "evil\\u202egpj.pdf"
    assert originals[2] == "a\\x00b\\x01c.pdf"
    assert "\\x1b" in originals[3] and originals[3].startswith("../../etc/")
    assert all(o is None or "\x00" not in o for o in originals)


def test_hostile_ids_text_and_numbers_are_refused_without_a_500_and_audited(
        guarded_api: GuardedApi) -> None:
    purpose = {"purpose": "资格审查", "case_ref": "SQ-1"}
    with guarded_api.client("system") as system:
        long_id = system.get(f"/certificates/{'7' * 5000}", params=purpose)
        nul_query = system.get("/certificates", params={
            "holder_id": "11010519491231002X", "purpose": "资格\x00审查", "case_ref": "SQ-1"})
        long_ref = system.get("/certificates/" + "0" * 36,
                              params={"purpose": "资格审查", "case_ref": "R" * 300})
    assert (long_id.status_code, long_id.json()["code"]) == (404, "certificate.not_found")
    assert len(long_id.json()["detail"]) < 300
    assert (nul_query.status_code, nul_query.json()["code"]) == (
        422, "certificate.query_invalid")
    assert long_ref.status_code == 422
    with guarded_api.client("admin") as admin:
        entries = admin.get("/audit", params={"limit": 10}).json()
        refused = {(e["action"], e["result"]) for e in entries}
        targets = [e["target"] for e in entries if e["target"]]
        purposes = [e["purpose"] for e in entries if e["purpose"]]
        assert ("certificate.read", "not_found") in refused
        assert ("certificate.search", "invalid") in refused
        assert ("certificate.read", "invalid") in refused
        assert all(len(t) <= 200 for t in targets) and "资格\\u0000审查" in purposes
        for params in ({"key": 2**40}, {"before_id": 2**70}, {"holder_id": "a\x00b"},
                       {"action": "x\x00"}, {"since": "0001-01-01T00:00:00+01:00"}):
            response = admin.get("/audit", params=params)
            assert response.status_code in (200, 422), (params, response.text)
        assert admin.get("/audit", params={"before_id": 2**40}).status_code == 200
    with guarded_api.client("clerk") as clerk:
        for path in (f"/cases/{'9' * 3000}", "/cases/a%00b", "/batches/%00",
                     "/cases/../../etc/passwd"):
            response = clerk.get(path)
            assert response.status_code in (404, 422), (path, response.text)
        facts = clerk.post("/cases", json={"item_code": "company-establishment",
                                           "facts": {"name": "a\x00b"}})
        key = clerk.post(f"/cases/{guarded_api.new_case()}/batches",
                         headers={"Idempotency-Key": "k" * 500},
                         files=[("files", ("a.pdf", b"%PDF-", "application/pdf"))])
    assert facts.status_code in (201, 422), facts.text
    assert key.status_code == 422


def test_a_value_the_database_refuses_is_the_requests_fault_not_a_500() -> None:
    """The last line of defence: should a check be missing, the database's refusal of a
    value is a 422, while a database that fails is still a 500."""
    from fastapi import FastAPI
    from fastapi.testclient import TestClient
    from sqlalchemy.exc import DataError, OperationalError, StatementError

    from api import problems

    app = FastAPI()
    problems.install(app)
    raised = {
        "nul": StatementError("text with NUL", "SELECT 1", {}, ValueError("NUL")),
        "range": DataError("SELECT 1", {}, Exception("integer out of range")),
        "down": OperationalError("SELECT 1", {}, Exception("server closed")),
    }

    @app.get("/{kind}")
    def fail(kind: str) -> None:
        raise raised[kind]

    client = TestClient(app, raise_server_exceptions=False)
    assert client.get("/nul").json()["code"] == "request.invalid"
    assert client.get("/range").status_code == 422
    assert client.get("/down").status_code == 500
