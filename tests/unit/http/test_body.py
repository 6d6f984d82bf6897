"""`declares_body`: the one reading of "a body follows" behind 415s and early closes."""

from __future__ import annotations

import pytest
from starlette.datastructures import Headers

from climasense.http.body import declares_body


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ([], False),
        ([(b"content-length", b"0")], False),
        ([(b"content-length", b"")], False),
        ([(b"content-length", b" 0 ")], False),
        ([(b"content-length", b"12")], True),
        ([(b"Content-Length", b"1")], True),
        ([(b"transfer-encoding", b"chunked")], True),
        ([(b"content-length", b"0"), (b"transfer-encoding", b"chunked")], True),
    ],
)
def test_declares_body(raw: list[tuple[bytes, bytes]], expected: bool) -> None:
    headers = Headers(raw=[(name.lower(), value) for name, value in raw])
    assert declares_body(headers) is expected
