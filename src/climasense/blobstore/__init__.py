"""Where firmware images live: a `BlobStore` (a local folder or any S3 API)."""

from climasense.blobstore.base import (
    BlobNotFound,
    BlobReader,
    BlobStore,
    BlobStoreError,
    StoredBlob,
)

__all__ = ["BlobNotFound", "BlobReader", "BlobStore", "BlobStoreError", "StoredBlob"]
