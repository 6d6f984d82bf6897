"""Picks the firmware store from `CLIMASENSE_BLOB_URL`: `file:///path` or `s3://bucket/prefix`
(unset: the folder `$CLIMASENSE_DATA_DIR/firmware`)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlsplit

from climasense.blobstore.base import BlobStore
from climasense.blobstore.local import LocalBlobStore
from climasense.errors import ConfigurationError
from climasense.settings import Settings


async def build_blob_store(settings: Settings) -> BlobStore:
    url = settings.blob_url
    if not url:
        return LocalBlobStore(settings.data_dir / "firmware")
    scheme = urlsplit(url).scheme
    if scheme == "file":
        parts = urlsplit(url)
        if parts.netloc not in {"", "localhost"} or not parts.path:
            raise ConfigurationError(
                f"CLIMASENSE_BLOB_URL {url!r}: use file:///absolute/path for a local folder"
            )
        return LocalBlobStore(Path(unquote(parts.path)))
    if scheme == "s3":
        # Imported here: aiobotocore takes ~0.4 s to import, which a deployment on the local
        # store, and every `climasense firmware` command, would otherwise pay at start.
        from climasense.blobstore.s3 import S3BlobStore, parse_s3_url

        try:
            bucket, prefix = parse_s3_url(url)
        except ValueError as exc:
            raise ConfigurationError(f"CLIMASENSE_BLOB_URL: {exc}") from None
        store = S3BlobStore(
            bucket,
            prefix,
            endpoint_url=settings.s3_endpoint_url,
            region=settings.s3_region,
            part_size=settings.s3_part_size,
            max_connections=settings.s3_max_connections,
        )
        await store.start()
        return store
    raise ConfigurationError(
        f"CLIMASENSE_BLOB_URL {url!r}: expected file:///path or s3://bucket/prefix"
    )
