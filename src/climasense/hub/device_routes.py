"""`/v1/hub/sensors` (hub devices only; the router answers everyone else 403)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from climasense.auth.principals import DevicePrincipal
from climasense.http.body import read_json
from climasense.http.device_route import DeviceRoute, services_of
from climasense.http.responses import JSONResponse
from climasense.hub import service
from climasense.hub.schemas import parse_registration
from climasense.ids import uuid_or_404


async def register_sensor(request: Request, hub: DevicePrincipal) -> Response:
    services = services_of(request)
    registration = parse_registration(await read_json(request, services.settings.device_body_limit))
    registered = await service.register_sensor(
        services.pool,
        services.hasher,
        hub_id=hub.device_id,
        registration=registration,
        max_sensors=services.settings.max_sensors_per_hub,
    )
    return JSONResponse(
        {
            "registered": True,
            "sensor_id": registered.sensor_id,
            "serial_number": registered.serial_number,
        },
        status_code=201 if registered.created else 200,
    )


async def list_sensors(request: Request, hub: DevicePrincipal) -> Response:
    services = services_of(request)
    sensors, next_cursor = await service.list_sensors(
        services.pool,
        hub.device_id,
        cursor=request.query_params.get("cursor"),
        page_size=services.settings.hub_sensors_page_size,
    )
    # The contract's `HubSensor`: `paired_at` orders the list but is not part of the answer.
    listed = [
        {
            "sensor_id": sensor.sensor_id,
            "serial_number": sensor.serial_number,
            "ieee_address": sensor.ieee_address,
        }
        for sensor in sensors
    ]
    return JSONResponse({"sensors": listed, "next_cursor": next_cursor})


async def unpair_sensor(request: Request, hub: DevicePrincipal) -> Response:
    sensor_id = uuid_or_404(request.path_params["sensor_id"], "Sensor")
    await service.unpair_sensor(services_of(request).pool, hub.device_id, sensor_id)
    return Response(status_code=204)


DEVICE_ROUTES = [
    DeviceRoute(
        "POST",
        "/v1/hub/sensors",
        register_sensor,
        hub_only=True,
        operation="POST /v1/hub/sensors",
    ),
    DeviceRoute(
        "GET", "/v1/hub/sensors", list_sensors, hub_only=True, operation="GET /v1/hub/sensors"
    ),
    DeviceRoute(
        "DELETE",
        "/v1/hub/sensors/{sensor_id}",
        unpair_sensor,
        hub_only=True,
        operation="DELETE /v1/hub/sensors/{sensor_id}",
    ),
]
