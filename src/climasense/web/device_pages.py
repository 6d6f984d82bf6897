"""A device's page: status, latest readings, charts, position, settings, commands, sensors."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from uuid import UUID

import orjson
from fastapi import APIRouter
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from climasense.http.responses import JSONResponse
from climasense.web import charts as svg_charts
from climasense.web import data, format, repository, tables
from climasense.web.common import (
    SessionDep,
    checked_form,
    environment,
    operator_api,
    redirect,
    render,
    secure,
    services_of,
    text_field,
)
from climasense.web.operator_api import OperatorAPI
from climasense.web.views import Command, DeviceDetail, DeviceSettings

router = APIRouter(include_in_schema=False)

COMMAND_TYPES = ["diagnostics", "reboot", "config_update", "factory_reset"]


def _range(request: Request) -> str:
    chosen = request.query_params.get("range", "24h")
    return chosen if chosen in data.RANGES else "24h"


def _valid_id(device_id: str) -> bool:
    try:
        UUID(device_id)
    except ValueError:
        return False
    return True


@dataclass(frozen=True, slots=True)
class Chart:
    sensor_type: str
    svg: Markup


@dataclass(frozen=True, slots=True)
class Charts:
    """The charts block (`_charts.html`); not `available` when the telemetry query failed."""

    available: bool
    charts: list[Chart]
    range: str


async def _charts(
    api: OperatorAPI, device_id: str, range_name: str, settings: DeviceSettings | None
) -> Charts:
    enabled = settings.enabled_sensors if settings else ()
    interval = settings.reporting_interval_seconds if settings else None
    expected = timedelta(seconds=interval) if isinstance(interval, int) else None
    buckets, start, end = await data.chart_buckets(api, device_id, range_name)
    _, _, width = data.RANGES[range_name]
    if buckets is None:
        return Charts(available=False, charts=[], range=range_name)
    kinds = [t for t in format.SENSOR_TYPES if t in buckets or t in enabled]
    charts = [
        Chart(
            sensor_type=kind,
            svg=svg_charts.line_chart(
                kind,
                buckets.get(kind, []),
                start=start,
                end=end,
                bucket=width,
                reporting_interval=expected,
            ),
        )
        for kind in kinds
    ]
    return Charts(available=True, charts=charts, range=range_name)


def _live_fields(device: DeviceDetail) -> dict[str, str]:
    status = device.status
    state = "revoked" if status != "active" else "online" if device.online else "offline"
    return {
        "device-state": state,
        "last-seen": format.ago(device.last_seen_at),
        "last-seen-at": format.timestamp(device.last_seen_at) if device.last_seen_at else "",
        "firmware": device.firmware_version or "—",
        "position": format.coordinates(device.latitude, device.longitude),
        "settings-version": str(device.settings_version or "—"),
        "open-alerts": str(device.open_alert_count),
    }


async def _command_authors(request: Request, commands: list[Command] | None) -> dict[str, str]:
    ids = [c.command_id for c in commands or []]
    return await repository.authors(services_of(request).pool, "command.send", ids)


@router.get("/devices/{device_id}")
async def device_page(request: Request, device_id: str, session: SessionDep) -> Response:
    api = operator_api(request, session)
    device = await data.device(api, device_id) if _valid_id(device_id) else None
    if device is None:
        context = {"title": "Device not found", "message": "No device has this id."}
        return render(request, "error.html", context, session=session, status=404)
    settings = await data.device_settings(api, device_id)
    commands = await data.commands(api, device_id)
    by = await _command_authors(request, commands)
    settings_by = await repository.authors(
        services_of(request).pool, "settings.update", [device_id]
    )
    range_name = _range(request)
    return render(
        request,
        "device.html",
        {
            "device": device,
            "device_id": device_id,
            "settings": settings,
            "fields": _live_fields(device),
            "readings": tables.reading_rows(device.latest_readings),
            "commands": None if commands is None else tables.command_rows(commands, device_id, by),
            "settings_by": settings_by.get(device_id),
            "command_columns": tables.COMMAND_COLUMNS,
            "command_types": COMMAND_TYPES,
            "sensors": tables.sensor_rows(device.sensors),
            "sensor_columns": tables.SENSOR_COLUMNS,
            "charts": await _charts(api, device_id, range_name, settings),
            "ranges": list(data.RANGES),
            "live_url": f"/ui/devices/{device_id}.json",
        },
        session=session,
    )


@router.get("/devices/{device_id}/charts")
async def device_charts(request: Request, device_id: str, session: SessionDep) -> Response:
    """The charts block alone, for the page to refresh without a reload."""
    if not _valid_id(device_id):
        return secure(HTMLResponse("", status_code=404))
    api = operator_api(request, session)
    settings = await data.device_settings(api, device_id)
    charts = await _charts(api, device_id, _range(request), settings)
    html = environment().get_template("_charts.html").render(charts=charts)
    return secure(HTMLResponse(html))


@router.get("/ui/devices/{device_id}.json")
async def device_live(request: Request, device_id: str, session: SessionDep) -> Response:
    api = operator_api(request, session)
    device = await data.device(api, device_id) if _valid_id(device_id) else None
    if device is None:
        return JSONResponse(
            {"error": "not_found", "message": "Device not found", "details": []}, status_code=404
        )
    commands = await data.commands(api, device_id)
    live_tables = {
        "readings": tables.as_json(tables.reading_rows(device.latest_readings)),
        "sensors": tables.as_json(tables.sensor_rows(device.sensors)),
    }
    if commands is not None:
        by = await _command_authors(request, commands)
        live_tables["commands"] = tables.as_json(tables.command_rows(commands, device_id, by))
    return JSONResponse(
        {"fields": _live_fields(device), "tables": live_tables},
        headers={"Cache-Control": "no-store"},
    )


def _number(raw: str, kind: type[int] | type[float]) -> Any:
    # A value that is not a number goes to the API as typed, which answers with its own 422.
    try:
        return kind(raw)
    except ValueError:
        return raw


def settings_patch(form: Any) -> dict[str, Any]:
    """The merge patch a submitted settings form asks for (every editable field)."""
    patch: dict[str, Any] = {}
    interval = text_field(form, "reporting_interval_seconds")
    if interval:
        patch["reporting_interval_seconds"] = _number(interval, int)
    patch["enabled_sensors"] = [
        value for value in form.getlist("enabled_sensors") if isinstance(value, str)
    ]
    timezone = text_field(form, "timezone")
    if timezone:
        patch["timezone"] = timezone
    latitude = text_field(form, "latitude")
    longitude = text_field(form, "longitude")
    name = text_field(form, "location_name")
    if latitude or longitude:
        location: dict[str, Any] = {
            "latitude": _number(latitude, float),
            "longitude": _number(longitude, float),
        }
        location["name"] = name or None
        patch["location"] = location
    else:
        patch["location"] = None
    return patch


@router.post("/devices/{device_id}/settings")
async def save_settings(request: Request, device_id: str, session: SessionDep) -> Response:
    form = await checked_form(request, session)
    page = f"/devices/{device_id}"
    version_text = text_field(form, "version")
    digits = version_text.isascii() and version_text.isdigit() and len(version_text) <= 18
    version = int(version_text) if digits else None
    api = operator_api(request, session)
    result = await data.patch_settings(api, device_id, settings_patch(form), version)
    if result.ok:
        new_version = result.body.get("version") if isinstance(result.body, dict) else None
        return redirect(request, page, ok=f"Settings saved: version {new_version}.")
    if result.status == 412:
        return redirect(
            request,
            page,
            error="These settings were changed by someone else since you opened the page; "
            "the form now shows the current version. Review it and save again.",
        )
    return redirect(request, page, error=result.message)


@router.post("/devices/{device_id}/commands")
async def send_command(request: Request, device_id: str, session: SessionDep) -> Response:
    form = await checked_form(request, session)
    page = f"/devices/{device_id}"
    payload_text = text_field(form, "payload")
    payload: Any = None
    if payload_text:
        try:
            payload = orjson.loads(payload_text)
        except orjson.JSONDecodeError:
            return redirect(request, page, error="The payload must be a JSON object.")
        if not isinstance(payload, dict):
            return redirect(request, page, error="The payload must be a JSON object.")
    ttl_text = text_field(form, "ttl_seconds")
    api = operator_api(request, session)
    result = await data.send_command(
        api,
        device_id,
        text_field(form, "type"),
        payload,
        _number(ttl_text, int) if ttl_text else None,
        text_field(form, "confirm") or None,
    )
    if result.ok:
        return redirect(request, page, ok=f"{text_field(form, 'type')} command sent.")
    return redirect(request, page, error=result.message)


@router.post("/devices/{device_id}/commands/{command_id}/cancel")
async def cancel_command(
    request: Request, device_id: str, command_id: str, session: SessionDep
) -> Response:
    await checked_form(request, session)
    result = await data.cancel_command(operator_api(request, session), command_id)
    page = f"/devices/{device_id}"
    if result.ok:
        return redirect(request, page, ok="Command cancelled.")
    return redirect(request, page, error=result.message)
