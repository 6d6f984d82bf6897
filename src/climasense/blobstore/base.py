"""The firmware store's interface: whole objects written once from a stream, read back by range.

Every implementation (a local folder, any S3 API) is checked against the same conformance
tests (`tests/integration/blobstore/`). Keys are opaque strings chosen by the caller
(`[A-Za-z0-9._/-]`, no `..`).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import AsyncGenerator, AsyncIterable
from dataclasses import dataclass
from typing import Protocol

from climasense.errors import NotFound, Unavailable

_KEY = re.compile(r"\A[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*\Z")


class BlobNotFound(NotFound):
    """No object under this key."""


class BlobStoreError(Unavailable):
    """The store could not be reached or refused the operation (answered as 503)."""


@dataclass(frozen=True, slots=True)
class StoredBlob:
    key: str
    size: int
    sha256: str  # lowercase hex


class BlobReader(Protocol):
    """An opened byte range: the request to the store is made, the bytes not yet read."""

    @property
    def length(self) -> int: ...

    def chunks(self) -> AsyncGenerator[bytes, None]: ...

    async def close(self) -> None:
        """Release the file or connection; safe to call more than once."""
        ...


class BlobStore(Protocol):
    async def put(self, key: str, chunks: AsyncIterable[bytes]) -> StoredBlob:
        """Store the stream under `key`, computing its size and sha256 on the way.

        Nothing is visible under `key` until the whole stream is stored; a failed put leaves
        nothing behind. Never holds the whole object in memory.
        """
        ...

    async def open_range(self, key: str, start: int = 0, end: int | None = None) -> BlobReader:
        """Open bytes `start`..`end` (inclusive; `None` = to the end). Raises BlobNotFound."""
        ...

    async def size(self, key: str) -> int:
        """The object's size in bytes. Raises BlobNotFound."""
        ...

    async def exists(self, key: str) -> bool: ...

    async def delete(self, key: str) -> None:
        """Remove the object; removing a missing key is not an error."""
        ...

    async def close(self) -> None: ...


def check_key(key: str) -> str:
    if not _KEY.match(key) or ".." in key.split("/"):
        raise ValueError(f"invalid blob key {key!r}")
    return key


def check_range(start: int, end: int | None, size: int | None = None) -> None:
    if start < 0 or (end is not None and end < start):
        raise ValueError(f"invalid byte range {start}-{end}")
    if size is not None and (start >= size and not (start == 0 and size == 0)):
        raise ValueError(f"byte range {start}-{end} starts beyond the object's {size} bytes")


class Digest:
    """Size and sha256 of a stream, accumulated chunk by chunk."""

    def __init__(self) -> None:
        self._hash = hashlib.sha256()
        self.size = 0

    def update(self, chunk: bytes | memoryview) -> None:
        self._hash.update(chunk)
        self.size += len(chunk)

    def hexdigest(self) -> str:
        return self._hash.hexdigest()
