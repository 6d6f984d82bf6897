"""The leak report names the test that opened an unclosed socket (tests/support/transport_origins)."""

from __future__ import annotations

import asyncio
import gc

import pytest


async def test_an_unclosed_transport_names_the_test_that_made_it() -> None:
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_connection(asyncio.Protocol, "127.0.0.1", port)
        # Paused, so the event loop holds no reference and dropping it leaks the socket.
        transport.pause_reading()
        del transport  # still held by its protocol, in a cycle: freed by the collector
        with pytest.warns(ResourceWarning) as caught:
            gc.collect()
    finally:
        server.close()
        await server.wait_closed()
    # The socket warns too (without an origin): collected in the same cycle.
    [message] = [str(w.message) for w in caught if "unclosed transport" in str(w.message)]
    assert "made during tests/unit/support/test_transport_origins.py::" in message
    assert "test_transport_origins.py:" in message  # the frame that opened it
