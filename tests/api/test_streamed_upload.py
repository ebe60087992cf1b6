"""A batch upload over HTTP is stored file by file as it streams in: the first file is
handed to the runner (its pages start being read) before the last file has even been
sent, and an upload that breaks off leaves no batch behind."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import api.uploads
from api.app import create_app
from intake.runtime import Runtime
from intake.settings import load_settings
from storage.apikeys import create_api_key
from storage.cases import CaseRepository
from tests.helpers import serve_in_thread, text_pdf

BOUNDARY = "streamedboundary"


class GatedRunner:
    """Runs nothing; notes each hand-over and lets the test wait for the first one."""

    def __init__(self) -> None:
        self.grown: list[str] = []
        self.submitted: list[str] = []
        self.file_stored = threading.Event()

    def submit_batch(self, batch_id: str) -> None:
        self.submitted.append(batch_id)

    def submit_files(self, batch_id: str) -> None:
        self.grown.append(batch_id)
        self.file_stored.set()

    def submit_stack(self, stack_id: str) -> None: ...

    def shutdown(self) -> None: ...


def _part(name: str, data: bytes) -> bytes:
    return (f'Content-Disposition: form-data; name="files"; filename="{name}"\r\n'
            "Content-Type: application/pdf\r\n\r\n").encode() + data + b"\r\n"


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
           ) -> Iterator[tuple[Runtime, GatedRunner, httpx.Client]]:
    monkeypatch.setattr(api.uploads, "FEED_BYTES", 1)  # parse each chunk as it comes
    runtime = Runtime.from_settings(load_settings(data_dir=tmp_path / "data",
                                                  max_files_per_batch=2))
    with runtime.database.session() as session:
        key = create_api_key(session, role="clerk", name="clerk")[1]
    runner = GatedRunner()
    url, stop = serve_in_thread(create_app(runtime, runner=runner))
    client = httpx.Client(base_url=url + "/api/v1", timeout=120,
                          headers={"Authorization": f"Bearer {key}"})
    try:
        yield runtime, runner, client
    finally:
        client.close()
        stop()
        runtime.close()


def _files_of_case(runtime: Runtime, case_id: str) -> list[tuple[str, str]]:
    with runtime.database.session() as session:
        repo = CaseRepository(session)
        return [(f.filename, repo.get_batch(f.batch_id).status)  # type: ignore[union-attr]
                for f in repo.files_of_case(case_id)]


def test_the_first_file_is_handed_over_before_the_last_is_sent(
        served: tuple[Runtime, GatedRunner, httpx.Client]) -> None:
    runtime, runner, client = served
    case_id = client.post("/cases", json={"item_code": "company-establishment"}).json()["id"]
    seen_meanwhile: list[list[tuple[str, str]]] = []

    def body() -> Iterator[bytes]:
        yield f"--{BOUNDARY}\r\n".encode() + _part("a.pdf", text_pdf([["申请书"]]))
        yield f"--{BOUNDARY}\r\n".encode()  # the first part has ended
        # The second file is not sent until the first is stored and handed over.
        assert runner.file_stored.wait(60), "the first file waited for the whole upload"
        seen_meanwhile.append(_files_of_case(runtime, case_id))
        yield _part("b.pdf", text_pdf([["营业执照"]])) + f"--{BOUNDARY}--\r\n".encode()

    response = client.post(f"/cases/{case_id}/batches", content=body(),
                           headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"})
    assert response.status_code == 202, response.text
    batch = response.json()
    assert seen_meanwhile == [[("a.pdf", "receiving")]]
    assert [f["outcome"] for f in batch["files"]] == ["accepted", "accepted"]
    assert batch["status"] == "received"
    # Each file, and the seal, handed over once each.
    assert runner.grown == [batch["id"]] * 3


def test_an_upload_refused_midway_leaves_no_batch(
        served: tuple[Runtime, GatedRunner, httpx.Client]) -> None:
    runtime, runner, client = served
    case_id = client.post("/cases", json={"item_code": "company-establishment"}).json()["id"]
    parts = [f"--{BOUNDARY}\r\n".encode() + _part(f"{n}.pdf", text_pdf([[f"第{n}份"]]))
             for n in range(1, 4)]  # one more than the batch may hold

    def body() -> Iterator[bytes]:
        yield parts[0] + f"--{BOUNDARY}\r\n".encode()
        assert runner.file_stored.wait(60)  # the first file is stored and being read
        yield parts[1][len(f"--{BOUNDARY}\r\n"):] + parts[2] + f"--{BOUNDARY}--\r\n".encode()

    response = client.post(
        f"/cases/{case_id}/batches", content=body(),
        headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"})
    assert (response.status_code, response.json()["code"]) == (413, "batch.too_many_files")
    assert runner.grown  # files were stored and handed over before the limit was hit
    assert _files_of_case(runtime, case_id) == []
    assert client.get(f"/cases/{case_id}").json()["batch_ids"] == []


# the window page: its form streams too, and its progress waits for the next change -------
def _signed_in(base_url: str, runtime: Runtime) -> tuple[httpx.Client, str]:
    """A clerk's browser session without a browser: (client with cookies, CSRF token)."""
    import re

    from intake.accounts import Accounts

    Accounts(runtime).create_user("clerk1", "correct horse battery", "clerk")
    client = httpx.Client(base_url=base_url, timeout=120, follow_redirects=False)
    form = client.get("/login").text
    token = re.search(r'name="login_token" value="([^"]+)"', form)
    assert token is not None
    signed = client.post("/login", data={"username": "clerk1", "password":
                                         "correct horse battery", "login_token": token[1]})
    assert signed.status_code == 303, signed.text
    window = client.get("/window").text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', window)
    assert csrf is not None
    return client, csrf[1]


def _form(csrf: str | None, files: list[tuple[str, bytes]]) -> bytes:
    parts = []
    if csrf is not None:
        parts.append(f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="csrf_token"'
                     f"\r\n\r\n{csrf}\r\n".encode())
    parts += [f"--{BOUNDARY}\r\n".encode() + _part(name, data) for name, data in files]
    return b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()


@pytest.fixture
def window(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
           ) -> Iterator[tuple[Runtime, GatedRunner, httpx.Client, str]]:
    monkeypatch.setattr(api.uploads, "FEED_BYTES", 1)
    runtime = Runtime.from_settings(load_settings(data_dir=tmp_path / "data"))
    runner = GatedRunner()
    url, stop = serve_in_thread(create_app(runtime, runner=runner))
    client, csrf = _signed_in(url, runtime)
    try:
        yield runtime, runner, client, csrf
    finally:
        client.close()
        stop()
        runtime.close()


def test_the_window_form_streams_its_files_after_its_csrf_token(
        window: tuple[Runtime, GatedRunner, httpx.Client, str]) -> None:
    from intake.errors import IntakeError

    runtime, runner, client, csrf = window
    opened = client.post("/window/cases", data={"item": "company-establishment",
                                                "csrf_token": csrf})
    case_id = opened.headers["location"].rsplit("/", 1)[1]
    headers = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}
    pdf = text_pdf([["申请书"]])
    for token in (None, "not-the-token"):  # refused before any file is stored
        refused = client.post(f"/cases/{case_id}/upload", content=_form(token, [("a.pdf", pdf)]),
                              headers=headers)
        assert refused.status_code == 403, refused.text
        assert IntakeError("auth.csrf").message in refused.text
    assert runner.grown == [] and _files_of_case(runtime, case_id) == []
    empty = client.post(f"/cases/{case_id}/upload", content=_form(csrf, [("", b"")]),
                        headers=headers)  # the form sent without a file picked
    assert empty.status_code == 422, empty.text
    assert IntakeError("batch.empty").message in empty.text
    sent = client.post(f"/cases/{case_id}/upload", content=_form(csrf, [("a.pdf", pdf)]),
                       headers=headers)
    assert (sent.status_code, sent.headers["location"]) == (303, f"/cases/{case_id}")
    assert _files_of_case(runtime, case_id) == [("a.pdf", "received")]


def test_the_live_progress_answers_when_the_case_moves_not_on_a_timer(
        window: tuple[Runtime, GatedRunner, httpx.Client, str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    import re

    import api.web.window
    from intake.pipeline import Pipeline
    from intake.service import IntakeService, Upload

    runtime, runner, client, _ = window
    # Held for as long as any test may run: an answer means the case moved.
    monkeypatch.setattr(api.web.window, "LIVE_WAIT", 3600.0)
    service = IntakeService(runtime, runner)
    case = service.create_case("company-establishment")
    batch = service.upload_batch(case.id, [Upload.from_bytes("a.pdf", text_pdf([["申请书"]]))])
    page = client.get(f"/cases/{case.id}").text
    mark = re.search(r'data-mark="([0-9a-f]+)" data-live', page)
    assert mark is not None, "a case being read asks for its progress"
    answers: list[httpx.Response] = []
    waiting = threading.Thread(target=lambda: answers.append(
        client.get(f"/cases/{case.id}/live", params={"after": mark[1]})))
    waiting.start()
    Pipeline(runtime).run_batch(batch.id)  # the batch is read and assessed meanwhile
    waiting.join(120)
    assert len(answers) == 1 and answers[0].status_code == 200
    moved = answers[0].text  # answered at the case's first move
    assert 'data-mark="' in moved and f'data-mark="{mark[1]}"' not in moved
    # Each answer names its mark; asking past it while the batch is being read is answered
    # as soon as the case moves again, until the finished page asks no more.
    for _ in range(20):
        if "data-live" not in moved:
            break
        later = re.search(r'data-mark="([0-9a-f]+)" data-live', moved)
        assert later is not None
        moved = client.get(f"/cases/{case.id}/live", params={"after": later[1]}).text
    assert "（已完成）" in moved and "data-live" not in moved
    # Unchanged since the first mark: a request for it is answered at once.
    again = client.get(f"/cases/{case.id}/live", params={"after": mark[1]})
    assert again.text == moved
