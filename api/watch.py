"""The scanner station's hot folder: `docintake watch DIR --api URL --key-file FILE`.

A window scanner writes each scanned stack as a file into a shared folder. The watcher
uploads every file to `POST /api/v1/stacks` once the scanner has finished writing it
(size and modification time unchanged for `stable_seconds`), then moves it to `DIR/done/`;
a file the server refuses goes to `DIR/failed/` with `<name>.txt` beside it saying why, in
Chinese and in English.

Nothing is uploaded twice and nothing is lost, whatever happens in between:
- the Idempotency-Key is the file's SHA-256, so an upload repeated after a crash, a
  restart or a lost answer finds the stack the first attempt created;
- a file leaves DIR only after the server answered 2xx (it has stored the file) or
  refused the file itself (4xx about the file); an unreachable server, a 5xx, a timeout
  or a wrong key leaves it where it is, retried with exponential backoff.
Symlinks, FIFOs and other non-regular files, hidden files and scanner software's
temporary files (`~*`, `*.part`, `*.tmp`) are never touched.

`HotFolder.tick()` does one pass and takes its time from an injectable clock, so the
"stable for N seconds" rule is tested by moving the clock, not by sleeping. `watch()`
calls `tick()` whenever `watchfiles` reports a change (inotify; `poll=True` polls, for
network shares where inotify sees nothing) and at least once a second.
"""

from __future__ import annotations

import hashlib
import logging
import os
import stat
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import httpx

log = logging.getLogger(__name__)

DONE_DIR = "done"
FAILED_DIR = "failed"
TEMP_SUFFIXES = (".part", ".tmp", ".crdownload", ".partial")
DEFAULT_STABLE_SECONDS = 3.0
BACKOFF_START = 1.0
BACKOFF_CAP = 60.0

Clock = Callable[[], float]


def is_scanner_temp(name: str) -> bool:
    """Files a scanner (or a copy tool) is still writing under a temporary name."""
    lower = name.lower()
    return name.startswith(("~", ".")) or lower.endswith(TEMP_SUFFIXES)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True)
class UploadOutcome:
    """What became of one upload attempt: `stored` (2xx, the server has the file),
    `refused` (the server will never take this file: `reason` says why) or `retry`
    (nothing is known to be stored: try again later)."""

    kind: Literal["stored", "refused", "retry"]
    reason: str = ""
    stack_id: str | None = None


class StackUploader:
    """Posts one file as a stack. Any transport failure is a `retry`, never an exception."""

    def __init__(self, api_url: str, api_key: str, *, timeout: float = 120.0,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.base_url = api_url.rstrip("/")
        if not self.base_url.endswith("/api/v1"):
            self.base_url += "/api/v1"
        self._client = httpx.Client(
            headers={"Authorization": f"Bearer {api_key}"}, timeout=timeout,
            transport=transport)

    def close(self) -> None:
        self._client.close()

    def upload(self, path: Path, sha256: str) -> UploadOutcome:
        try:
            with path.open("rb") as handle:
                response = self._client.post(
                    f"{self.base_url}/stacks",
                    files={"files": (path.name, handle, "application/octet-stream")},
                    headers={"Idempotency-Key": f"sha256:{sha256}"})
        except (httpx.HTTPError, OSError) as exc:
            return UploadOutcome("retry", f"服务器无法连接 (server unreachable): {exc}")
        return _outcome(response)


def _outcome(response: httpx.Response) -> UploadOutcome:
    body: dict[str, Any] = {}
    try:
        parsed = response.json()
        if isinstance(parsed, dict):
            body = parsed
    except ValueError:
        pass
    status = response.status_code
    if 200 <= status < 300:
        files = body.get("files") or []
        first = files[0] if files and isinstance(files[0], dict) else {}
        if first.get("outcome") == "rejected":
            return UploadOutcome("refused", _reason(first.get("error_code"),
                                                   first.get("error_message")),
                                 stack_id=body.get("id"))
        return UploadOutcome("stored", stack_id=body.get("id"))
    reason = _reason(body.get("code"), body.get("detail") or response.reason_phrase)
    # About the file itself: it will be refused however often it is sent.
    if status in (400, 413, 415, 422):
        return UploadOutcome("refused", reason)
    # 401/403 (the station's key), 404/405 (a wrong --api URL), 409, 429 and 5xx are
    # about the station or the server, not the file: keep it and try again later.
    return UploadOutcome("retry", f"HTTP {status}: {reason}")


def _reason(code: object, message: object) -> str:
    text = str(message or "服务器拒收该文件。(The server refused the file.)")
    return f"{code}: {text}" if code else text


@dataclass
class _Seen:
    signature: tuple[int, int]  # size, mtime_ns
    since: float  # clock time the signature was first seen
    retry_at: float = 0.0
    failures: int = 0


@dataclass
class HotFolder:
    """One watched folder. Call `tick()` repeatedly (or `watch()`)."""

    directory: Path
    uploader: StackUploader
    stable_seconds: float = DEFAULT_STABLE_SECONDS
    clock: Clock = time.monotonic
    _seen: dict[str, _Seen] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.directory = Path(self.directory)
        (self.directory / DONE_DIR).mkdir(exist_ok=True)
        (self.directory / FAILED_DIR).mkdir(exist_ok=True)

    def candidates(self) -> dict[str, tuple[int, int]]:
        """Regular files directly in the folder that are not temporary: name -> (size,
        mtime_ns). `lstat`, so a symlink is seen as a symlink and skipped."""
        found: dict[str, tuple[int, int]] = {}
        try:
            entries = list(os.scandir(self.directory))
        except OSError as exc:  # a network share that went away: try again next tick
            log.warning("cannot list %s: %s", self.directory, exc)
            return found
        for entry in entries:
            if is_scanner_temp(entry.name):
                continue
            try:
                info = entry.stat(follow_symlinks=False)
            except OSError:
                continue  # gone meanwhile
            if not stat.S_ISREG(info.st_mode):
                continue  # directories (done/, failed/), symlinks, FIFOs, sockets, devices
            found[entry.name] = (info.st_size, info.st_mtime_ns)
        return found

    def tick(self) -> list[tuple[str, str]]:
        """One pass: note what changed, upload what has been stable long enough. Returns
        (file name, "done" | "failed") for every file moved in this pass."""
        now = self.clock()
        current = self.candidates()
        for name in list(self._seen):
            if name not in current:
                del self._seen[name]
        moved: list[tuple[str, str]] = []
        for name in sorted(current):  # scanners number their files: keep their order
            signature = current[name]
            seen = self._seen.get(name)
            if seen is None or seen.signature != signature:
                self._seen[name] = _Seen(signature, now)
                continue
            if now - seen.since < self.stable_seconds or now < seen.retry_at:
                continue
            result = self._process(name, seen, now)
            if result is not None:
                moved.append((name, result))
                del self._seen[name]
        return moved

    def _process(self, name: str, seen: _Seen, now: float) -> str | None:
        path = self.directory / name
        try:
            sha256 = file_sha256(path)
            if os.stat(path, follow_symlinks=False).st_mtime_ns != seen.signature[1]:
                seen.since = now  # written to while we read it: wait again
                return None
        except OSError as exc:
            log.warning("%s: cannot read: %s", name, exc)
            return None
        outcome = self.uploader.upload(path, sha256)
        if outcome.kind == "retry":
            seen.failures += 1
            delay = min(BACKOFF_CAP, BACKOFF_START * 2 ** (seen.failures - 1))
            seen.retry_at = now + delay
            log.warning("%s: not uploaded, retrying in %.0f s: %s", name, delay, outcome.reason)
            return None
        if outcome.kind == "stored":
            self._move(path, DONE_DIR)
            log.info("%s: uploaded as stack %s", name, outcome.stack_id)
            return "done"
        target = self._target(path, FAILED_DIR)
        # The note first: a watcher killed between the two steps leaves the file in DIR
        # (retried), never in failed/ without its reason.
        target.with_name(target.name + ".txt").write_text(
            f"{name}\n上传失败，服务器拒收该文件。原因：{outcome.reason}\n"
            f"Upload failed: the server refused this file. Reason: {outcome.reason}\n",
            encoding="utf-8")
        os.replace(path, target)
        log.warning("%s: refused: %s", name, outcome.reason)
        return "failed"

    def _target(self, path: Path, subdir: str) -> Path:
        """Where `path` goes in `subdir`: never over an earlier file of the same name."""
        target = self.directory / subdir / path.name
        counter = 1
        while target.exists() or target.with_name(target.name + ".txt").exists():
            target = self.directory / subdir / f"{path.stem}.{counter}{path.suffix}"
            counter += 1
        return target

    def _move(self, path: Path, subdir: str) -> Path:
        target = self._target(path, subdir)
        os.replace(path, target)
        return target

    def watch(self, *, poll: bool = False, stop: threading.Event | None = None) -> None:
        """Tick on every change and at least once a second, until `stop` is set."""
        from watchfiles import watch

        stop = stop or threading.Event()
        self.tick()  # files left from before a restart
        for _changes in watch(self.directory, stop_event=stop, force_polling=poll,
                              poll_delay_ms=500, rust_timeout=1000, yield_on_timeout=True,
                              recursive=False, debounce=200, watch_filter=None,
                              raise_interrupt=False):
            self.tick()


def read_key_file(path: Path) -> str:
    """The API key: the file's first non-empty line (keep the file readable by the
    station's service account only)."""
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            return line.strip()
    raise ValueError(f"{path}: no API key in the file")
