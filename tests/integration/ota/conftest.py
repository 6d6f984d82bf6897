from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from climasense.settings import RateLimit, Settings
from tests.conftest import make_settings
from tests.support.factories import admin_token
from tests.support.s3 import create_bucket, moto_s3
from tests.support.server import LiveServer, live_server


@dataclass
class Ota:
    server: LiveServer
    token: str

    @property
    def client(self) -> httpx.AsyncClient:
        return self.server.client


def ota_settings(database_url: str, data_dir: Path, **overrides: object) -> Settings:
    base = make_settings(database_url, data_dir)
    # Tests fetch many ranges of one image; the contract's 5 per hour is the limiter's business.
    limits = {
        **base.rate_limits,
        "ota_download": RateLimit(100_000, 3600),
        "ota_check": RateLimit(100_000, 60),
        "default": RateLimit(100_000, 60),
    }
    return base.with_overrides(rate_limits=limits, **overrides)


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    with moto_s3() as url:
        yield url


@pytest.fixture(scope="module")
async def ota(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Ota]:
    """A server with the local firmware store, shared by a module (each test its own model)."""
    settings = ota_settings(database_url, tmp_path_factory.mktemp("ota"))
    async with live_server(settings) as server:
        yield Ota(server, await admin_token(server.services))


@pytest.fixture(scope="module", params=["local", pytest.param("s3", marks=pytest.mark.s3)])
async def ota_store(
    request: pytest.FixtureRequest, database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Ota]:
    """The same, once per firmware store implementation."""
    data_dir = tmp_path_factory.mktemp("ota-store")
    overrides: dict[str, object] = {}
    if request.param == "s3":
        endpoint = request.getfixturevalue("s3_endpoint")
        bucket = await create_bucket(endpoint)
        overrides = {"blob_url": f"s3://{bucket}/firmware", "s3_endpoint_url": endpoint}
    else:
        overrides = {"blob_url": (data_dir / "blobs").as_uri()}
    async with live_server(ota_settings(database_url, data_dir, **overrides)) as server:
        yield Ota(server, await admin_token(server.services))
