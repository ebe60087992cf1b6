"""Object storage for original uploads and derived artefacts.

Originals are content-addressed by SHA-256 and immutable: writing the same bytes twice is a
no-op, and a key is never overwritten with different bytes. The local directory store is the
embedded default; an S3/MinIO store implements the same protocol in production.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO, Protocol


class ObjectStoreError(Exception):
    """The object store refused or lost an object."""


class ObjectStore(Protocol):
    """Stores immutable blobs by key. Implementations must make `put` atomic: a reader sees
    either nothing or the complete object, never a partial write."""

    def put(self, key: str, data: bytes) -> None: ...

    def put_stream(self, key: str, stream: BinaryIO, length: int) -> None:
        """`put` from a seekable binary stream of `length` bytes, without holding it in
        memory whole (a spooled upload of up to the upload limit)."""

    def get(self, key: str) -> bytes: ...

    def exists(self, key: str) -> bool: ...

    def keys(self, prefix: str) -> list[str]:
        """The keys that start with `prefix`, sorted."""


MIB = 1024 * 1024


def _same_content(path: Path, stream: BinaryIO) -> bool:
    with path.open("rb") as stored:
        while True:
            ours, theirs = stored.read(MIB), stream.read(MIB)
            if ours != theirs:
                return False
            if not ours:
                return True


def original_key(sha256: str) -> str:
    """Where an original upload lives: sharded so no directory grows too large."""
    return f"originals/{sha256[:2]}/{sha256[2:4]}/{sha256}"


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class LocalObjectStore:
    """Objects as files under one directory; writes go to a temporary file then rename."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root.resolve() not in path.parents:
            raise ObjectStoreError(f"object key escapes the store: {key!r}")
        return path

    def put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        if path.exists():
            if path.read_bytes() != data:
                raise ObjectStoreError(f"object {key} already exists with different content")
            return
        self._write(path, lambda handle: handle.write(data))

    def put_stream(self, key: str, stream: BinaryIO, length: int) -> None:
        path = self._path(key)
        if path.exists():
            start = stream.tell()
            same = _same_content(path, stream)
            stream.seek(start)
            if not same:
                raise ObjectStoreError(f"object {key} already exists with different content")
            return

        def copy(handle: BinaryIO) -> None:
            shutil.copyfileobj(stream, handle, MIB)
            if handle.tell() != length:
                raise ObjectStoreError(f"object {key}: the stream held {handle.tell()} bytes, "
                                       f"not {length}")

        self._write(path, copy)

    def _write(self, path: Path, fill: Callable[[BinaryIO], object]) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as handle:
                fill(handle)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def get(self, key: str) -> bytes:
        path = self._path(key)
        try:
            return path.read_bytes()
        except FileNotFoundError as exc:
            raise ObjectStoreError(f"object {key} not found") from exc

    def exists(self, key: str) -> bool:
        return self._path(key).exists()

    def keys(self, prefix: str) -> list[str]:
        root = self.root.resolve()
        # Walk only below the prefix's directory part: the originals may be millions.
        base = self._path(prefix.rsplit("/", 1)[0]) if "/" in prefix else root
        if not base.is_dir():
            return []
        return sorted(
            key for path in base.rglob("*")
            if path.is_file() and not path.name.startswith(".upload-")
            and (key := path.relative_to(root).as_posix()).startswith(prefix))
