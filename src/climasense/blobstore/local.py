"""The firmware store in a local folder (the embedded default: `$CLIMASENSE_DATA_DIR/firmware`).

Writes go to a temporary file in the same folder tree, are fsynced and then renamed into
place, so a reader never sees half an image and a crash leaves only a temporary file. File I/O
runs in worker threads so a 200 MB image never blocks the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import AsyncGenerator, AsyncIterable
from pathlib import Path
from typing import BinaryIO

from climasense.blobstore.base import (
    BlobNotFound,
    BlobReader,
    Digest,
    StoredBlob,
    check_key,
    check_range,
)

READ_CHUNK = 256 * 1024
_TMP_DIR = ".tmp"


class LocalFileReader:
    def __init__(self, handle: BinaryIO, start: int, length: int, chunk_size: int) -> None:
        self._handle = handle
        self._start = start
        self._length = length
        self._chunk_size = chunk_size

    @property
    def length(self) -> int:
        return self._length

    async def chunks(self) -> AsyncGenerator[bytes, None]:
        fd = self._handle.fileno()
        offset, remaining = self._start, self._length
        while remaining > 0:
            chunk = await asyncio.to_thread(os.pread, fd, min(self._chunk_size, remaining), offset)
            if not chunk:  # the file shrank under us: never send made-up bytes
                raise OSError("firmware image is shorter than expected")
            offset += len(chunk)
            remaining -= len(chunk)
            yield chunk

    async def close(self) -> None:
        self._handle.close()


class LocalBlobStore:
    def __init__(self, root: Path, *, chunk_size: int = READ_CHUNK) -> None:
        self.root = root
        self.chunk_size = chunk_size

    def __repr__(self) -> str:
        return f"LocalBlobStore({str(self.root)!r})"

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    async def put(self, key: str, chunks: AsyncIterable[bytes]) -> StoredBlob:
        target = self._path(key)
        tmp_dir = self.root / _TMP_DIR
        await asyncio.to_thread(tmp_dir.mkdir, parents=True, exist_ok=True)
        tmp = tmp_dir / f"{uuid.uuid4().hex}.part"
        digest = Digest()
        handle = await asyncio.to_thread(open, tmp, "wb")
        try:

            def write(chunk: bytes) -> None:
                handle.write(chunk)
                digest.update(chunk)

            async for chunk in chunks:
                if chunk:
                    await asyncio.to_thread(write, chunk)

            def finish() -> None:
                handle.flush()
                os.fsync(handle.fileno())
                handle.close()
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(tmp, target)

            await asyncio.to_thread(finish)
        except BaseException:
            handle.close()
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise
        return StoredBlob(key=key, size=digest.size, sha256=digest.hexdigest())

    async def open_range(self, key: str, start: int = 0, end: int | None = None) -> BlobReader:
        check_range(start, end)
        path = self._path(key)
        try:
            handle = await asyncio.to_thread(open, path, "rb")
        except FileNotFoundError:
            raise BlobNotFound(key) from None
        try:
            size = os.fstat(handle.fileno()).st_size
            check_range(start, end, size)
            last = size - 1 if end is None else min(end, size - 1)
        except BaseException:
            handle.close()
            raise
        return LocalFileReader(handle, start, max(0, last - start + 1), self.chunk_size)

    async def size(self, key: str) -> int:
        try:
            return (await asyncio.to_thread(self._path(key).stat)).st_size
        except FileNotFoundError:
            raise BlobNotFound(key) from None

    async def exists(self, key: str) -> bool:
        return await asyncio.to_thread(self._path(key).is_file)

    async def delete(self, key: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            await asyncio.to_thread(self._path(key).unlink)

    async def close(self) -> None:
        return None
