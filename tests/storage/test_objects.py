from __future__ import annotations

from pathlib import Path

import pytest

from storage.objects import LocalObjectStore, ObjectStoreError, original_key, sha256_hex


def test_originals_are_content_addressed_and_immutable(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path / "objects")
    data = b"%PDF-1.4 scan"
    key = original_key(sha256_hex(data))
    assert key.endswith(sha256_hex(data)) and key.startswith("originals/")
    store.put(key, data)
    store.put(key, data)  # same bytes again: fine
    assert store.get(key) == data and store.exists(key)
    with pytest.raises(ObjectStoreError):
        store.put(key, b"different bytes")
    assert store.get(key) == data
    # no temporary files are left behind
    assert [p.name for p in (tmp_path / "objects").rglob(".upload-*")] == []


def test_missing_object_and_escaping_keys_are_errors(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path / "objects")
    with pytest.raises(ObjectStoreError):
        store.get("originals/none")
    with pytest.raises(ObjectStoreError):
        store.put("../outside", b"x")
    assert not (tmp_path / "outside").exists()
