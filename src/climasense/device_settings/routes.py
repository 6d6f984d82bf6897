"""`/v1/settings` (device side)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from climasense.auth.principals import DevicePrincipal
from climasense.device_settings import service
from climasense.http.device_api import DeviceRoute, services_of
from climasense.http.responses import JSONResponse


async def get_settings(request: Request, device: DevicePrincipal) -> Response:
    document = await service.settings_document(services_of(request).pool, device.device_id)
    return JSONResponse(document, headers={"ETag": f'"{document["version"]}"'})


DEVICE_ROUTES = [
    DeviceRoute(
        "GET", "/v1/settings", get_settings, limit="settings_get", operation="GET /v1/settings"
    ),
]
