"""The object store contract over the local directory and the S3 API (moto on 127.0.0.1),
and the S3 store's write verification and atomicity."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest

from intake.runtime import make_object_store
from intake.settings import SettingsError, load_settings
from storage.objects import LocalObjectStore, ObjectStore, ObjectStoreError, original_key
from storage.objects import sha256_hex as sha
from storage.s3 import MIB, S3ObjectStore, expected_etag
from tests.certificates.conftest import ACCESS, SECRET, new_bucket


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> ObjectStore:
    if request.param == "local":
        return LocalObjectStore(tmp_path / "objects")
    s3: S3ObjectStore = request.getfixturevalue("s3_store")
    return s3


def test_originals_by_sha256_are_immutable(store: ObjectStore) -> None:
    data = b"%PDF-1.7 original scan"
    key = original_key(sha(data))
    derived = f"{key}.pages/1.json"  # derived artefacts live beside the original
    assert not store.exists(key)
    store.put(key, data)
    store.put(derived, b'{"lines": []}')
    store.put(key, data)  # the same bytes again: a no-op
    assert store.exists(key) and store.get(key) == data
    assert store.get(derived) == b'{"lines": []}'
    with pytest.raises(ObjectStoreError, match="different content"):
        store.put(key, b"other bytes")
    assert store.get(key) == data
    with pytest.raises(ObjectStoreError, match="not found"):
        store.get(original_key("0" * 64))


def test_a_body_corrupted_in_transit_is_discarded(s3_store: S3ObjectStore,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    real = s3_store.client._put_object

    def flip_a_byte(bucket: str, name: str, data: bytes, *args: Any, **kwargs: Any) -> Any:
        return real(bucket, name, bytes([data[0] ^ 0xFF]) + data[1:], *args, **kwargs)

    monkeypatch.setattr(s3_store.client, "_put_object", flip_a_byte)
    with pytest.raises(ObjectStoreError, match="checksum"):
        s3_store.put("originals/corrupt", b"scan bytes that will not arrive intact")
    assert not s3_store.exists("originals/corrupt")


def _pending_uploads(store: S3ObjectStore, endpoint: str) -> list[Any]:
    s3 = boto3.client("s3", endpoint_url=f"http://{endpoint}", aws_access_key_id=ACCESS,
                      aws_secret_access_key=SECRET, region_name="us-east-1")
    uploads: list[Any] = s3.list_multipart_uploads(Bucket=store.bucket).get("Uploads", [])
    return uploads


def test_multipart_upload_is_verified_and_an_interrupted_one_leaves_nothing(
        s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> None:
    store = S3ObjectStore.connect(s3_endpoint, access_key=ACCESS, secret_key=SECRET,
                                  bucket=new_bucket(), secure=False, region="us-east-1",
                                  create_bucket=True, multipart_threshold=5 * MIB,
                                  part_size=5 * MIB)
    data = bytes(range(256)) * (11 * MIB // 256)
    assert expected_etag(data, 5 * MIB).endswith("-3")
    store.put("originals/big", data)  # raises if the composite ETag does not match
    assert store.get("originals/big") == data

    calls = {"n": 0}
    real = store.client._upload_part

    def fail_second_part(*args: Any, **kwargs: Any) -> str:
        calls["n"] += 1
        if calls["n"] == 2:
            raise ConnectionError("network dropped mid-upload")
        return real(*args, **kwargs)

    monkeypatch.setattr(store.client, "_upload_part", fail_second_part)
    other = data[::-1]
    with pytest.raises(ConnectionError):
        store.put("originals/interrupted", other)
    assert calls["n"] == 2
    assert not store.exists("originals/interrupted")
    assert _pending_uploads(store, s3_endpoint) == []  # the SDK aborted the upload


def test_presigned_url_serves_the_object_for_a_short_time(s3_store: S3ObjectStore) -> None:
    s3_store.put("derived/certificates/x.pdf", b"%PDF-1.7 scan")
    url = s3_store.presigned_url("derived/certificates/x.pdf", timedelta(seconds=60),
                                 "x.pdf")
    assert "X-Amz-Expires=60" in url
    response = httpx.get(url)
    assert response.status_code == 200 and response.content == b"%PDF-1.7 scan"


def test_settings_choose_the_store_and_refuse_default_secrets(tmp_path: Path,
                                                               s3_endpoint: str) -> None:
    local = make_object_store(load_settings(data_dir=tmp_path))
    assert isinstance(local, LocalObjectStore)
    s3 = make_object_store(load_settings(
        data_dir=tmp_path, object_store="s3", s3_endpoint=s3_endpoint,
        s3_bucket=new_bucket(), s3_access_key=ACCESS, s3_secret_key=SECRET, s3_secure=False,
        s3_region="us-east-1", s3_create_bucket=True))
    assert isinstance(s3, S3ObjectStore)
    s3.put("k", b"v")
    assert s3.get("k") == b"v"
    with pytest.raises(SettingsError, match="DOCINTAKE_S3_SECRET_KEY"):
        load_settings(data_dir=tmp_path, environment="production", object_store="s3",
                      database_url="postgresql+psycopg://db/docintake")
