"""`/v1/commands/*` (device side)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from climasense.auth.principals import DevicePrincipal
from climasense.commands import service
from climasense.http.body import read_json
from climasense.http.device_route import DeviceRoute, services_of
from climasense.http.responses import JSONResponse


async def pending_commands(request: Request, device: DevicePrincipal) -> Response:
    pending = await service.pending_commands(services_of(request).pool, device.device_id)
    commands = [
        {
            "command_id": c.command_id,
            "type": c.type,
            "payload": c.payload,
            "expires_at": c.expires_at,
        }
        for c in pending
    ]
    return JSONResponse({"commands": commands})


async def acknowledge(request: Request, device: DevicePrincipal) -> Response:
    services = services_of(request)
    body = await read_json(request, services.settings.device_body_limit, allow_nul=True)
    ack = service.parse_ack(body)
    answered_at = await service.acknowledge(
        services.pool, device.device_id, ack, config_updates=services.config_updates
    )
    return JSONResponse({"acknowledged": True, "timestamp": answered_at})


DEVICE_ROUTES = [
    DeviceRoute(
        "GET",
        "/v1/commands/pending",
        pending_commands,
        limit="commands_pending",
        operation="GET /v1/commands/pending",
    ),
    DeviceRoute("POST", "/v1/commands/ack", acknowledge, operation="POST /v1/commands/ack"),
]
