"""`/v1/ota/*` (device side, CONTRACT §4.4)."""

from __future__ import annotations

from collections.abc import AsyncIterator

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from climasense.auth.principals import DevicePrincipal
from climasense.blobstore import BlobReader, BlobStore
from climasense.http.body import read_json
from climasense.http.device_route import DeviceRoute, services_of
from climasense.http.responses import JSONResponse
from climasense.observability import metrics
from climasense.ota import device as ota
from climasense.services import Services


def blob_store(services: Services) -> BlobStore:
    return services.blob_store


async def check(request: Request, device: DevicePrincipal) -> Response:
    services = services_of(request)
    found = await ota.check(services.pool, device, request.query_params.get("current_version"))
    return JSONResponse(found.to_json())


async def _counted(chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    async for chunk in chunks:
        yield chunk
        metrics.ota_bytes(len(chunk))  # counted once sent: a hang-up stops the count


class BlobResponse(StreamingResponse):
    """Streams an opened blob range and closes it however the response ends (a client that
    hangs up mid-image included), so no file handle or store connection is left behind."""

    def __init__(self, reader: BlobReader, status_code: int, headers: dict[str, str]) -> None:
        self._reader = reader
        self._chunks = reader.chunks()
        super().__init__(_counted(self._chunks), status_code=status_code, headers=headers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            await self._chunks.aclose()
            await self._reader.close()


async def download(request: Request, device: DevicePrincipal) -> Response:
    services = services_of(request)
    found = await ota.open_download(
        services.pool,
        blob_store(services),
        device,
        request.path_params["version"],
        range_header=request.headers.get("range"),
        if_range=request.headers.get("if-range"),
        head_only=request.method == "HEAD",
    )
    if found.reader is None:
        return Response(status_code=found.status, headers=found.headers)
    return BlobResponse(found.reader, found.status, found.headers)


async def report_status(request: Request, device: DevicePrincipal) -> Response:
    services = services_of(request)
    body = await read_json(request, services.settings.device_body_limit)
    recorded_at = await ota.record_status(services.pool, services.settings, device, body)
    return JSONResponse({"recorded": True, "timestamp": recorded_at})


DEVICE_ROUTES = [
    DeviceRoute("GET", "/v1/ota/check", check, limit="ota_check", operation="GET /v1/ota/check"),
    DeviceRoute(
        "GET",
        "/v1/ota/download/{version}",
        download,
        limit="ota_download",
        operation="GET /v1/ota/download/{version}",
    ),
    DeviceRoute("POST", "/v1/ota/status", report_status, operation="POST /v1/ota/status"),
]
