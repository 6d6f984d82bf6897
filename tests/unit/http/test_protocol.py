"""The coalescing transport: the same bytes, in order, in one write per loop turn."""

from __future__ import annotations

import asyncio

from climasense.http.protocol import CoalescingTransport


class RecordingTransport:
    """Stands in for the socket transport: records each write(2)-level call."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False
        self.buffered = 0

    def write(self, data: bytes) -> None:
        assert not self.closed, "write after close"
        self.writes.append(data)

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def get_write_buffer_size(self) -> int:
        return self.buffered

    def get_extra_info(self, name: str) -> object:
        return ("127.0.0.1", 1234) if name == "peername" else None


async def _turn() -> None:
    await asyncio.sleep(0)


async def test_writes_of_one_loop_turn_go_out_as_one() -> None:
    real = RecordingTransport()
    transport = CoalescingTransport(real, asyncio.get_running_loop())  # type: ignore[arg-type]
    transport.write(b"HTTP/1.1 202 Accepted\r\ncontent-length: 2\r\n\r\n")
    transport.write(b"{}")
    assert real.writes == []
    assert transport.get_write_buffer_size() == 46
    await _turn()
    assert real.writes == [b"HTTP/1.1 202 Accepted\r\ncontent-length: 2\r\n\r\n{}"]
    transport.write(b"next")
    await _turn()
    assert real.writes[1:] == [b"next"]


async def test_close_sends_what_was_written_first() -> None:
    real = RecordingTransport()
    transport = CoalescingTransport(real, asyncio.get_running_loop())  # type: ignore[arg-type]
    transport.write(b"head")
    transport.writelines([b"bo", b"dy"])
    transport.close()
    assert real.writes == [b"headbody"]
    assert real.closed
    await _turn()  # the scheduled flush finds nothing left and does not write after close
    assert real.writes == [b"headbody"]


async def test_empty_writes_schedule_nothing_and_the_rest_is_delegated() -> None:
    real = RecordingTransport()
    transport = CoalescingTransport(real, asyncio.get_running_loop())  # type: ignore[arg-type]
    transport.write(b"")
    await _turn()
    assert real.writes == []
    assert transport.get_extra_info("peername") == ("127.0.0.1", 1234)
    assert transport.is_closing() is False


async def test_bytes_written_to_a_closing_transport_are_dropped() -> None:
    real = RecordingTransport()
    transport = CoalescingTransport(real, asyncio.get_running_loop())  # type: ignore[arg-type]
    transport.write(b"late")
    real.closed = True  # the peer went away before the end of the turn
    await _turn()
    assert real.writes == []
