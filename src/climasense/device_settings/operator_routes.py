"""Operator endpoints: a device's settings (same rules as `/v1/settings`; a change queues a
`config_update`) and the defaults devices of a model are provisioned with."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from climasense.device_settings import service
from climasense.device_settings.device_routes import settings_response
from climasense.device_settings.repository import ModelDefaults
from climasense.http.body import read_json
from climasense.http.operator_deps import AdminDep, ServicesDep
from climasense.http.routing import JSONRoute
from climasense.ids import uuid_or_404

router = APIRouter(tags=["settings"], route_class=JSONRoute)

_SETTINGS_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The whole settings document; `ETag` carries its version.",
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/DeviceSettings"}}
        },
    }
}
_PATCH_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            media: {"schema": {"$ref": "#/components/schemas/SettingsPatch"}}
            for media in ("application/json", "application/merge-patch+json")
        },
    },
    "parameters": [
        {
            "name": "If-Match",
            "in": "header",
            "required": False,
            "schema": {"type": "string"},
            "description": 'The settings ETag (e.g. `"7"`); another version gives 412.',
        }
    ],
}
_DEFAULTS_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/SettingsPatch"}}},
    }
}


def _defaults_body(defaults: ModelDefaults) -> dict[str, Any]:
    # The served schema of these operations is a free-form object (as before the row was
    # typed); FastAPI encodes `updated_at`.
    return {
        "model": defaults.model,
        "reporting_interval_seconds": defaults.reporting_interval_seconds,
        "enabled_sensors": None
        if defaults.enabled_sensors is None
        else list(defaults.enabled_sensors),
        "location": None if defaults.location is None else defaults.location.as_json(),
        "timezone": defaults.timezone,
        "updated_at": defaults.updated_at,
    }


@router.get("/devices/{device_id}/settings", responses=_SETTINGS_RESPONSE)
async def get_device_settings(device_id: str, services: ServicesDep) -> Response:
    """The device's settings document."""
    document = await service.settings_document(services.pool, uuid_or_404(device_id, "Device"))
    return settings_response(document)


@router.patch(
    "/devices/{device_id}/settings", responses=_SETTINGS_RESPONSE, openapi_extra=_PATCH_BODY
)
async def patch_device_settings(
    device_id: str, request: Request, services: ServicesDep, operator: AdminDep
) -> Response:
    """JSON Merge Patch of the device's settings (rules of `PATCH /v1/settings`). A change
    queues a `config_update` carrying the new document, cancelling older ones not yet fetched."""
    device_uuid = uuid_or_404(device_id, "Device")
    patch = await read_json(request, services.settings.device_body_limit)
    document = await service.patch_settings(
        services.pool,
        device_uuid,
        patch,
        if_match=request.headers.get("if-match"),
        actor="operator",
        operator=operator,
    )
    return settings_response(document)


@router.get("/models/{model}/settings-defaults")
async def get_model_defaults(model: str, services: ServicesDep) -> dict[str, Any]:
    """The settings devices of this model are provisioned with (null: the built-in default)."""
    return _defaults_body(await service.get_model_defaults(services.pool, model))


@router.put("/models/{model}/settings-defaults", openapi_extra=_DEFAULTS_BODY)
async def put_model_defaults(
    model: str, request: Request, services: ServicesDep, operator: AdminDep
) -> dict[str, Any]:
    """Set the settings devices of this model start with from now on (fields left out use the
    built-in defaults: 300 s, the kind's sensors, no location, UTC). Existing devices keep theirs."""
    body = await read_json(request, services.settings.device_body_limit)
    stored = await service.put_model_defaults(services.pool, model, body, operator=operator)
    return _defaults_body(stored)


@router.delete("/models/{model}/settings-defaults", status_code=204)
async def delete_model_defaults(model: str, services: ServicesDep, operator: AdminDep) -> Response:
    """Back to the built-in defaults for this model."""
    await service.delete_model_defaults(services.pool, model, operator=operator)
    return Response(status_code=204)
