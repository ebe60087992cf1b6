"""Storing uploaded originals into a batch of a case: the one path every upload takes,
whether a clerk posts files to a case, a scanned stack is split by its cover sheets, or a
page is attached from the inbox by hand.

An original is written to the object store (by SHA-256) before the row that says it exists;
a file the case already holds is recorded as a duplicate and adds no pages; an empty or
oversized file is rejected alone. A batch created with an idempotency key is created once:
a retry (or a redelivered task) gets the first batch back.

Files of an upload can also be stored one at a time, as each arrives (`BatchIntake`): the
batch is then `receiving` until the upload ends, each file is committed as soon as it is
stored so its pages can be read at once, and the batch is sealed (`received`) with the
last one; only a sealed batch is ever assessed. An upload that breaks off leaves nothing:
the batch is discarded with its files and pages.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, BinaryIO

from sqlalchemy.exc import IntegrityError

from intake.errors import IntakeError, message
from intake.inputs import clean_content_type, clean_filename
from intake.lifecycle import Lifecycle
from intake.runtime import Runtime
from storage.cases import CaseRepository
from storage.models import Batch
from storage.objects import original_key, sha256_hex

if TYPE_CHECKING:
    from intake.runners import TaskRunner


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
    batch, created = _create_batch(repo, case_id, idempotency_key, uploaded_by)
    if not created:
        return batch, False
    case = batch.case
    seen: set[str] = set()
    for position, upload in enumerate(uploads, start=1):
        _accept(runtime, repo, batch, position, upload, seen)
    (lifecycle or Lifecycle(runtime)).record_resubmission(repo, case, batch.id)
    return batch, True


def _accept(runtime: Runtime, repo: CaseRepository, batch: Batch, position: int,
            upload: Upload, seen: set[str]) -> bool:
    """Record one file of the batch; True when it was stored (it has pages to read)."""
    cleaned = clean_filename(upload.filename, fallback=f"file-{position}")
    name, original = cleaned.name, cleaned.original
    refused = rejection(upload, runtime.settings.max_upload_bytes)
    if refused is not None:
        repo.add_batch_entry(batch, position=position, filename=name, outcome="rejected",
                             error_code=refused[0], error_message=refused[1],
                             original_filename=original)
        return False
    digest = upload.sha256
    existing = repo.find_file(batch.case_id, digest)
    if existing is not None or digest in seen:
        repo.add_batch_entry(batch, position=position, filename=name, outcome="duplicate",
                             sha256=digest, file_id=existing.id if existing else None,
                             original_filename=original)
        return False
    key = store_original(runtime, upload)  # durable before the row says it exists
    row = repo.add_file(batch, sha256=digest, filename=name,
                        content_type=clean_content_type(upload.content_type),
                        size=upload.size, object_key=key)
    seen.add(digest)
    repo.add_batch_entry(batch, position=position, filename=name, outcome="accepted",
                         sha256=digest, file_id=row.id, original_filename=original)
    return True


RECEIVING = "receiving"
"""Status of a batch whose upload is still arriving: its files are read, never assessed."""


class BatchIntake:
    """One upload's files stored as they arrive, each in its own transaction, so that
    reading a file's pages need not wait for the files behind it: the runner is told
    (`submit_files`) as soon as each one is stored. Use as: `add` for every file in order,
    then `seal`; on any failure `discard`. With an idempotency key naming a batch of the
    case, nothing is stored and that batch is the answer (`earlier`); the key is claimed
    with the first file, so a retry racing this upload gets this batch."""

    def __init__(self, runtime: Runtime, runner: TaskRunner, case_id: str, *,
                 idempotency_key: str | None = None, uploaded_by: int | None = None,
                 lifecycle: Lifecycle | None = None) -> None:
        self.runtime = runtime
        self.runner = runner
        self.case_id = case_id
        self.idempotency_key = idempotency_key
        self.uploaded_by = uploaded_by
        self.lifecycle = lifecycle or Lifecycle(runtime)
        self.batch_id: str | None = None
        self.earlier: str | None = None  # the batch the key already names
        self.sealed = False
        self._position = 0

    def add(self, upload: Upload) -> None:
        """Store one file (or record it duplicate or rejected), commit it, and hand an
        accepted file's batch to the runner at once."""
        if self.earlier is not None:
            return  # a replay: the earlier batch holds the files
        self._position += 1
        limit = self.runtime.settings.max_files_per_batch
        if self._position > limit:
            raise IntakeError("batch.too_many_files", limit=limit)
        for attempt in (1, 2):
            try:
                with self.runtime.database.session() as session:
                    repo = CaseRepository(session)
                    batch = self._batch(repo)
                    if batch is None:
                        return
                    batch_id = batch.id
                    accepted = _accept(self.runtime, repo, batch, self._position, upload,
                                       set())
                break
            except IntegrityError:
                # The same file stored by a concurrent upload to the case between our
                # look and our write: once that one is committed, ours is its duplicate.
                if attempt == 2:
                    raise
        self.batch_id = batch_id  # committed, with the key's claim, with the first file
        if accepted:
            self.runner.submit_files(batch_id)

    def _batch(self, repo: CaseRepository) -> Batch | None:
        if self.batch_id is not None:
            batch = repo.get_batch(self.batch_id)
            if batch is None:  # superseded by a retry, or discarded as abandoned
                raise IntakeError("batch.not_found", batch_id=self.batch_id)
            return batch
        batch, created = _create_batch(repo, self.case_id, self.idempotency_key,
                                       self.uploaded_by, status=RECEIVING)
        if not created:
            self.earlier = batch.id
            return None
        return batch

    def seal(self) -> str:
        """Every file is in: the batch is `received` (a returned case's supplement is
        recorded in the same transaction) and handed to the runner, which assesses it as
        soon as its last page is read. Returns the batch's id; raises `batch.empty` for
        an upload without files."""
        if self.earlier is not None:
            return self.earlier
        if self.batch_id is None:
            raise IntakeError("batch.empty")
        if not self.sealed:
            with self.runtime.database.session() as session:
                repo = CaseRepository(session)
                repo.lock_case_of_batch(self.batch_id)
                batch = repo.get_batch(self.batch_id)
                if batch is None or batch.status != RECEIVING:  # superseded by a retry
                    raise IntakeError("batch.not_found", batch_id=self.batch_id)
                batch.status = "received"
                self.lifecycle.record_resubmission(repo, batch.case, batch.id)
            self.sealed = True
        self.runner.submit_files(self.batch_id)
        return self.batch_id

    def discard(self) -> None:
        """The upload broke off (a limit, a malformed body, the client gone): its batch and
        what was stored of it are removed, as if it had never been sent; pages being read
        meanwhile find nothing to write. A batch whose file a concurrent upload's duplicate
        already points at is sealed instead: nothing another batch relies on is lost."""
        if self.batch_id is None or self.sealed:
            return
        with self.runtime.database.session() as session:
            repo = CaseRepository(session)
            repo.lock_case_of_batch(self.batch_id)
            discarded = repo.discard_batch(self.batch_id)
        if discarded:
            self.batch_id = None
        else:
            self.seal()


def _create_batch(repo: CaseRepository, case_id: str, idempotency_key: str | None,
                  uploaded_by: int | None, *, status: str = "received") -> tuple[Batch, bool]:
    """A new batch of the case in `status`, or the batch an idempotency key already names
    (and False)."""
    case = repo.get_case(case_id)
    assert case is not None, case_id
    if idempotency_key:
        earlier = repo.find_batch_by_key(case.id, idempotency_key)
        if earlier is not None and not (earlier.status == RECEIVING and
                                        _supersede(repo, earlier.id)):
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
    batch.status = status
    return batch, True


def _supersede(repo: CaseRepository, batch_id: str) -> bool:
    """A retry of an upload whose batch is still `receiving`: the client gave that attempt
    up (its connection or its API process died mid-body, or it is still trickling in).
    The retry's upload becomes the batch: the unfinished one is discarded in this
    transaction (an attempt still sending finds its batch gone, `batch.not_found`). False
    when it cannot be (a concurrent duplicate points at its file): it stays the batch."""
    repo.lock_case_of_batch(batch_id)
    return repo.discard_batch(batch_id)
