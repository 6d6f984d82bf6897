"""`/v1/settings` (device side)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from climasense.auth.principals import DevicePrincipal
from climasense.device_settings import service
from climasense.device_settings.document import SettingsDocument
from climasense.http.body import read_json
from climasense.http.device_route import DeviceRoute, services_of
from climasense.http.responses import JSONResponse


def settings_response(document: SettingsDocument) -> JSONResponse:
    """CONTRACT `DeviceSettings`, its version in the `ETag`."""
    return JSONResponse(document.as_json(), headers={"ETag": service.etag(document.version)})


async def get_settings(request: Request, device: DevicePrincipal) -> Response:
    document = await service.settings_document(services_of(request).pool, device.device_id)
    return settings_response(document)


async def patch_settings(request: Request, device: DevicePrincipal) -> Response:
    services = services_of(request)
    patch = await read_json(request, services.settings.device_body_limit)
    document = await service.patch_settings(
        services.pool,
        device.device_id,
        patch,
        if_match=request.headers.get("if-match"),
        actor="device",
    )
    return settings_response(document)


DEVICE_ROUTES = [
    DeviceRoute(
        "GET", "/v1/settings", get_settings, limit="settings_get", operation="GET /v1/settings"
    ),
    DeviceRoute("PATCH", "/v1/settings", patch_settings, operation="PATCH /v1/settings"),
]
