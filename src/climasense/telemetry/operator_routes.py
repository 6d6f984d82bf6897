"""Operator endpoint for reading a device's telemetry."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from climasense.csv_export import wants_csv
from climasense.http.operator_deps import ServicesDep
from climasense.http.responses import JSONResponse
from climasense.http.routing import JSONRoute
from climasense.ids import uuid_or_404
from climasense.telemetry import export, query
from climasense.telemetry.schemas import TelemetryBuckets, TelemetryPoints

router = APIRouter(tags=["telemetry"], route_class=JSONRoute)


# The answer is built by hand rather than validated into `TelemetryPoints`: a page holds up to
# 10,000 points, and `model_validate(..., from_attributes=True)` + `model_dump` took ~60 ms for
# one against ~10 ms for these dicts (same bytes; tests/unit/telemetry/test_answers.py
# holds them to the schema's serialisation).
def points_document(page: query.PointsPage) -> dict[str, Any]:
    return {
        "points": [
            {
                "timestamp": point.timestamp,
                "sensor_type": point.sensor_type,
                "sensor_id": point.sensor_id,
                "value": point.value,
            }
            for point in page.points
        ],
        "next_cursor": page.next_cursor,
    }


def buckets_document(series: query.BucketSeries) -> dict[str, Any]:
    return {
        "buckets": [
            {
                "start": bucket.start,
                "sensor_type": bucket.sensor_type,
                "count": bucket.count,
                "avg": bucket.avg,
                "min": bucket.min,
                "max": bucket.max,
            }
            for bucket in series.buckets
        ]
    }


@router.get(
    "/devices/{device_id}/telemetry",
    response_model=TelemetryPoints | TelemetryBuckets,
    responses={
        200: {"content": {"text/csv": {}}},
        404: {"description": "Unknown device, or a sensor not paired to this hub"},
    },
)
async def read_telemetry(
    device_id: str,
    request: Request,
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
    from the hourly rollups). With `Accept: text/csv` (and no `bucket`): every reading in the
    range as CSV, all pages, streamed."""
    device = uuid_or_404(device_id, "Device")
    sensor = uuid_or_404(sensor_id, "Sensor") if sensor_id is not None else None
    start = query.parse_time("from", from_)
    end = query.parse_time("to", to)
    if start is not None and end is not None and start > end:
        raise query.invalid_field("from", "must not be after `to`")
    if bucket is None and wants_csv(request):
        return await export.device_csv(
            services.pool, device, sensor_type=sensor_type, sensor_id=sensor, start=start, end=end
        )
    if bucket is not None:
        series = await query.read_buckets(
            services.pool,
            device,
            sensor_type=sensor_type,
            sensor_id=sensor,
            start=start,
            end=end,
            bucket=bucket,
        )
        return JSONResponse(buckets_document(series))
    page = await query.read_points(
        services.pool,
        device,
        sensor_type=sensor_type,
        sensor_id=sensor,
        start=start,
        end=end,
        limit=limit,
        cursor=cursor,
    )
    return JSONResponse(points_document(page))


@router.get(
    "/telemetry/export",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}, "description": "CSV, streamed"}},
)
async def export_telemetry(
    services: ServicesDep,
    from_: Annotated[str | None, Query(alias="from", description="RFC 3339, inclusive.")] = None,
    to: Annotated[str | None, Query(description="RFC 3339, exclusive.")] = None,
    sensor_type: str | None = None,
    batch: str | None = None,
    tag: Annotated[
        list[str] | None, Query(description="Repeatable: devices with every tag given.")
    ] = None,
) -> Response:
    """The fleet's readings as CSV `device_id,serial_number,sensor_id,sensor_type,timestamp,
    value` (streamed; memory does not grow with the size)."""
    start = query.parse_time("from", from_)
    end = query.parse_time("to", to)
    if start is not None and end is not None and start > end:
        raise query.invalid_field("from", "must not be after `to`")
    return await export.fleet_csv(
        services.pool, sensor_type=sensor_type, start=start, end=end, batch=batch, tags=tag or []
    )
