"""The firmware store on any S3 API (Cloudflare R2 in production), through aiobotocore.

Uploads stream: up to one part (default 8 MiB) is buffered, and anything larger than a part
goes up as a multipart upload of equal-size parts (R2 requires equal non-trailing parts), which
S3 assembles atomically on completion; a failed upload is aborted. Reads are ranged GETs whose
body is read chunk by chunk as the client consumes it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterable
from contextlib import AsyncExitStack
from typing import Any
from urllib.parse import urlsplit

from aiobotocore.config import AioConfig
from aiobotocore.session import get_session
from botocore.exceptions import BotoCoreError, ClientError

from climasense.blobstore.base import (
    BlobNotFound,
    BlobReader,
    BlobStoreError,
    Digest,
    StoredBlob,
    check_key,
    check_range,
)

MIN_PART_SIZE = 5 * 1024 * 1024  # S3's minimum for every part but the last
DEFAULT_PART_SIZE = 8 * 1024 * 1024
READ_CHUNK = 256 * 1024
_NOT_FOUND = {"404", "NoSuchKey", "NotFound"}


def parse_s3_url(url: str) -> tuple[str, str]:
    """`s3://bucket/some/prefix` → (`bucket`, `some/prefix`)."""
    parts = urlsplit(url)
    if parts.scheme != "s3" or not parts.netloc:
        raise ValueError(f"not an s3://bucket/prefix URL: {url!r}")
    return parts.netloc, parts.path.strip("/")


def _is_not_found(exc: ClientError) -> bool:
    error = exc.response.get("Error", {})
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return str(error.get("Code")) in _NOT_FOUND or status == 404


class S3Reader:
    def __init__(self, body: Any, length: int, chunk_size: int) -> None:
        self._body = body
        self._length = length
        self._chunk_size = chunk_size

    @property
    def length(self) -> int:
        return self._length

    async def chunks(self) -> AsyncGenerator[bytes, None]:
        remaining = self._length
        body = self._body
        if body is None:
            raise BlobStoreError("the reader is closed")
        try:
            while remaining > 0:
                chunk = await body.read(min(self._chunk_size, remaining))
                if not chunk:
                    raise BlobStoreError("object store closed the stream early")
                remaining -= len(chunk)
                yield chunk
        except (TimeoutError, BotoCoreError, ClientError, OSError) as exc:
            raise BlobStoreError(f"reading from the object store failed: {exc}") from exc

    async def close(self) -> None:
        body, self._body = self._body, None
        if body is None:
            return
        closer = getattr(body, "aclose", None)
        if closer is not None:
            await closer()
        else:
            body.close()


class S3BlobStore:
    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        part_size: int = DEFAULT_PART_SIZE,
        max_connections: int = 64,
        chunk_size: int = READ_CHUNK,
    ) -> None:
        if part_size < MIN_PART_SIZE:
            raise ValueError(f"part size must be at least {MIN_PART_SIZE} bytes")
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.endpoint_url = endpoint_url
        self.region = region or "us-east-1"
        self.part_size = part_size
        self.max_connections = max_connections
        self.chunk_size = chunk_size
        self._stack: AsyncExitStack | None = None
        self._client: Any = None

    def __repr__(self) -> str:
        return f"S3BlobStore(s3://{self.bucket}/{self.prefix}, endpoint={self.endpoint_url})"

    async def start(self) -> None:
        """Open the client (credentials from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)."""
        config = AioConfig(
            max_pool_connections=self.max_connections,
            s3={"addressing_style": "path" if self.endpoint_url else "auto"},
            retries={"max_attempts": 3, "mode": "standard"},
            connect_timeout=10,
            read_timeout=60,
            # R2 and older S3-compatible servers do not all accept the newer default checksums.
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        )
        stack = AsyncExitStack()
        self._client = await stack.enter_async_context(
            get_session().create_client(
                "s3", endpoint_url=self.endpoint_url, region_name=self.region, config=config
            )
        )
        self._stack = stack

    @property
    def client(self) -> Any:
        if self._client is None:
            raise RuntimeError("S3BlobStore.start() was not called")
        return self._client

    def _object_key(self, key: str) -> str:
        check_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    async def put(self, key: str, chunks: AsyncIterable[bytes]) -> StoredBlob:
        object_key = self._object_key(key)
        digest = Digest()
        buffer = bytearray()
        upload_id: str | None = None
        parts: list[dict[str, Any]] = []

        async def send_part(data: bytes) -> None:
            number = len(parts) + 1
            answer = await self.client.upload_part(
                Bucket=self.bucket, Key=object_key, UploadId=upload_id, PartNumber=number, Body=data
            )
            parts.append({"PartNumber": number, "ETag": answer["ETag"]})

        try:
            async for chunk in chunks:
                if not chunk:
                    continue
                digest.update(chunk)
                buffer += chunk
                while len(buffer) >= self.part_size:
                    if upload_id is None:
                        created = await self.client.create_multipart_upload(
                            Bucket=self.bucket, Key=object_key
                        )
                        upload_id = created["UploadId"]
                    part = bytes(buffer[: self.part_size])
                    del buffer[: self.part_size]
                    await send_part(part)
            if upload_id is None:
                await self.client.put_object(Bucket=self.bucket, Key=object_key, Body=bytes(buffer))
            else:
                if buffer or not parts:
                    await send_part(bytes(buffer))
                buffer = bytearray()
                await self.client.complete_multipart_upload(
                    Bucket=self.bucket,
                    Key=object_key,
                    UploadId=upload_id,
                    MultipartUpload={"Parts": parts},
                )
        except BaseException as exc:
            if upload_id is not None:
                with contextlib.suppress(Exception):
                    await asyncio.shield(
                        self.client.abort_multipart_upload(
                            Bucket=self.bucket, Key=object_key, UploadId=upload_id
                        )
                    )
            if isinstance(exc, BotoCoreError | ClientError):
                raise BlobStoreError(f"upload to the object store failed: {exc}") from exc
            raise
        return StoredBlob(key=key, size=digest.size, sha256=digest.hexdigest())

    async def open_range(self, key: str, start: int = 0, end: int | None = None) -> BlobReader:
        check_range(start, end)
        request: dict[str, Any] = {"Bucket": self.bucket, "Key": self._object_key(key)}
        if start > 0 or end is not None:
            request["Range"] = f"bytes={start}-{'' if end is None else end}"
        try:
            answer = await self.client.get_object(**request)
        except ClientError as exc:
            if _is_not_found(exc):
                raise BlobNotFound(key) from None
            if exc.response.get("Error", {}).get("Code") == "InvalidRange":
                raise ValueError(f"byte range {start}-{end} is outside the object") from None
            raise BlobStoreError(f"object store refused the read: {exc}") from exc
        except BotoCoreError as exc:
            raise BlobStoreError(f"object store unreachable: {exc}") from exc
        return S3Reader(answer["Body"], int(answer["ContentLength"]), self.chunk_size)

    async def size(self, key: str) -> int:
        try:
            answer = await self.client.head_object(Bucket=self.bucket, Key=self._object_key(key))
        except ClientError as exc:
            if _is_not_found(exc):
                raise BlobNotFound(key) from None
            raise BlobStoreError(f"object store refused the request: {exc}") from exc
        except BotoCoreError as exc:
            raise BlobStoreError(f"object store unreachable: {exc}") from exc
        return int(answer["ContentLength"])

    async def exists(self, key: str) -> bool:
        try:
            await self.size(key)
        except BlobNotFound:
            return False
        return True

    async def delete(self, key: str) -> None:
        try:
            await self.client.delete_object(Bucket=self.bucket, Key=self._object_key(key))
        except ClientError as exc:
            if not _is_not_found(exc):
                raise BlobStoreError(f"object store refused the delete: {exc}") from exc
        except BotoCoreError as exc:
            raise BlobStoreError(f"object store unreachable: {exc}") from exc

    async def close(self) -> None:
        stack, self._stack, self._client = self._stack, None, None
        if stack is not None:
            await stack.aclose()
