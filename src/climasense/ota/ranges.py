"""`Range` and `If-Range` for firmware downloads (RFC 9110 §14), single byte ranges only.

A header we cannot use — another unit, several ranges, bad syntax — is ignored and the whole
image is sent (RFC 9110 allows ignoring `Range`); only a well-formed range that lies outside
the image is unsatisfiable (416).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from climasense.http.protocol_errors import RangeNotSatisfiable

# ASCII digits only (`\d` would take other scripts' digits too).
_SPEC = re.compile(r"^\s*bytes\s*=\s*([0-9]*)\s*-\s*([0-9]*)\s*$", re.IGNORECASE)
_HUGE = 2**63  # past any image; int() of thousands of digits would raise instead


def _number(digits: str) -> int:
    return _HUGE if len(digits.lstrip("0")) > 18 else int(digits)


@dataclass(frozen=True, slots=True)
class ByteRange:
    start: int
    end: int  # inclusive

    @property
    def length(self) -> int:
        return self.end - self.start + 1

    def content_range(self, size: int) -> str:
        return f"bytes {self.start}-{self.end}/{size}"


def unsatisfiable(size: int) -> RangeNotSatisfiable:
    return RangeNotSatisfiable(
        f"Range is outside the image ({size} bytes)",
        headers={"Content-Range": f"bytes */{size}"},
    )


def parse_range(header: str | None, size: int) -> ByteRange | None:
    """The range to send, None for the whole image; raises 416 for an unsatisfiable one."""
    if not header or "," in header:
        return None
    found = _SPEC.match(header)
    if found is None:
        return None
    first, last = found.group(1), found.group(2)
    if not first and not last:
        return None
    if not first:  # suffix range: the last N bytes
        suffix = _number(last)
        if suffix == 0 or size == 0:
            raise unsatisfiable(size)
        return ByteRange(max(0, size - suffix), size - 1)
    start = _number(first)
    end = _number(last) if last else size - 1
    if last and end < start:
        return None  # invalid, not unsatisfiable: ignored
    if start >= size:
        raise unsatisfiable(size)
    return ByteRange(start, min(end, size - 1))


def if_range_allows(if_range: str | None, etag: str) -> bool:
    """Whether `Range` may be honoured: no `If-Range`, or one naming the current strong ETag.
    A date or a weak/other tag means the client's copy may be stale: send the whole image."""
    if if_range is None:
        return True
    return if_range.strip() == etag
