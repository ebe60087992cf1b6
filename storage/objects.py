"""Object storage for original uploads and derived artefacts.

Originals are content-addressed by SHA-256 and immutable: writing the same bytes twice is a
no-op, and a key is never overwritten with different bytes. The local directory store is the
embedded default; an S3/MinIO store implements the same protocol in production.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import Protocol


class ObjectStoreError(Exception):
    """The object store refused or lost an object."""


class ObjectStore(Protocol):
    """Stores immutable blobs by key. Implementations must make `put` atomic: a reader sees
    either nothing or the complete object, never a partial write."""

    def put(self, key: str, data: bytes) -> None: ...

    def get(self, key: str) -> bytes: ...

    def exists(self, key: str) -> bool: ...


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
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
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
