"""A real S3-protocol server for tests: moto's standalone server on a loopback port."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

from climasense.blobstore.s3 import S3BlobStore
from tests.support.server import free_port

_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "climasense-test",
    "AWS_SECRET_ACCESS_KEY": "climasense-test-secret",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@contextmanager
def moto_s3() -> Iterator[str]:
    """Start moto's S3 server on 127.0.0.1 and yield its endpoint URL.

    botocore reads credentials from the environment, as production does; moto accepts any.
    """
    from moto.server import ThreadedMotoServer

    saved = {name: os.environ.get(name) for name in _CREDENTIALS}
    os.environ.update(_CREDENTIALS)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=free_port(), verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


async def create_bucket(endpoint_url: str, bucket: str | None = None) -> str:
    bucket = bucket or f"climasense-{secrets.token_hex(4)}"
    store = S3BlobStore(bucket, endpoint_url=endpoint_url)
    await store.start()
    try:
        await store.client.create_bucket(Bucket=bucket)
    finally:
        await store.close()
    return bucket
