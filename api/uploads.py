"""A multipart upload read as a stream: each file part goes to a spooled temporary file
(in memory up to `SPOOL_BYTES`, then on disk) and is hashed (SHA-256) as it arrives, so no
file is ever held whole in memory and no second pass is needed to hash it.

Limits hold while the body streams: at most `max_parts` parts (fields count too), a file
past `max_file_bytes` stops being written (it is counted to its end and then rejected
alone, as the batch reports), part headers are bounded by the parser. The request's total
is bounded by `api.guard`. The parsing and the disk writes run in a worker thread, in
chunks of `FEED_BYTES`, so the event loop only moves bytes.

A batch upload hands each file on as soon as its part has ended (`receive_into`), so the
file is stored, and its pages start being read, while the files behind it are still
arriving; its temporary file is closed once it is stored.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from tempfile import SpooledTemporaryFile
from typing import Any, BinaryIO, cast

import anyio.to_thread
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request

from intake.access import Principal
from intake.errors import IntakeError
from intake.service import BatchProgress, IntakeService
from intake.uploads import Upload

SPOOL_BYTES = 1024 * 1024
"""A file part stays in memory up to this size, then moves to a temporary file."""
FEED_BYTES = 1024 * 1024
"""Body bytes collected before one hand-over to the parsing thread."""
FIELD_BYTES = 1024
"""A text field longer than this is not kept (only short ones are read: a CSRF token)."""
FILE_FIELD = "files"


def multipart_body(description: str) -> dict[str, Any]:
    """`openapi_extra` declaring a streamed upload's body: files in the field `files`."""
    return {"requestBody": {
        "required": True,
        "content": {"multipart/form-data": {"schema": {
            "type": "object", "required": [FILE_FIELD],
            "properties": {FILE_FIELD: {
                "type": "array", "items": {"type": "string", "format": "binary"},
                "description": description}}}}},
    }}


@dataclass
class _Part:
    name: str = ""
    filename: str | None = None
    content_type: str | None = None
    size: int = 0
    digest: hashlib._Hash = field(default_factory=hashlib.sha256)
    spool: SpooledTemporaryFile[bytes] | None = None
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)


class _MultipartSink:
    """python-multipart's callbacks, collecting the file parts of field `files`. Runs in
    a worker thread; raises `IntakeError` for a body it will not take."""

    def __init__(self, boundary: bytes, *, max_parts: int, max_file_bytes: int) -> None:
        self.max_parts = max_parts
        self.max_file_bytes = max_file_bytes
        self.files: list[_Part] = []
        self.fields: dict[str, str] = {}  # short text fields (a form's CSRF token)
        self._field = bytearray()
        self._parts = 0
        self._part = _Part()
        self._header_name = b""
        self._header_value = b""
        self._parser = MultipartParser(boundary, {
            "on_part_begin": self._begin,
            "on_header_field": self._header_field,
            "on_header_value": self._header_value_data,
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._data,
            "on_part_end": self._end,
        })

    def feed(self, chunk: bytes) -> None:
        try:
            self._parser.write(chunk)
        except MultipartParseError as exc:
            raise IntakeError("batch.malformed", reason=str(exc)[:200]) from exc

    def finish(self) -> None:
        self._parser.finalize()

    def take_finished(self) -> list[_Part]:
        """The file parts completed since the last call (the caller closes them)."""
        taken, self.files = self.files, []
        return taken

    def close(self) -> None:
        for part in [*self.files, self._part]:
            if part.spool is not None:
                part.spool.close()

    # callbacks -----------------------------------------------------------------------
    def _begin(self) -> None:
        self._parts += 1
        if self._parts > self.max_parts:
            raise IntakeError("batch.too_many_files", limit=self.max_parts)
        self._part = _Part()

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def _header_value_data(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def _header_end(self) -> None:
        self._part.headers.append((self._header_name.lower(), self._header_value))
        self._header_name = self._header_value = b""

    def _headers_finished(self) -> None:
        part = self._part
        for name, value in part.headers:
            if name == b"content-disposition":
                _, options = parse_options_header(value)
                part.name = options.get(b"name", b"").decode("utf-8", "replace")
                if b"filename" in options:
                    part.filename = options[b"filename"].decode("utf-8", "replace")
            elif name == b"content-type":
                part.content_type = value.decode("latin-1")
        if part.name == FILE_FIELD and part.filename is not None:
            # closed by close(), when the request is done with it
            part.spool = SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115

    def _data(self, data: bytes, start: int, end: int) -> None:
        part = self._part
        if part.spool is None:
            if part.filename is None and len(self._field) <= FIELD_BYTES:
                self._field += data[start:end]  # a text field: kept if short
            return
        chunk = data[start:end]
        part.size += len(chunk)
        if part.size > self.max_file_bytes:
            if not part.spool.closed:
                part.spool.close()  # too large: rejected by size alone, content not kept
            return
        part.digest.update(chunk)
        part.spool.write(chunk)

    def _end(self) -> None:
        if self._part.spool is not None:
            self.files.append(self._part)
        elif self._part.filename is None and self._part.name and \
                len(self._field) <= FIELD_BYTES:
            self.fields[self._part.name] = self._field.decode("utf-8", "replace")
        self._field = bytearray()
        self._part = _Part()


def _boundary(request: Request) -> bytes:
    content_type = request.headers.get("content-type", "")
    media, options = parse_options_header(content_type)
    boundary = options.get(b"boundary")
    if media != b"multipart/form-data" or not boundary or len(boundary) > 200:
        raise IntakeError("batch.not_multipart")
    return boundary


def _upload(part: _Part) -> Upload:
    assert part.spool is not None
    if not part.spool.closed:
        part.spool.seek(0)
    return Upload(part.filename or "", cast(BinaryIO, part.spool), part.size,
                  part.digest.hexdigest(), part.content_type)


async def receive_into(request: Request, add: Callable[[Upload], None], *, max_parts: int,
                       max_file_bytes: int,
                       check: Callable[[Mapping[str, str]], None] | None = None) -> None:
    """Read a multipart upload and call `add` (in a worker thread, in the order sent) with
    each file as soon as its part has ended, while the rest of the body still arrives;
    each file's temporary file is closed when `add` returns. `check` is called once with
    the short text fields sent before the first file (or with all of them, when there is
    no file) before anything is added: a form's CSRF token. Errors of the body (limits,
    malformed, the client gone) propagate, after the files before them were added."""
    sink = _MultipartSink(_boundary(request), max_parts=max_parts,
                          max_file_bytes=max_file_bytes)
    checked = check is None

    async def hand_over() -> None:
        nonlocal checked
        finished = sink.take_finished()
        if finished and not checked:
            assert check is not None
            check(dict(sink.fields))
            checked = True
        try:
            for part in finished:
                await anyio.to_thread.run_sync(add, _upload(part))
                assert part.spool is not None
                part.spool.close()  # stored: its temporary file goes at once
        finally:
            for part in finished:  # those after a file `add` refused
                if part.spool is not None:
                    part.spool.close()

    try:
        pending = bytearray()
        async for chunk in request.stream():
            pending += chunk
            if len(pending) >= FEED_BYTES:
                await anyio.to_thread.run_sync(sink.feed, bytes(pending))
                pending.clear()
                await hand_over()
        if pending:
            await anyio.to_thread.run_sync(sink.feed, bytes(pending))
        sink.finish()
        await hand_over()
        if not checked:
            assert check is not None
            check(dict(sink.fields))
    finally:
        for part in sink.take_finished():  # not handed over: the upload broke off
            if part.spool is not None:
                part.spool.close()
        sink.close()


async def upload_batch_streamed(request: Request, service: IntakeService, case_id: str, *,
                                principal: Principal, idempotency_key: str | None = None,
                                check: Callable[[Mapping[str, str]], None] | None = None,
                                fields: int = 0, skip_unnamed: bool = False
                                ) -> BatchProgress:
    """A batch upload to the case, each file stored and handed to the runner as it
    arrives (`intake.uploads.BatchIntake`), sealed when the body ends; an upload that
    breaks off is discarded. The case is checked (404/403) before the body is read;
    `check` and `fields` (text fields the body may hold besides its files) as for
    `receive_into`; with `skip_unnamed`, a file part without a name (a form's empty file
    input) is not a file."""
    settings = service.runtime.settings
    intake = await anyio.to_thread.run_sync(lambda: service.batch_intake(
        case_id, idempotency_key=idempotency_key, principal=principal))

    def add(upload: Upload) -> None:
        if not (skip_unnamed and not upload.filename):
            intake.add(upload)

    try:
        await receive_into(request, add, max_parts=settings.max_files_per_batch + fields,
                           max_file_bytes=settings.max_upload_bytes, check=check)
        return await anyio.to_thread.run_sync(
            lambda: service.sealed_progress(intake, principal=principal))
    except BaseException:
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(intake.discard)
        raise


@asynccontextmanager
async def received_files(request: Request, *, max_parts: int, max_file_bytes: int
                         ) -> AsyncIterator[list[Upload]]:
    """The files of a multipart upload as `Upload`s over temporary files, closed (and so
    deleted) when the block ends."""
    sink = _MultipartSink(_boundary(request), max_parts=max_parts,
                          max_file_bytes=max_file_bytes)
    try:
        pending = bytearray()
        async for chunk in request.stream():
            pending += chunk
            if len(pending) >= FEED_BYTES:
                await anyio.to_thread.run_sync(sink.feed, bytes(pending))
                pending.clear()
        if pending:
            await anyio.to_thread.run_sync(sink.feed, bytes(pending))
        sink.finish()
        yield [_upload(part) for part in sink.files]
    finally:
        sink.close()
