"""Slow clients are cut off (CONTRACT §8): headers that trickle in and bodies that stall are
disconnected after the read timeout, and connections beyond the concurrency bound are
answered 503 at once instead of queueing."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.conftest import make_settings
from tests.support.factories import admin_token
from tests.support.server import LiveServer, live_server

TIMEOUT = 1.0
SLOW_CLIENTS = 100


@pytest.fixture
async def impatient(database_url: str, tmp_path: Path) -> AsyncIterator[LiveServer]:
    settings = make_settings(database_url, tmp_path, request_read_timeout_seconds=TIMEOUT)
    async with live_server(settings) as server:
        yield server


async def _open(server: LiveServer) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    url = urlsplit(server.url)
    return await asyncio.open_connection(url.hostname, url.port)


async def _closed_after(reader: asyncio.StreamReader, started: float, limit: float) -> float:
    """Seconds until the server closed the connection (reads EOF), at most `limit`."""
    await asyncio.wait_for(reader.read(), limit)
    return time.monotonic() - started


async def test_headers_sent_a_byte_at_a_time_are_cut_off(
    impatient: LiveServer, capsys: pytest.CaptureFixture[str]
) -> None:
    request = b"GET /health HTTP/1.1\r\nHost: t\r\nX-Slow: " + b"a" * 400 + b"\r\n\r\n"

    async def slowloris() -> float:
        reader, writer = await _open(impatient)
        started = time.monotonic()

        async def trickle() -> None:
            for byte in request:
                if writer.is_closing():
                    return
                writer.write(bytes([byte]))
                try:
                    await writer.drain()
                except ConnectionError:
                    return
                await asyncio.sleep(0.1)

        feeding = asyncio.ensure_future(trickle())
        try:
            return await _closed_after(reader, started, TIMEOUT + 5)
        finally:
            feeding.cancel()
            writer.close()

    closed = await asyncio.gather(*(slowloris() for _ in range(SLOW_CLIENTS)))
    assert max(closed) < TIMEOUT + 2
    assert min(closed) >= TIMEOUT - 0.1
    # The server still answers everybody else.
    assert (await impatient.client.get("/openapi.json")).status_code == 200
    with capsys.disabled():
        print(
            f"\n{SLOW_CLIENTS} slow-header clients, timeout {TIMEOUT} s: all disconnected after "
            f"{min(closed):.2f}-{max(closed):.2f} s"
        )


async def test_a_connection_that_sends_nothing_is_cut_off(impatient: LiveServer) -> None:
    reader, writer = await _open(impatient)
    assert await _closed_after(reader, time.monotonic(), TIMEOUT + 3) < TIMEOUT + 2
    writer.close()


async def test_a_stalled_body_is_cut_off_without_an_error_logged(
    impatient: LiveServer, caplog: pytest.LogCaptureFixture
) -> None:
    token = await admin_token(impatient.services)
    reader, writer = await _open(impatient)
    writer.write(
        (
            "POST /admin/v1/alert-rules HTTP/1.1\r\nHost: t\r\n"
            f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
            'Content-Length: 100\r\n\r\n{"name":'
        ).encode()
    )
    await writer.drain()
    data = await asyncio.wait_for(reader.read(), TIMEOUT + 3)
    assert data == b""  # closed, not answered
    writer.close()
    await asyncio.sleep(0.2)
    assert [r for r in caplog.records if r.levelname == "ERROR"] == []


async def test_connections_beyond_the_bound_are_answered_503(
    database_url: str, tmp_path: Path
) -> None:
    settings = make_settings(
        database_url, tmp_path, max_concurrent_connections=4, request_read_timeout_seconds=30
    )
    async with live_server(settings) as server:
        held = [await _open(server) for _ in range(4)]
        await asyncio.sleep(0.1)
        response = await server.client.get("/openapi.json")
        assert response.status_code == 503
        for _, writer in held:
            writer.close()
        await asyncio.sleep(0.3)
        assert (await server.client.get("/openapi.json")).status_code == 200
