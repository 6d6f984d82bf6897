"""uvicorn's httptools protocol with one `send` per response instead of two.

uvicorn writes a response's status line and headers when the app sends `http.response.start`
and the body on `http.response.body`: two `transport.write` calls, and with uvloop each is a
`send(2)` at once. On loopback under load those two syscalls were ~30 % of the server's CPU
(py-spy, docs/performance.md). Here the connection's transport is wrapped so writes made
during one turn of the event loop are joined and sent together at the end of that turn
(`loop.call_soon`): the same bytes in the same order, one syscall, no added wait.

It also cuts off slow clients (CONTRACT §8), which uvicorn does not: a request's headers
must arrive within `read_timeout` seconds of the connection opening (or of the request's
first byte, on a kept-alive connection), and while a body is being received no more than
`read_timeout` seconds may pass without a byte of it (an inactivity limit, so a large firmware
upload on a slow but live link is not cut off; time while the server itself has paused
reading does not count). A connection past either limit is closed. Idle kept-alive
connections are uvicorn's `timeout_keep_alive`.

A response that closes the connection before the request's body has been received (a 401 or
413 answered from the headers, a handler refusing an upload before reading it) is followed by
a lingering close, as nginx does: the server sends its answer and a FIN, then discards what
the client is still sending until the client closes or `LINGER_SECONDS` pass. Closing at once
with unread bytes in the socket makes the kernel send a reset, and a client still writing its
body then loses the answer that was already on its way (seen in CI: a 415 turned into
"connection reset by peer"). The discarded bytes are not parsed or kept.

Use: `uvicorn.run(..., http=CoalescingHttpToolsProtocol)` (`climasense serve` does), or
`uvicorn --http climasense.http.protocol:CoalescingHttpToolsProtocol`. The limit is
`CLIMASENSE_REQUEST_READ_TIMEOUT_SECONDS` (read at the first connection, 30 s by
default); `with_read_timeout(seconds)` gives a subclass with another one (tests).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any, cast

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from climasense.settings import Settings

_IDLE, _HEADERS, _BODY = 0, 1, 2

# How long a connection answered before its body arrived keeps discarding that body, at most,
# so the client can read the answer (it normally closes within a round trip of receiving it).
LINGER_SECONDS = 2.0


class CoalescingTransport:
    """Delegates to a real transport; `write` gathers until the end of the loop turn."""

    __slots__ = ("_lingering", "_loop", "_pending", "_transport", "linger_instead")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] = []
        self._lingering = False
        # Asked on close(): True when the protocol has started a lingering close instead.
        self.linger_instead: Callable[[], bool] | None = None

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not data:
            return
        if not self._pending:
            self._loop.call_soon(self.flush)
        self._pending.append(bytes(data))

    def writelines(self, chunks: Any) -> None:
        for chunk in chunks:
            self.write(chunk)

    def flush(self) -> None:
        pending = self._pending
        if not pending:
            return
        self._pending = []
        if self._transport.is_closing():
            return
        self._transport.write(pending[0] if len(pending) == 1 else b"".join(pending))

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + sum(map(len, self._pending))

    def close(self) -> None:
        self.flush()  # what was written before close() goes out first, as with the real one
        if self._lingering:
            return
        if self.linger_instead is not None and self.linger_instead():
            self._lingering = True
            return
        self._transport.close()

    def close_now(self) -> None:
        """Close without lingering (a client too slow to deserve it, the linger's end)."""
        self.flush()
        self._transport.close()

    def is_closing(self) -> bool:
        # Lingering counts as closing: uvicorn then neither serves another request on this
        # connection nor arms its keep-alive timer.
        return self._lingering or self._transport.is_closing()

    def __getattr__(self, name: str) -> Any:  # get_extra_info, pause_reading, abort, ...
        return getattr(self._transport, name)


class CoalescingHttpToolsProtocol(HttpToolsProtocol):
    # None: CLIMASENSE_REQUEST_READ_TIMEOUT_SECONDS, read at the first connection (after
    # `serve` has loaded `.env`; worker processes inherit the environment).
    read_timeout: float | None = None

    @classmethod
    def with_read_timeout(cls, seconds: float) -> type[CoalescingHttpToolsProtocol]:
        return type(cls.__name__, (cls,), {"read_timeout": seconds})

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, but have its methods.
        wrapped = CoalescingTransport(cast(asyncio.Transport, transport), self.loop)
        wrapped.linger_instead = self._start_lingering
        self._coalescing = wrapped
        self._linger_timer: asyncio.TimerHandle | None = None
        super().connection_made(cast(asyncio.Transport, wrapped))
        self._read_state = _HEADERS  # the first request's headers are due
        self._read_since = time.monotonic()
        self._read_timer: asyncio.TimerHandle | None = None
        if self.read_timeout is None:
            settings = Settings.from_env(load_dotenv=False)
            type(self).read_timeout = settings.request_read_timeout_seconds
        self._limit: float = self.read_timeout or 0.0
        self._arm_read_timer(self._limit)

    def _arm_read_timer(self, delay: float) -> None:
        if self._limit > 0:
            self._read_timer = self.loop.call_later(delay, self._check_read_timeout)

    def _cancel_read_timer(self) -> None:
        if self._read_timer is not None:
            self._read_timer.cancel()
            self._read_timer = None

    def _check_read_timeout(self) -> None:
        self._read_timer = None
        if self._read_state == _IDLE or self.transport.is_closing():
            return
        waited = time.monotonic() - self._read_since
        if self._read_state == _BODY and self.flow.read_paused:
            waited = 0.0  # the server is not reading: the client is not slow
            self._read_since = time.monotonic()
        if waited < self._limit:
            self._arm_read_timer(self._limit - waited)
            return
        self._coalescing.close_now()  # the app, if any, sees http.disconnect

    def _start_lingering(self) -> bool:
        """On a close while the request's body is still arriving: half-close and discard."""
        if self._read_state != _BODY or not self._coalescing.can_write_eof():
            return False
        self._cancel_read_timer()
        self._coalescing.write_eof()  # after the answer: the client reads it, then EOF
        self.flow.resume_reading()  # paused when uvicorn's body buffer was full
        self._linger_timer = self.loop.call_later(LINGER_SECONDS, self._coalescing.close_now)
        return True

    def data_received(self, data: bytes) -> None:
        if self._coalescing.is_closing():
            return  # lingering: the rest of a body already answered, dropped unparsed
        super().data_received(data)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._read_state == _IDLE:
            self._read_state = _HEADERS
            self._read_since = time.monotonic()
            if self._read_timer is None:
                self._arm_read_timer(self._limit)

    def on_headers_complete(self) -> None:
        self._read_state = _BODY
        self._read_since = time.monotonic()
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        self._read_since = time.monotonic()
        super().on_body(body)

    def on_message_complete(self) -> None:
        # The timer is left running: fired while idle it does nothing (and the next request
        # arms a new one); if the next request has begun, it re-arms for what is left of that
        # request's limit. One timer per connection per `read_timeout` instead of a
        # call_later and a cancel per request (docs/performance.md, round 4).
        self._read_state = _IDLE
        super().on_message_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._read_state = _IDLE
        self._cancel_read_timer()
        if self._linger_timer is not None:
            self._linger_timer.cancel()
        super().connection_lost(exc)
