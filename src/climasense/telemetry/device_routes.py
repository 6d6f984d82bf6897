"""`POST /v1/telemetry` (device side)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from climasense.auth.principals import DevicePrincipal
from climasense.http.body import read_json_bytes
from climasense.http.device_route import DeviceRoute, services_of
from climasense.http.responses import JSONResponse
from climasense.telemetry import service


async def submit_telemetry(request: Request, device: DevicePrincipal) -> Response:
    services = services_of(request)
    raw = await read_json_bytes(request, services.settings.device_body_limit)
    ingested = await service.ingest(services, device, raw)
    return JSONResponse(ingested.to_json(), status_code=202)


DEVICE_ROUTES = [
    DeviceRoute(
        "POST",
        "/v1/telemetry",
        submit_telemetry,
        limit="telemetry",
        operation="POST /v1/telemetry",
    ),
]
