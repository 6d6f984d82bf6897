"""GET /v1/ota/download/{version} against each firmware store: ranges, 416, If-Range, 404s."""

from __future__ import annotations

import hashlib
import os
import random
from dataclasses import dataclass

import httpx
import pytest

from tests.integration.ota.conftest import Ota
from tests.integration.ota.helpers import device_keys, new_model, publish
from tests.support.errors import assert_error
from tests.support.factories import bearer

SIZE = 1024 * 1024 + 12_345  # not a multiple of any chunk size


@dataclass
class Image:
    model: str
    version: str
    data: bytes
    key: str  # a device in the released batch
    release_id: str

    @property
    def path(self) -> str:
        return f"/v1/ota/download/{self.version}"

    @property
    def etag(self) -> str:
        return f'"{hashlib.sha256(self.data).hexdigest()}"'


@pytest.fixture
async def image(ota_store: Ota) -> Image:
    model, data = new_model(), os.urandom(SIZE)
    [key] = await device_keys(ota_store.client, ota_store.token, model, "canary")
    created = await publish(ota_store.client, ota_store.token, model, "3.1.0", ["canary"], data)
    return Image(model, "3.1.0", data, key, created["release_id"])


async def get(client: httpx.AsyncClient, image: Image, **headers: str) -> httpx.Response:
    return await client.get(image.path, headers={**bearer(image.key), **headers})


async def test_whole_image(ota_store: Ota, image: Image) -> None:
    response = await get(ota_store.client, image)
    assert response.status_code == 200
    assert response.content == image.data
    assert response.headers["Content-Length"] == str(SIZE)
    assert response.headers["ETag"] == image.etag
    assert response.headers["Accept-Ranges"] == "bytes"
    assert response.headers["Content-Type"] == "application/octet-stream"
    assert response.headers["RateLimit-Policy"].startswith('"ota_download"')


async def test_every_byte_range_matches_the_stored_checksum(ota_store: Ota, image: Image) -> None:
    rng = random.Random(SIZE)
    # Reassemble the image from random contiguous ranges, as a resuming device would.
    pieces, offset = [], 0
    while offset < SIZE:
        end = min(SIZE - 1, offset + rng.randint(1, 300_000))
        response = await get(ota_store.client, image, Range=f"bytes={offset}-{end}")
        assert response.status_code == 206
        assert response.headers["Content-Range"] == f"bytes {offset}-{end}/{SIZE}"
        assert response.headers["Content-Length"] == str(end - offset + 1)
        assert response.headers["ETag"] == image.etag
        pieces.append(response.content)
        offset = end + 1
    assert f'"{hashlib.sha256(b"".join(pieces)).hexdigest()}"' == image.etag
    # And arbitrary ranges, including single bytes at the edges, match the image's bytes.
    spots = [(0, 0), (SIZE - 1, SIZE - 1), (SIZE - 2, SIZE + 50)]
    spots += [tuple(sorted(rng.sample(range(SIZE), 2))) for _ in range(10)]  # type: ignore[misc]
    for start, end in spots:
        response = await get(ota_store.client, image, Range=f"bytes={start}-{end}")
        assert response.status_code == 206
        assert response.content == image.data[start : end + 1]


async def test_open_ended_and_suffix_ranges(ota_store: Ota, image: Image) -> None:
    resumed = await get(ota_store.client, image, Range="bytes=524288-")
    assert resumed.status_code == 206
    assert resumed.headers["Content-Range"] == f"bytes 524288-{SIZE - 1}/{SIZE}"
    assert resumed.content == image.data[524288:]
    tail = await get(ota_store.client, image, Range="bytes=-100")
    assert tail.status_code == 206
    assert tail.content == image.data[-100:]


async def test_unsatisfiable_ranges_are_416(ota_store: Ota, image: Image) -> None:
    for spec in (f"bytes={SIZE}-", f"bytes={SIZE + 10}-{SIZE + 20}", "bytes=-0"):
        response = await get(ota_store.client, image, Range=spec)
        assert_error(response, 416, "range_not_satisfiable")
        assert response.headers["Content-Range"] == f"bytes */{SIZE}"
        assert "RateLimit" in response.headers


async def test_ranges_we_ignore_send_the_whole_image(ota_store: Ota, image: Image) -> None:
    for spec in ("bytes=0-1,5-9", "bytes=9-2", "lines=1-2"):
        response = await get(ota_store.client, image, Range=spec)
        assert response.status_code == 200
        assert len(response.content) == SIZE


async def test_if_range(ota_store: Ota, image: Image) -> None:
    same = await get(ota_store.client, image, Range="bytes=10-19", **{"If-Range": image.etag})
    assert same.status_code == 206
    assert same.content == image.data[10:20]
    stale = await get(ota_store.client, image, Range="bytes=10-19", **{"If-Range": '"0000"'})
    assert stale.status_code == 200
    assert stale.content == image.data


async def test_head(ota_store: Ota, image: Image) -> None:
    response = await ota_store.client.head(image.path, headers=bearer(image.key))
    assert response.status_code == 200
    assert response.headers["Content-Length"] == str(SIZE)
    assert response.headers["ETag"] == image.etag
    assert response.content == b""


async def test_versions_not_offered_are_404(ota_store: Ota, image: Image) -> None:
    client, token = ota_store.client, ota_store.token
    [other_batch] = await device_keys(client, token, image.model, "fleet")
    [other_model] = await device_keys(client, token, new_model(), "canary")
    for key in (other_batch, other_model):
        assert_error(await client.get(image.path, headers=bearer(key)), 404, "not_found")
    for version in ("9.9.9", "not-a-version", "3.1"):
        response = await client.get(f"/v1/ota/download/{version}", headers=bearer(image.key))
        assert_error(response, 404, "not_found")


async def test_a_paused_release_cannot_be_downloaded(ota_store: Ota, image: Image) -> None:
    client, token = ota_store.client, ota_store.token
    base = f"/admin/v1/firmware/{image.model}/{image.version}/releases/{image.release_id}"
    assert (await client.post(f"{base}/pause", headers=bearer(token))).status_code == 200
    assert_error(await get(client, image, Range="bytes=100-"), 404, "not_found")
    assert (await client.post(f"{base}/resume", headers=bearer(token))).status_code == 200
    assert (await get(client, image, Range="bytes=100-")).status_code == 206


async def test_client_hanging_up_mid_stream_is_harmless(ota_store: Ota, image: Image) -> None:
    for _ in range(3):
        async with ota_store.client.stream(
            "GET", image.path, headers=bearer(image.key)
        ) as response:
            assert response.status_code == 200
            async for _chunk in response.aiter_bytes():
                break  # drop the connection after the first chunk
    assert (await get(ota_store.client, image)).content == image.data
