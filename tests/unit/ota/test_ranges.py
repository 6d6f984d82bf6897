from __future__ import annotations

import pytest

from climasense.http.protocol_errors import RangeNotSatisfiable
from climasense.ota.ranges import ByteRange, if_range_allows, parse_range

SIZE = 1000


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("bytes=0-99", ByteRange(0, 99)),
        ("bytes=500-", ByteRange(500, 999)),
        ("bytes=-100", ByteRange(900, 999)),
        ("bytes=-5000", ByteRange(0, 999)),
        ("bytes=990-5000", ByteRange(990, 999)),
        ("bytes=999-999", ByteRange(999, 999)),
        ("BYTES = 1 - 2", ByteRange(1, 2)),
    ],
)
def test_satisfiable(header: str, expected: ByteRange) -> None:
    assert parse_range(header, SIZE) == expected


@pytest.mark.parametrize(
    "header", [None, "", "items=0-1", "bytes=0-1,5-6", "bytes=5-2", "bytes=-", "bytes=a-b", "0-1"]
)
def test_ignored_headers_mean_the_whole_image(header: str | None) -> None:
    assert parse_range(header, SIZE) is None


@pytest.mark.parametrize("header", ["bytes=1000-", "bytes=1000-2000", "bytes=5000-", "bytes=-0"])
def test_unsatisfiable(header: str) -> None:
    with pytest.raises(RangeNotSatisfiable) as caught:
        parse_range(header, SIZE)
    assert caught.value.headers["Content-Range"] == "bytes */1000"
    assert caught.value.status == 416


def test_content_range() -> None:
    assert ByteRange(10, 19).content_range(SIZE) == "bytes 10-19/1000"
    assert ByteRange(10, 19).length == 10


def test_if_range() -> None:
    etag = '"abc"'
    assert if_range_allows(None, etag)
    assert if_range_allows('"abc"', etag)
    assert not if_range_allows('"abd"', etag)
    assert not if_range_allows('W/"abc"', etag)
    assert not if_range_allows("Tue, 01 Jan 2030 00:00:00 GMT", etag)
