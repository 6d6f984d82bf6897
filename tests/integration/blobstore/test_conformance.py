"""Every BlobStore implementation behaves the same: the local folder and S3 (moto on loopback)."""

from __future__ import annotations

import hashlib
import os
import random
import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from climasense.blobstore import BlobNotFound, BlobStore
from climasense.blobstore.local import LocalBlobStore
from climasense.blobstore.s3 import MIN_PART_SIZE, S3BlobStore
from tests.support.s3 import create_bucket


@pytest.fixture(params=["local", pytest.param("s3", marks=pytest.mark.s3)])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[BlobStore]:
    if request.param == "local":
        yield LocalBlobStore(tmp_path / "firmware", chunk_size=64 * 1024)
        return
    endpoint = request.getfixturevalue("s3_endpoint")
    bucket = await create_bucket(endpoint)
    s3 = S3BlobStore(
        bucket, "fw/test", endpoint_url=endpoint, part_size=MIN_PART_SIZE, chunk_size=64 * 1024
    )
    await s3.start()
    try:
        yield s3
    finally:
        await s3.close()


async def chunked(data: bytes, size: int = 100_003) -> AsyncIterator[bytes]:
    for offset in range(0, len(data), size):
        yield data[offset : offset + size]


async def read_all(store: BlobStore, key: str, start: int = 0, end: int | None = None) -> bytes:
    reader = await store.open_range(key, start, end)
    try:
        return b"".join([chunk async for chunk in reader.chunks()])
    finally:
        await reader.close()


async def test_put_reports_size_and_sha256_and_reads_back(store: BlobStore) -> None:
    data = os.urandom(300_000)
    stored = await store.put("a/image.bin", chunked(data))
    assert (stored.size, stored.sha256) == (len(data), hashlib.sha256(data).hexdigest())
    assert await store.exists("a/image.bin")
    assert await store.size("a/image.bin") == len(data)
    assert await read_all(store, "a/image.bin") == data


async def test_ranged_reads_match_the_slices(store: BlobStore) -> None:
    data = os.urandom(200_000)
    await store.put("ranges.bin", chunked(data, 7_777))
    rng = random.Random(7)
    cases = [(0, 0), (0, None), (len(data) - 1, None), (199_999, 199_999), (5, 10**9)]
    cases += [tuple(sorted(rng.sample(range(len(data)), 2))) for _ in range(15)]  # type: ignore[misc]
    for start, end in cases:
        reader = await store.open_range("ranges.bin", start, end)
        stop = len(data) if end is None else min(end + 1, len(data))
        assert reader.length == stop - start
        body = b"".join([c async for c in reader.chunks()])
        await reader.close()
        await reader.close()  # closing twice is allowed
        assert body == data[start:stop], (start, end)


async def test_multipart_sized_upload_round_trips(store: BlobStore) -> None:
    # 2.5 parts of S3's minimum part size: a multipart upload with a short last part.
    data = os.urandom(MIN_PART_SIZE * 2 + MIN_PART_SIZE // 2)
    stored = await store.put("big.bin", chunked(data, 1 << 20))
    assert stored.sha256 == hashlib.sha256(data).hexdigest()
    assert await store.size("big.bin") == len(data)
    tail = await read_all(store, "big.bin", MIN_PART_SIZE - 10, MIN_PART_SIZE * 2 + 10)
    assert tail == data[MIN_PART_SIZE - 10 : MIN_PART_SIZE * 2 + 11]


async def test_exact_multiple_of_the_part_size(store: BlobStore) -> None:
    data = os.urandom(MIN_PART_SIZE * 2)
    stored = await store.put("exact.bin", chunked(data, 1 << 20))
    assert stored.size == len(data)
    assert hashlib.sha256(await read_all(store, "exact.bin")).hexdigest() == stored.sha256


async def test_missing_keys(store: BlobStore) -> None:
    assert not await store.exists("nope.bin")
    with pytest.raises(BlobNotFound):
        await store.size("nope.bin")
    with pytest.raises(BlobNotFound):
        await store.open_range("nope.bin")
    await store.delete("nope.bin")  # deleting a missing key is fine


async def test_delete_removes(store: BlobStore) -> None:
    await store.put("gone.bin", chunked(b"x" * 10))
    await store.delete("gone.bin")
    assert not await store.exists("gone.bin")


async def test_failed_put_leaves_nothing(store: BlobStore, tmp_path: Path) -> None:
    data = os.urandom(MIN_PART_SIZE + 1000)

    async def broken() -> AsyncIterator[bytes]:
        async for chunk in chunked(data, 1 << 20):
            yield chunk
        raise ConnectionResetError("client went away")

    with pytest.raises(ConnectionResetError):
        await store.put("broken.bin", broken())
    assert not await store.exists("broken.bin")
    if isinstance(store, LocalBlobStore):  # no temporary file left behind either
        assert [p for p in store.root.rglob("*") if p.is_file()] == []
    if isinstance(store, S3BlobStore):  # the multipart upload was aborted
        uploads = await store.client.list_multipart_uploads(Bucket=store.bucket)
        assert uploads.get("Uploads", []) == []


async def test_empty_object(store: BlobStore) -> None:
    stored = await store.put("empty.bin", chunked(b""))
    assert stored.size == 0
    assert stored.sha256 == hashlib.sha256(b"").hexdigest()
    assert await read_all(store, "empty.bin") == b""


async def test_keys_cannot_escape(store: BlobStore) -> None:
    for key in ("../x", "/abs", "a/../../b", "", "a b"):
        with pytest.raises(ValueError, match="invalid blob key"):
            await store.put(key, chunked(b"x"))


async def test_overwrite_replaces_whole(store: BlobStore) -> None:
    key = f"{secrets.token_hex(4)}.bin"
    await store.put(key, chunked(b"a" * 1000))
    await store.put(key, chunked(b"b" * 10))
    assert await read_all(store, key) == b"b" * 10
