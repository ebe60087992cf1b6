"""The hot folder against a real server: a file is uploaded once it has stopped changing,
moved only after the server stored it, never uploaded twice, never lost — also when the
server is away or the watcher is killed mid-stack. "Stable for N seconds" is driven by a
clock the test moves, not by sleeping."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from api.app import create_app
from api.watch import DONE_DIR, FAILED_DIR, HotFolder, StackUploader, UploadOutcome
from intake.runtime import Runtime
from intake.settings import load_settings
from storage.apikeys import create_api_key
from storage.models import Stack
from tests.api.conftest import LiveApi
from tests.helpers import free_port, serve_in_thread
from tests.intake.stackkit import material_page, stack_pdf


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def _scan(path: Path, seed: int) -> bytes:
    data = stack_pdf([material_page(f"W{seed}", seed)])
    path.write_bytes(data)
    return data


def _stacks(runtime: Runtime) -> dict[str | None, int]:
    """Idempotency key -> number of stacks the server holds with it."""
    with runtime.database.session() as session:
        keys = list(session.scalars(select(Stack.idempotency_key)))
    return {k: keys.count(k) for k in keys}


def _key(data: bytes) -> str:
    return f"sha256:{hashlib.sha256(data).hexdigest()}"


@pytest.fixture
def scans(tmp_path: Path) -> Path:
    folder = tmp_path / "scans"
    folder.mkdir()
    return folder


@pytest.fixture
def uploader(live_api: LiveApi) -> Iterator[StackUploader]:
    client = StackUploader(live_api.base_url, live_api.keys["clerk"])
    yield client
    client.close()


def test_a_file_is_uploaded_once_it_stopped_changing_then_moved(
        live_api: LiveApi, scans: Path, uploader: StackUploader) -> None:
    clock = Clock()
    folder = HotFolder(scans, uploader, stable_seconds=3.0, clock=clock)
    target = scans / "stack-0001.pdf"
    data = _scan(target, 1)
    assert folder.tick() == []
    clock.advance(2.0)
    assert folder.tick() == []
    with target.open("ab") as handle:  # the scanner is still writing
        handle.write(b"\n%more")
    data += b"\n%more"
    clock.advance(2.0)
    assert folder.tick() == []  # changed: the wait starts again
    clock.advance(2.9)
    assert folder.tick() == []
    clock.advance(0.2)
    assert folder.tick() == [("stack-0001.pdf", "done")]
    assert not target.exists() and (scans / DONE_DIR / "stack-0001.pdf").read_bytes() == data
    clock.advance(10)
    assert folder.tick() == []
    assert _stacks(live_api.runtime) == {_key(data): 1}


def test_links_fifos_and_temporary_files_are_left_alone(
        live_api: LiveApi, scans: Path, uploader: StackUploader, tmp_path: Path) -> None:
    clock = Clock()
    folder = HotFolder(scans, uploader, stable_seconds=1.0, clock=clock)
    outside = tmp_path / "outside.pdf"
    _scan(outside, 2)
    (scans / "linked.pdf").symlink_to(outside)
    os.mkfifo(scans / "pipe.pdf")
    names = ["~scan0001.pdf", "scan0002.pdf.part", "scan0003.tmp", ".scan0004.pdf"]
    for n, name in enumerate(names):
        _scan(scans / name, 3 + n)
    for _ in range(3):
        assert folder.tick() == []
        clock.advance(5)
    assert sorted(p.name for p in scans.iterdir()) == sorted(
        [*names, "linked.pdf", "pipe.pdf", DONE_DIR, FAILED_DIR])
    assert _stacks(live_api.runtime) == {}


def test_a_file_the_server_refuses_goes_to_failed_with_the_reason(
        live_api: LiveApi, scans: Path, uploader: StackUploader) -> None:
    clock = Clock()
    folder = HotFolder(scans, uploader, stable_seconds=1.0, clock=clock)
    (scans / "empty.pdf").write_bytes(b"")
    (scans / DONE_DIR).mkdir(exist_ok=True)
    folder.tick()
    clock.advance(2)
    assert folder.tick() == [("empty.pdf", "failed")]
    note = (scans / FAILED_DIR / "empty.pdf.txt").read_text(encoding="utf-8")
    assert "file.empty" in note and "文件为空" in note and "The file is empty" in note
    assert (scans / FAILED_DIR / "empty.pdf").exists()


def test_an_unreachable_server_is_waited_for_with_backoff(tmp_path: Path, scans: Path) -> None:
    settings = load_settings(data_dir=tmp_path / "data", task_mode="thread")
    runtime = Runtime.from_settings(settings)
    with runtime.database.session() as session:
        key = create_api_key(session, role="clerk", name="station")[1]
    port = free_port()
    uploader = StackUploader(f"http://127.0.0.1:{port}", key, timeout=5)
    clock = Clock()
    folder = HotFolder(scans, uploader, stable_seconds=1.0, clock=clock)
    data = _scan(scans / "stack.pdf", 7)
    folder.tick()
    clock.advance(1.5)
    assert folder.tick() == []  # refused connection: kept, retried in 1 s
    clock.advance(1.0)
    assert folder.tick() == []  # again: next try in 2 s
    assert (scans / "stack.pdf").exists()
    _, stop = serve_in_thread(create_app(runtime), port=port)
    try:
        clock.advance(1.0)
        assert folder.tick() == []  # backing off still, although the server is back
        clock.advance(1.1)
        assert folder.tick() == [("stack.pdf", "done")]
        assert _stacks(runtime) == {_key(data): 1}
    finally:
        stop()
        uploader.close()
        runtime.close()


class KilledAfterUpload(BaseException):
    """The watcher dying between the server's answer and the move."""


class DiesAfterUpload(StackUploader):
    def upload(self, path: Path, sha256: str) -> UploadOutcome:
        outcome = super().upload(path, sha256)
        assert outcome.kind == "stored"
        raise KilledAfterUpload


def test_a_watcher_killed_after_the_upload_does_not_upload_again(
        live_api: LiveApi, scans: Path, uploader: StackUploader) -> None:
    clock = Clock()
    dying = DiesAfterUpload(live_api.base_url, live_api.keys["clerk"])
    data = _scan(scans / "stack.pdf", 8)
    first = HotFolder(scans, dying, stable_seconds=1.0, clock=clock)
    first.tick()
    clock.advance(2)
    with pytest.raises(KilledAfterUpload):
        first.tick()
    dying.close()
    assert (scans / "stack.pdf").exists()  # stored, but not moved: still here
    restarted = HotFolder(scans, uploader, stable_seconds=1.0, clock=clock)
    restarted.tick()
    clock.advance(2)
    assert restarted.tick() == [("stack.pdf", "done")]
    assert _stacks(live_api.runtime) == {_key(data): 1}


def _watch(scans: Path, api: str, key_file: Path, *extra: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-c", "from api.cli import main; main()", "watch", str(scans),
         "--api", api, "--key-file", str(key_file), "--stable-seconds", "0.2", *extra],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _wait(condition: Callable[[], bool], timeout: float = 60) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_the_watch_command_killed_mid_stack_and_restarted_loses_and_repeats_nothing(
        live_api: LiveApi, scans: Path, tmp_path: Path) -> None:
    key_file = tmp_path / "station.key"
    key_file.write_text(live_api.keys["clerk"] + "\n")
    files = {}
    for n in range(12):
        name = f"scan-{n:04d}.pdf"
        files[name] = _scan(scans / f"{name}.part", 20 + n)
        os.replace(scans / f"{name}.part", scans / name)  # as scanners finish a file
    done = scans / DONE_DIR
    watcher = _watch(scans, live_api.base_url, key_file)
    try:
        assert _wait(lambda: done.is_dir() and any(done.iterdir())), watcher.stderr
    finally:
        watcher.send_signal(signal.SIGKILL)
        watcher.wait(timeout=10)
    moved_before = len(list(done.iterdir()))
    assert moved_before < len(files)  # killed mid-stack
    restarted = _watch(scans, live_api.base_url, key_file, "--poll")
    try:
        assert _wait(lambda: len(list(done.iterdir())) == len(files))
    finally:
        restarted.send_signal(signal.SIGINT)
        restarted.wait(timeout=10)
    assert {p.name: p.read_bytes() for p in done.iterdir()} == files
    assert sorted(p.name for p in scans.iterdir()) == [DONE_DIR, FAILED_DIR]
    assert _stacks(live_api.runtime) == {_key(data): 1 for data in files.values()}
