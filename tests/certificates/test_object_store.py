"""The object store contract over the local directory and the S3 API (moto on 127.0.0.1),
and the S3 store's write verification and atomicity."""

from __future__ import annotations

import io
import json
import random
import subprocess
import sys
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
    with pytest.raises(ObjectStoreError, match="network dropped"):
        store.put("originals/interrupted", other)
    assert calls["n"] == 2
    assert not store.exists("originals/interrupted")
    assert _pending_uploads(store, s3_endpoint) == []  # the SDK aborted the upload


def _content(size: int, seed: int) -> bytes:
    """Bytes that differ in every part, so a part sent twice or out of order shows."""
    return random.Random(seed).randbytes(size)


# Around every boundary the SDK and S3 care about: 5 MiB is the smallest part (and where
# the SDK splits when it picks the part size itself), 64 MiB our single-PUT limit, 16 MiB
# our part size.
SIZES = [0, 5 * MIB - 1, 5 * MIB, 5 * MIB + 1, 6 * MIB, 63 * MIB, 64 * MIB, 65 * MIB]


@pytest.mark.parametrize("size", SIZES, ids=[f"{s}B" for s in SIZES])
def test_objects_of_every_size_are_stored_and_verified(s3_store: S3ObjectStore,
                                                       size: int) -> None:
    data = _content(size, size)
    s3_store.put("originals/sized", data)
    assert s3_store.get("originals/sized") == data
    etag = s3_store.client.stat_object(s3_store.bucket, "originals/sized").etag.strip('"')
    parts = -(-size // s3_store.part_size) if size > s3_store.multipart_threshold else None
    assert etag == expected_etag(data, s3_store.part_size if parts else None)
    assert etag.endswith(f"-{parts}") if parts else "-" not in etag
    s3_store.put("originals/sized", data)  # the same bytes again: a no-op


_STREAM_IN_A_CHILD = """
import json, sys
from storage.s3 import S3ObjectStore
from tests.helpers import peak_rss, reset_peak_rss
endpoint, bucket, path, size = sys.argv[1:5]
store = S3ObjectStore.connect(endpoint, access_key=sys.argv[5], secret_key=sys.argv[6],
                              bucket=bucket, secure=False, region="us-east-1")
store.exists("warm-up")  # the connection pool and signing code, before the baseline
before = reset_peak_rss()
with open(path, "rb") as stream:
    store.put_stream("originals/huge", stream, int(size))
print(json.dumps({"before": before, "peak": peak_rss()}))
"""


def test_a_200_mib_upload_streams_from_a_file_in_bounded_memory(
        s3_store: S3ObjectStore, s3_endpoint: str, tmp_path: Path) -> None:
    size, path = 200 * MIB, tmp_path / "scan.pdf"
    with path.open("wb") as handle:
        for seed in range(size // (8 * MIB)):
            handle.write(_content(8 * MIB, seed))
    # In a child process: the moto server shares this one's memory.
    out = subprocess.run(
        [sys.executable, "-c", _STREAM_IN_A_CHILD, s3_endpoint, s3_store.bucket, str(path),
         str(size), ACCESS, SECRET], stdout=subprocess.PIPE, text=True, check=True, timeout=300)
    rss = json.loads(out.stdout)
    grown = rss["peak"] - rss["before"]
    print(f"200 MiB put_stream grew the process by {grown / MIB:.1f} MiB")
    # A 16 MiB part in flight (and the SDK's copies of it), never the whole file.
    assert grown < 64 * MIB, f"grew {grown / MIB:.0f} MiB"
    etag = s3_store.client.stat_object(s3_store.bucket, "originals/huge").etag.strip('"')
    assert etag.endswith(f"-{-(-size // s3_store.part_size)}")
    stored = s3_store.get("originals/huge")
    assert len(stored) == size and stored == path.read_bytes()


def test_a_stream_that_changes_while_it_is_sent_is_discarded(s3_store: S3ObjectStore
                                                             ) -> None:
    class Shifting(io.BytesIO):
        """Hashes as one content, then reads as another (a file rewritten meanwhile)."""

        reads = 0

        def read(self, size: int | None = -1) -> bytes:
            self.reads += 1
            chunk = super().read(size)
            return chunk.upper() if self.reads > 2 else chunk

    with pytest.raises(ObjectStoreError, match="discarded"):
        s3_store.put_stream("originals/shifting", Shifting(b"abc" * 1000), 3000)
    assert not s3_store.exists("originals/shifting")


def test_put_stream_on_the_local_store(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path / "objects")
    data = _content(3 * MIB + 7, 1)
    store.put_stream("originals/x", io.BytesIO(data), len(data))
    store.put_stream("originals/x", io.BytesIO(data), len(data))  # same bytes: a no-op
    assert store.get("originals/x") == data
    with pytest.raises(ObjectStoreError, match="different content"):
        store.put_stream("originals/x", io.BytesIO(data[::-1]), len(data))
    with pytest.raises(ObjectStoreError, match="not 10"):
        store.put_stream("originals/y", io.BytesIO(b"short"), 10)
    assert not store.exists("originals/y")


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
