"""Nothing read before authentication (CONTRACT §8): an unauthenticated operator request is
answered 401 without its body being read, operator JSON is capped (413 from Content-Length or
while reading a chunked body), and a client leaving mid-body is not an unhandled error."""

from __future__ import annotations

import asyncio
import logging
import resource
import time
from urllib.parse import urlsplit

import pytest

from climasense.http.protocol import LINGER_SECONDS
from tests.support.factories import admin_token
from tests.support.server import LiveServer

BIG = 256 * 1024 * 1024
CHUNK = 64 * 1024


async def _open(server: LiveServer) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    url = urlsplit(server.url)
    return await asyncio.open_connection(url.hostname, url.port)


def _rss_peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def push_body(server: LiveServer, headers: str, total: int) -> tuple[bytes, int, float]:
    """Send `headers`, then up to `total` body bytes until the server answers or closes;
    the answer's head, the body bytes written by then, and the seconds it took."""
    reader, writer = await _open(server)
    started = time.monotonic()
    writer.write(headers.encode())
    answer = asyncio.ensure_future(reader.read(4096))
    sent = 0
    chunk = b"x" * CHUNK
    try:
        while sent < total and not answer.done():
            writer.write(chunk)
            sent += CHUNK
            await asyncio.wait_for(writer.drain(), 5)
    except (ConnectionError, TimeoutError):
        pass
    head = await asyncio.wait_for(answer, 10)
    elapsed = time.monotonic() - started
    writer.close()
    return head, sent, elapsed


async def test_an_unauthenticated_256_mib_body_is_not_read(
    server: LiveServer, capsys: pytest.CaptureFixture[str]
) -> None:
    before = _rss_peak_mb()
    head, sent, elapsed = await push_body(
        server,
        "POST /admin/v1/alert-rules HTTP/1.1\r\nHost: t\r\n"
        f"Content-Type: application/json\r\nContent-Length: {BIG}\r\n\r\n",
        BIG,
    )
    growth = _rss_peak_mb() - before
    assert head.startswith(b"HTTP/1.1 401"), head[:200]
    assert b"connection: close" in head.lower()
    # The answer came before the body: what was written is what the socket buffers took.
    assert sent < 16 * 1024 * 1024
    assert growth < 32
    with capsys.disabled():
        print(
            f"\n256 MiB unauthenticated body: 401 after {elapsed:.3f} s, "
            f"{sent / 1048576:.1f} MiB written by the client, peak RSS growth {growth:.1f} MB"
        )


async def test_an_authenticated_oversized_body_is_413(server: LiveServer, token: str) -> None:
    auth = f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
    # From Content-Length, before a byte of the body is read.
    head, _sent, _ = await push_body(
        server,
        f"POST /admin/v1/alert-rules HTTP/1.1\r\nHost: t\r\n{auth}"
        f"Content-Length: {2 * 1024 * 1024}\r\n\r\n",
        2 * 1024 * 1024,
    )
    assert head.startswith(b"HTTP/1.1 413"), head[:200]
    assert b"payload_too_large" in head
    # Chunked: while reading, once past the cap.
    reader, writer = await _open(server)
    writer.write(
        f"POST /admin/v1/alert-rules HTTP/1.1\r\nHost: t\r\n{auth}"
        "Transfer-Encoding: chunked\r\n\r\n".encode()
    )
    answer = asyncio.ensure_future(reader.read(4096))
    written = 0
    try:
        while not answer.done() and written < 8 * 1024 * 1024:
            writer.write(f"{CHUNK:x}\r\n".encode() + b" " * CHUNK + b"\r\n")
            written += CHUNK
            await asyncio.wait_for(writer.drain(), 5)
    except (ConnectionError, TimeoutError):
        pass
    head = await asyncio.wait_for(answer, 10)
    writer.close()
    assert head.startswith(b"HTTP/1.1 413"), head[:200]
    # Under the cap, the same route works as before (a 422 for a rule that is not one).
    small = await server.client.post(
        "/admin/v1/alert-rules", json={}, headers={"Authorization": f"Bearer {token}"}
    )
    assert small.status_code == 422


async def test_a_client_leaving_mid_body_is_not_an_unhandled_error(
    server: LiveServer, token: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    for _ in range(20):
        _reader, writer = await _open(server)
        writer.write(
            (
                "POST /admin/v1/alert-rules HTTP/1.1\r\nHost: t\r\n"
                f"Authorization: Bearer {token}\r\n"
                'Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"name": '
            ).encode()
        )
        await writer.drain()
        await asyncio.sleep(0.05)
        writer.close()
    await asyncio.sleep(0.5)
    assert (await server.client.get("/health")).status_code in {200, 404}
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [], [r.getMessage() for r in errors]


@pytest.fixture
async def token(server: LiveServer) -> str:
    return await admin_token(server.services)


async def test_the_device_api_does_not_read_an_unauthenticated_body_either(
    server: LiveServer,
) -> None:
    head, sent, _ = await push_body(
        server,
        "POST /v1/telemetry HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer nope\r\n"
        f"Content-Type: application/json\r\nContent-Length: {BIG}\r\n\r\n",
        BIG,
    )
    assert head.startswith(b"HTTP/1.1 401"), head[:200]
    assert b"connection: close" in head.lower()
    assert sent < 16 * 1024 * 1024


async def test_an_error_raised_before_the_body_is_read_closes_the_connection(
    server: LiveServer, token: str
) -> None:
    """A firmware upload refused by its handler before reading (415 here; an unsigned image on
    a server requiring signatures is the same path) is not then received and discarded: the
    connection closes, as after a 401."""
    total = 256 * 1024 * 1024  # under firmware_max_bytes (1 GiB), so the guard lets it through
    head, sent, _ = await push_body(
        server,
        "PUT /admin/v1/firmware/guard-model/1.0.0 HTTP/1.1\r\nHost: t\r\n"
        f"Authorization: Bearer {token}\r\nContent-Type: text/plain\r\n"
        f"Content-Length: {total}\r\n\r\n",
        total,
    )
    assert head.startswith(b"HTTP/1.1 415"), head[:200]
    assert b"connection: close" in head.lower()
    assert sent < 16 * 1024 * 1024


async def test_an_error_after_the_whole_body_was_read_keeps_the_connection(
    server: LiveServer, token: str
) -> None:
    reader, writer = await _open(server)
    body = b"{}"
    request = (
        "POST /admin/v1/alert-rules HTTP/1.1\r\nHost: t\r\n"
        f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    for _ in range(2):  # the second request on the same connection is answered too
        writer.write(request)
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        assert head.startswith(b"HTTP/1.1 422"), head[:200]
        assert b"connection: close" not in head.lower()
        length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
        await reader.readexactly(length)
    writer.close()


async def test_an_early_answer_is_not_lost_to_a_reset(server: LiveServer, token: str) -> None:
    """The server answers (415) while the client's body is still arriving. Closing at once with
    unread bytes makes the kernel send a reset, and the client, before it reads, gets
    "connection reset by peer" instead of the answer. The server lingers instead: the answer,
    then EOF, with the unread rest discarded."""
    reader, writer = await _open(server)
    writer.write(
        (
            "PUT /admin/v1/firmware/linger-model/1.0.0 HTTP/1.1\r\nHost: t\r\n"
            f"Authorization: Bearer {token}\r\nContent-Type: text/plain\r\n"
            f"Content-Length: {64 * 1024 * 1024}\r\n\r\n"
        ).encode()
        + b"x" * (2 * 1024 * 1024)  # more than the server buffers before it pauses reading
    )
    await asyncio.wait_for(writer.drain(), 5)
    await asyncio.sleep(0.5)  # the answer is sent and the server closes meanwhile
    writer.write(b"x" * CHUNK)  # the client is still sending its body
    await asyncio.wait_for(writer.drain(), 5)
    answer = await asyncio.wait_for(reader.read(), 10)  # to EOF
    writer.close()
    assert answer.startswith(b"HTTP/1.1 415"), answer[:200]
    assert b"connection: close" in answer.lower()


async def test_the_linger_is_bounded(server: LiveServer) -> None:
    """A client that never stops sending after its 401 is cut off once the linger is over."""
    _reader, writer = await _open(server)
    writer.write(
        "POST /v1/telemetry HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer nope\r\n"
        f"Content-Type: application/json\r\nContent-Length: {BIG}\r\n\r\n".encode()
    )
    started = time.monotonic()
    cut_off = None
    while time.monotonic() - started < 10:
        try:
            writer.write(b"x" * CHUNK)
            await asyncio.wait_for(writer.drain(), 5)
        except ConnectionError:
            cut_off = time.monotonic() - started
            break
        await asyncio.sleep(0.01)
    writer.close()
    assert cut_off is not None, "still connected after 10 s"
    assert LINGER_SECONDS - 0.5 < cut_off < LINGER_SECONDS + 2, cut_off
