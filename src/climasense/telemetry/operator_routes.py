"""Operator endpoint for reading a device's telemetry."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from starlette.responses import Response

from climasense.http.operator_deps import ServicesDep
from climasense.http.responses import JSONResponse
from climasense.http.routing import JSONRoute
from climasense.ids import uuid_or_404
from climasense.telemetry import query
from climasense.telemetry.schemas import TelemetryBuckets, TelemetryPoints

router = APIRouter(tags=["telemetry"], route_class=JSONRoute)


@router.get(
    "/devices/{device_id}/telemetry",
    response_model=TelemetryPoints | TelemetryBuckets,
    responses={404: {"description": "Unknown device, or a sensor not paired to this hub"}},
)
async def read_telemetry(
    device_id: str,
    services: ServicesDep,
    sensor_type: str | None = None,
    sensor_id: Annotated[
        str | None, Query(description="Hubs: read this paired Zigbee sensor's readings.")
    ] = None,
    from_: Annotated[str | None, Query(alias="from", description="RFC 3339, inclusive.")] = None,
    to: Annotated[str | None, Query(description="RFC 3339, exclusive.")] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
    cursor: str | None = None,
    bucket: Annotated[
        str | None,
        Query(description="Aggregate into buckets of this width (e.g. `5m`, `1h`, `1d`)."),
    ] = None,
) -> Response:
    """Readings oldest first (`points`, paginated with `next_cursor`), or with `bucket`
    count/avg/min/max per bucket and sensor type (`buckets`; widths of whole hours are served
    from the hourly rollups)."""
    device = uuid_or_404(device_id, "Device")
    sensor = uuid_or_404(sensor_id, "Sensor") if sensor_id is not None else None
    start = query.parse_time("from", from_)
    end = query.parse_time("to", to)
    if start is not None and end is not None and start > end:
        raise query.invalid_field("from", "must not be after `to`")
    if bucket is not None:
        body = await query.read_buckets(
            services.pool,
            device,
            sensor_type=sensor_type,
            sensor_id=sensor,
            start=start,
            end=end,
            bucket=bucket,
        )
    else:
        body = await query.read_points(
            services.pool,
            device,
            sensor_type=sensor_type,
            sensor_id=sensor,
            start=start,
            end=end,
            limit=limit,
            cursor=cursor,
        )
    return JSONResponse(body)
