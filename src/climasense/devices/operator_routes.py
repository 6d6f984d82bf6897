"""Operator endpoints for the device inventory."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from climasense.csv_export import csv_response, wants_csv
from climasense.devices import repository, service, tagging
from climasense.devices.schemas import (
    ApiKeyResponse,
    BulkTagRequest,
    BulkTagResponse,
    DeviceDetail,
    DeviceList,
    DeviceSummary,
    DeviceUpdate,
    ProvisionedDevice,
    ProvisionRequest,
    ProvisionResponse,
    RevokeResponse,
)
from climasense.http.operator_deps import AdminDep, ServicesDep
from climasense.http.routing import JSONRoute
from climasense.ids import uuid_or_404

router = APIRouter(tags=["devices"], route_class=JSONRoute)


@router.post("/devices", status_code=201, response_model=ProvisionResponse)
async def provision_devices(
    body: ProvisionRequest, services: ServicesDep, operator: AdminDep
) -> ProvisionResponse:
    """Provision devices at manufacturing time. The keys are shown only in this response."""
    devices = await service.provision(
        services.pool,
        services.hasher,
        kind=body.kind,
        model=body.model,
        batch=body.batch,
        count=body.count,
        operator=operator,
    )
    return ProvisionResponse(devices=[ProvisionedDevice.model_validate(d) for d in devices])


@router.get(
    "/devices",
    response_model=DeviceList,
    responses={200: {"content": {"text/csv": {}}}},
)
async def list_devices(
    request: Request,
    services: ServicesDep,
    batch: str | None = None,
    kind: Literal["standalone", "hub", "zigbee_sensor"] | None = None,
    model: str | None = None,
    online: bool | None = None,
    tag: Annotated[
        list[str] | None, Query(description="Repeatable: the device has every tag given.")
    ] = None,
    label: str | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> DeviceList | Response:
    """List devices, oldest first; pass `next_cursor` back as `cursor` for the next page.
    With `Accept: text/csv`: every matching device as CSV (all pages, streamed; tags are
    space-separated)."""
    if wants_csv(request):
        query, args = repository.list_query(
            batch=batch,
            kind=kind,
            online=online,
            model=model,
            tags=tag or (),
            label=label,
            columns=repository.CSV_COLUMNS,
        )
        return await csv_response(
            services.pool,
            filename="devices.csv",
            header=repository.CSV_HEADER,
            query=query,
            args=args,
        )
    devices, next_cursor = await service.list_devices(
        services.pool,
        batch=batch,
        kind=kind,
        online=online,
        model=model,
        tags=tag or [],
        label=label,
        cursor=cursor,
        limit=limit,
    )
    return DeviceList(
        devices=[DeviceSummary.model_validate(d) for d in devices], next_cursor=next_cursor
    )


@router.post("/devices/tags", response_model=BulkTagResponse)
async def bulk_tag(
    body: BulkTagRequest, services: ServicesDep, operator: AdminDep
) -> BulkTagResponse:
    """Add and remove tags on every device a selector matches (an empty selector is refused)."""
    matched = await tagging.retag(
        services.pool, body.selector, add=body.add, remove=body.remove, operator=operator
    )
    return BulkTagResponse(matched=matched)


@router.patch("/devices/{device_id}", response_model=DeviceDetail)
async def update_device(
    device_id: str, body: DeviceUpdate, services: ServicesDep, operator: AdminDep
) -> DeviceDetail:
    """Change a device's tags (the whole set), label (`null` clears it) and/or batch."""
    device_uuid = uuid_or_404(device_id, "Device")
    await tagging.update_device(
        services.pool,
        device_uuid,
        tags=body.tags,
        label=body.label,
        set_label="label" in body.model_fields_set,
        batch=body.batch,
        operator=operator,
    )
    return DeviceDetail.model_validate(await service.device_detail(services.pool, device_uuid))


@router.get("/devices/{device_id}", response_model=DeviceDetail)
async def get_device(device_id: str, services: ServicesDep) -> DeviceDetail:
    """Status, last contact, firmware, latest reading per sensor, open alerts, hub sensors."""
    return DeviceDetail.model_validate(
        await service.device_detail(services.pool, uuid_or_404(device_id, "Device"))
    )


@router.post("/devices/{device_id}/revoke", response_model=RevokeResponse)
async def revoke_device(
    device_id: str, services: ServicesDep, operator: AdminDep
) -> RevokeResponse:
    """Revoke the device's key; every API process refuses it within 5 seconds."""
    device_uuid = uuid_or_404(device_id, "Device")
    await service.revoke(services.pool, device_uuid, operator=operator)
    return RevokeResponse(device_id=device_uuid, status="revoked")


@router.post("/devices/{device_id}/rotate-key", response_model=ApiKeyResponse)
async def rotate_device_key(
    device_id: str, services: ServicesDep, operator: AdminDep
) -> ApiKeyResponse:
    """Issue a new key (shown only here); the old key stops working."""
    device_uuid = uuid_or_404(device_id, "Device")
    key = await service.rotate_key(services.pool, services.hasher, device_uuid, operator=operator)
    return ApiKeyResponse(device_id=device_uuid, api_key=key)
