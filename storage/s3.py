"""The S3 object store (AWS S3, MinIO, or any S3 API) through the `minio` SDK.

Same contract as `storage.objects.ObjectStore`: keys are immutable and `put` is atomic.

* Atomic: an object up to `multipart_threshold` is written with one PutObject, which S3
  makes visible only when complete. Larger objects go through a multipart upload, which is
  invisible until CompleteMultipartUpload; the SDK aborts the upload if any part fails, so
  an interrupted upload leaves no object and no stored parts.
* Verified: every request body is covered by a server-checked digest (the SigV4 payload
  SHA-256 over HTTP, Content-MD5 over HTTPS, both added by the SDK), a single PUT also
  carries `x-amz-checksum-sha256`, and after the write the returned ETag is compared with
  the MD5 we expected (for multipart: the MD5 of the part MD5s, with `-<parts>`). A
  mismatch removes the object and raises, so no reader ever finds a corrupt original.
* Immutable: the SHA-256 of the content is stored as object metadata; putting different
  bytes under an existing key is refused.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
from datetime import timedelta
from typing import Any, BinaryIO, Protocol, cast, runtime_checkable

from minio import Minio
from minio.error import S3Error

from storage.objects import ObjectStoreError

MIB = 1024 * 1024
_MISSING = ("NoSuchKey", "NoSuchObject", "NotFound", "ResourceNotFound")


@runtime_checkable
class Presigner(Protocol):
    """A store that can hand out a short-lived URL for direct download."""

    def presigned_url(self, key: str, expires: timedelta, filename: str | None = None
                      ) -> str: ...


def expected_etag(data: bytes, part_size: int | None) -> str:
    """The ETag S3 returns for `data`: its MD5, or for a multipart upload in `part_size`
    parts the MD5 of the concatenated part MD5s followed by `-<number of parts>`."""
    view = memoryview(data)
    if part_size is None or len(data) <= part_size:
        return hashlib.md5(view, usedforsecurity=False).hexdigest()
    return _composite_etag([hashlib.md5(view[i:i + part_size], usedforsecurity=False).digest()
                            for i in range(0, len(data), part_size)])


def _composite_etag(part_digests: list[bytes]) -> str:
    joined = hashlib.md5(b"".join(part_digests), usedforsecurity=False).hexdigest()
    return f"{joined}-{len(part_digests)}"


class _HashingReader:
    """Hands the SDK the stream and hashes exactly what it reads: the SHA-256 of the whole
    body, and the MD5 of each part as the server will see it (the SDK reads parts of
    `part_size` bytes in order, the last one shorter). So the ETag we expect is computed
    from the bytes actually sent, in the parts actually sent, whatever the stream held
    when it was first hashed."""

    def __init__(self, stream: BinaryIO, part_size: int) -> None:
        self._stream = stream
        self._part_size = part_size
        self._in_part = 0
        self._part = hashlib.md5(usedforsecurity=False)
        self.part_digests: list[bytes] = []
        self.sha256 = hashlib.sha256()
        self.size = 0

    def read(self, size: int = -1) -> bytes:
        chunk = self._stream.read(size)
        view = memoryview(chunk)
        self.sha256.update(view)
        self.size += len(chunk)
        while view:
            take = min(len(view), self._part_size - self._in_part)
            self._part.update(view[:take])
            self._in_part += take
            view = view[take:]
            if self._in_part == self._part_size:
                self._close_part()
        return chunk

    def _close_part(self) -> None:
        self.part_digests.append(self._part.digest())
        self._part = hashlib.md5(usedforsecurity=False)
        self._in_part = 0

    def etag(self, multipart: bool) -> str:
        """The ETag the server must return for what was read."""
        if self._in_part or not self.part_digests:
            self._close_part()  # the short last part, or the empty body
        if not multipart:
            return self.part_digests[0].hex()
        return _composite_etag(self.part_digests)


def _sha256_of(stream: BinaryIO) -> str:
    digest = hashlib.sha256()
    while chunk := stream.read(MIB):
        digest.update(chunk)
    return digest.hexdigest()


class S3ObjectStore:
    def __init__(self, client: Minio, bucket: str, *, multipart_threshold: int = 64 * MIB,
                 part_size: int = 16 * MIB) -> None:
        if part_size < 5 * MIB:
            raise ValueError("S3 parts must be at least 5 MiB")
        self.client = client
        self.bucket = bucket
        self.multipart_threshold = max(multipart_threshold, part_size)
        self.part_size = part_size

    @classmethod
    def connect(cls, endpoint: str, *, access_key: str, secret_key: str, bucket: str,
                secure: bool = True, region: str | None = None, create_bucket: bool = False,
                **options: Any) -> S3ObjectStore:
        client = Minio(endpoint, access_key=access_key, secret_key=secret_key,
                       secure=secure, region=region)
        store = cls(client, bucket, **options)
        if create_bucket:
            store.ensure_bucket()
        return store

    def ensure_bucket(self) -> None:
        try:
            if not self.client.bucket_exists(self.bucket):
                self.client.make_bucket(self.bucket)
        except S3Error as exc:
            if exc.code not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                raise ObjectStoreError(f"bucket {self.bucket}: {exc.code}") from exc

    # ObjectStore -----------------------------------------------------------------------
    def put(self, key: str, data: bytes) -> None:
        self._put(key, io.BytesIO(data), len(data), hashlib.sha256(data).hexdigest())

    def put_stream(self, key: str, stream: BinaryIO, length: int) -> None:
        """`put` from a seekable binary stream of `length` bytes (a spooled upload), read
        twice — once to hash, once to send — and never held in memory whole."""
        start = stream.tell()
        sha = _sha256_of(stream)
        stream.seek(start)
        self._put(key, stream, length, sha)

    def _put(self, key: str, stream: BinaryIO, length: int, sha: str) -> None:
        stored = self._stored_sha256(key)
        if stored is not None:
            if stored != sha:
                raise ObjectStoreError(f"object {key} already exists with different content")
            return
        # The part size is always explicit: left to the SDK (0) it means 5 MiB parts for
        # anything over 5 MiB, which is not the upload we would then be verifying.
        multipart = length > self.multipart_threshold
        part_size = self.part_size if multipart else self.multipart_threshold
        metadata: dict[str, Any] = {"sha256": sha}
        if not multipart:
            # S3 and MinIO check this against the body before the object becomes visible.
            metadata["x-amz-checksum-sha256"] = base64.b64encode(bytes.fromhex(sha)).decode()
        reader = _HashingReader(stream, part_size)
        try:
            result = self.client.put_object(
                self.bucket, key, cast(BinaryIO, reader), length, metadata=metadata,
                part_size=part_size, num_parallel_uploads=1)
        except S3Error as exc:
            raise ObjectStoreError(f"object {key} was not stored: {exc.code}") from exc
        except OSError as exc:  # the stream ended early (the SDK says "not enough data")
            raise ObjectStoreError(f"object {key} was not stored: {exc}") from exc
        want = reader.etag(multipart)
        got = (result.etag or "").strip('"')
        sent = reader.sha256.hexdigest()
        if got != want or sent != sha or reader.size != length:
            self._remove_quietly(key)
            raise ObjectStoreError(
                f"object {key}: the server's checksum {got!r} does not match {want!r} "
                f"(or the stream changed while it was sent); the write was discarded")

    def get(self, key: str) -> bytes:
        try:
            response = self.client.get_object(self.bucket, key)
        except S3Error as exc:
            if exc.code in _MISSING:
                raise ObjectStoreError(f"object {key} not found") from exc
            raise ObjectStoreError(f"object {key}: {exc.code}") from exc
        try:
            return response.read()
        finally:
            response.close()
            response.release_conn()

    def exists(self, key: str) -> bool:
        try:
            self.client.stat_object(self.bucket, key)
        except S3Error as exc:
            if exc.code in _MISSING:
                return False
            raise ObjectStoreError(f"object {key}: {exc.code}") from exc
        return True

    def keys(self, prefix: str) -> list[str]:
        try:
            return sorted(str(o.object_name) for o in self.client.list_objects(
                self.bucket, prefix=prefix, recursive=True))
        except S3Error as exc:
            raise ObjectStoreError(f"listing {prefix}: {exc.code}") from exc

    # extras ----------------------------------------------------------------------------
    def presigned_url(self, key: str, expires: timedelta, filename: str | None = None
                      ) -> str:
        headers: dict[str, str | list[str] | tuple[str]] | None = (
            {"response-content-disposition": f'inline; filename="{filename}"'}
                   if filename else None)
        return self.client.presigned_get_object(self.bucket, key, expires=expires,
                                                response_headers=headers)

    def _stored_sha256(self, key: str) -> str | None:
        try:
            stat = self.client.stat_object(self.bucket, key)
        except S3Error as exc:
            if exc.code in _MISSING:
                return None
            raise ObjectStoreError(f"object {key}: {exc.code}") from exc
        meta = {k.lower(): v for k, v in (stat.metadata or {}).items()}
        value = meta.get("x-amz-meta-sha256")
        if value is None:  # written by someone else: compare the content itself
            return hashlib.sha256(self.get(key)).hexdigest()
        return str(value)

    def _remove_quietly(self, key: str) -> None:
        with contextlib.suppress(S3Error):
            self.client.remove_object(self.bucket, key)
