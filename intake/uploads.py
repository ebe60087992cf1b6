"""Storing uploaded originals into a batch of a case: the one path every upload takes,
whether a clerk posts files to a case, a scanned stack is split by its cover sheets, or a
page is attached from the inbox by hand.

An original is written to the object store (by SHA-256) before the row that says it exists;
a file the case already holds is recorded as a duplicate and adds no pages; an empty or
oversized file is rejected alone. A batch created with an idempotency key is created once:
a retry (or a redelivered task) gets the first batch back.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import BinaryIO

from sqlalchemy.exc import IntegrityError

from intake.errors import message
from intake.inputs import clean_content_type, clean_filename
from intake.lifecycle import Lifecycle
from intake.runtime import Runtime
from storage.cases import CaseRepository
from storage.models import Batch
from storage.objects import original_key, sha256_hex


@dataclass(frozen=True)
class Upload:
    """One file as received: its bytes in a seekable binary file (the API spools them to a
    temporary file while it hashes them), with the size and SHA-256 computed on the way in,
    so no whole file need be held in memory. A file over the size limit keeps its size and
    may have no content. The name and content type are as sent: storing normalises them."""

    filename: str
    content: BinaryIO
    size: int
    sha256: str
    content_type: str | None = None

    def __post_init__(self) -> None:
        if not hasattr(self.content, "read"):
            raise TypeError("Upload takes a binary file; use Upload.from_bytes(name, data)")

    @classmethod
    def from_bytes(cls, filename: str, data: bytes, content_type: str | None = None
                   ) -> Upload:
        """An upload of bytes already in memory (a cut page, the CLI, tests)."""
        return cls(filename, io.BytesIO(data), len(data), sha256_hex(data), content_type)


def rejection(upload: Upload, limit: int) -> tuple[str, str] | None:
    """(code, message) when the file must be refused before it is stored."""
    if upload.size == 0:
        return "file.empty", message("file.empty")
    if upload.size > limit:
        return "file.too_large", message(
            "file.too_large", size_mb=f"{upload.size / (1024 * 1024):.1f}",
            limit_mb=limit // (1024 * 1024))
    return None


def store_original(runtime: Runtime, upload: Upload) -> str:
    """Write the original to the object store (by its SHA-256) and return its key."""
    key = original_key(upload.sha256)
    upload.content.seek(0)
    runtime.objects.put_stream(key, upload.content, upload.size)
    return key


def store_batch(runtime: Runtime, repo: CaseRepository, case_id: str,
                uploads: Sequence[Upload], idempotency_key: str | None, *,
                uploaded_by: int | None = None,
                lifecycle: Lifecycle | None = None) -> tuple[Batch, bool]:
    """The case's batch holding `uploads` (stored durably), and whether this call created
    it: with a key that already names a batch of the case, that batch and False. The
    caller commits and then hands a created batch to the runner.

    A batch for a returned case is its supplement: the case is received again and the
    notice clock restarts (`Lifecycle.record_resubmission`), in the same transaction."""
    case = repo.get_case(case_id)
    assert case is not None, case_id
    if idempotency_key:
        earlier = repo.find_batch_by_key(case.id, idempotency_key)
        if earlier is not None:
            return earlier, False
        try:
            batch = repo.create_batch(case, idempotency_key, uploaded_by)
        except IntegrityError:
            # The same key in flight in another request (a client retrying before the
            # first attempt answered): that one's batch is the batch. The batch is this
            # transaction's first write, so rolling it back loses nothing else.
            repo.session.rollback()
            earlier = repo.find_batch_by_key(case_id, idempotency_key)
            if earlier is None:
                raise
            return earlier, False
    else:
        batch = repo.create_batch(case, None, uploaded_by)
    seen: set[str] = set()
    for position, upload in enumerate(uploads, start=1):
        _accept(runtime, repo, batch, position, upload, seen)
    (lifecycle or Lifecycle(runtime)).record_resubmission(repo, case, batch.id)
    return batch, True


def _accept(runtime: Runtime, repo: CaseRepository, batch: Batch, position: int,
            upload: Upload, seen: set[str]) -> None:
    cleaned = clean_filename(upload.filename, fallback=f"file-{position}")
    name, original = cleaned.name, cleaned.original
    refused = rejection(upload, runtime.settings.max_upload_bytes)
    if refused is not None:
        repo.add_batch_entry(batch, position=position, filename=name, outcome="rejected",
                             error_code=refused[0], error_message=refused[1],
                             original_filename=original)
        return
    digest = upload.sha256
    existing = repo.find_file(batch.case_id, digest)
    if existing is not None or digest in seen:
        repo.add_batch_entry(batch, position=position, filename=name, outcome="duplicate",
                             sha256=digest, file_id=existing.id if existing else None,
                             original_filename=original)
        return
    key = store_original(runtime, upload)  # durable before the row says it exists
    row = repo.add_file(batch, sha256=digest, filename=name,
                        content_type=clean_content_type(upload.content_type),
                        size=upload.size, object_key=key)
    seen.add(digest)
    repo.add_batch_entry(batch, position=position, filename=name, outcome="accepted",
                         sha256=digest, file_id=row.id, original_filename=original)
