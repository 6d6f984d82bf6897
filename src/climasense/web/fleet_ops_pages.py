"""Fleet operations in the dashboard (CONTRACT §11): a device's tags and label, a bulk action
from the fleet page's filter, job progress pages, and CSV downloads.

Actions go through the operator API in-process like every other page. The CSV downloads
stream straight from the export module (the in-process API call would buffer the body).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import orjson
from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from climasense.csv_export import csv_response
from climasense.devices import repository as devices_repository
from climasense.errors import ClimaSenseError
from climasense.http.responses import JSONResponse
from climasense.telemetry import export, query
from climasense.web.common import (
    SessionDep,
    checked_form,
    operator_api,
    redirect,
    render,
    services_of,
    text_field,
)
from climasense.web.fleet_pages import fleet_filter

router = APIRouter(include_in_schema=False)


def _uuid(raw: str) -> UUID | None:
    try:
        return UUID(raw)
    except ValueError:
        return None


@router.post("/devices/{device_id}/tags")
async def save_tags(request: Request, device_id: str, session: SessionDep) -> Response:
    form = await checked_form(request, session)
    page = f"/devices/{device_id}"
    body: dict[str, Any] = {
        "tags": text_field(form, "tags").split(),
        "label": text_field(form, "label") or None,
    }
    batch = text_field(form, "batch")
    if batch:
        body["batch"] = batch
    result = await operator_api(request, session).call(
        "PATCH", f"/admin/v1/devices/{device_id}", json=body
    )
    if result.ok:
        return redirect(request, page, ok="Tags and label saved.")
    return redirect(request, page, error=result.message)


@router.post("/ui/bulk")
async def bulk_action(request: Request, session: SessionDep) -> Response:
    form = await checked_form(request, session)
    try:
        selector = orjson.loads(text_field(form, "selector") or "{}")
    except orjson.JSONDecodeError:
        selector = {}
    api = operator_api(request, session)
    action = text_field(form, "action")
    if action == "tag":
        result = await api.call(
            "POST",
            "/admin/v1/devices/tags",
            json={
                "selector": selector,
                "add": text_field(form, "add").split(),
                "remove": text_field(form, "remove").split(),
            },
        )
        if result.ok and isinstance(result.body, dict):
            return redirect(request, "/", ok=f"Tags changed on {result.body['matched']} devices.")
        return redirect(request, "/", error=result.message)
    if action == "command":
        body: dict[str, Any] = {
            "selector": selector,
            "command": {"type": text_field(form, "command")},
        }
    elif action == "settings":
        try:
            patch = orjson.loads(text_field(form, "settings") or "null")
        except orjson.JSONDecodeError:
            return redirect(request, "/", error="The settings patch must be a JSON object.")
        body = {"selector": selector, "settings": patch}
    else:
        return redirect(request, "/", error="Unknown action.")
    result = await api.call("POST", "/admin/v1/jobs", json=body)
    if result.ok and isinstance(result.body, dict):
        job_id = result.body["job_id"]
        return redirect(
            request, f"/jobs/{job_id}", ok=f"Job created for {result.body['target_count']} devices."
        )
    return redirect(request, "/", error=result.message)


@router.get("/jobs")
async def jobs_page(request: Request, session: SessionDep) -> Response:
    result = await operator_api(request, session).get("/admin/v1/jobs", limit=50)
    jobs = result.body.get("jobs", []) if result.ok and isinstance(result.body, dict) else []
    return render(request, "jobs.html", {"jobs": jobs, "job": None}, session=session)


@router.get("/jobs/{job_id}")
async def job_page(request: Request, job_id: str, session: SessionDep) -> Response:
    result = await operator_api(request, session).get(f"/admin/v1/jobs/{job_id}")
    if not result.ok or not isinstance(result.body, dict):
        context = {"title": "Job not found", "message": "No job has this id."}
        return render(request, "error.html", context, session=session, status=404)
    return render(
        request,
        "jobs.html",
        {"job": result.body, "jobs": None, "live_url": f"/ui/jobs/{job_id}.json"},
        session=session,
    )


@router.get("/ui/jobs/{job_id}.json")
async def job_live(request: Request, job_id: str, session: SessionDep) -> Response:
    result = await operator_api(request, session).get(f"/admin/v1/jobs/{job_id}")
    if not result.ok or not isinstance(result.body, dict):
        return JSONResponse(result.body, status_code=result.status)
    job = result.body
    fields = {f"job-{k}": str(v) for k, v in job["counts"].items()}
    fields["job-state"] = job["state"]
    return JSONResponse({"fields": fields}, headers={"Cache-Control": "no-store"})


@router.post("/jobs/{job_id}/cancel")
async def cancel_job(request: Request, job_id: str, session: SessionDep) -> Response:
    await checked_form(request, session)
    result = await operator_api(request, session).call("POST", f"/admin/v1/jobs/{job_id}/cancel")
    if result.ok:
        return redirect(request, f"/jobs/{job_id}", ok="Job cancelled.")
    return redirect(request, f"/jobs/{job_id}", error=result.message)


@router.get("/ui/export/devices.csv")
async def devices_csv(request: Request, session: SessionDep) -> Response:
    filters = fleet_filter(request)
    sql, args = devices_repository.list_query(
        batch=filters.batch,
        kind=filters.kind,
        online=filters.online,
        model=filters.model,
        tags=filters.tags,
        label=filters.label,
        columns=devices_repository.CSV_COLUMNS,
    )
    return await csv_response(
        services_of(request).pool,
        filename="devices.csv",
        header=devices_repository.CSV_HEADER,
        query=sql,
        args=args,
    )


@router.get("/devices/{device_id}/telemetry.csv")
async def device_telemetry_csv(request: Request, device_id: str, session: SessionDep) -> Response:
    device = _uuid(device_id)
    if device is None:
        return Response("Not found", status_code=404, media_type="text/plain")
    q = request.query_params
    try:
        return await export.device_csv(
            services_of(request).pool,
            device,
            sensor_type=q.get("sensor_type") or None,
            sensor_id=None,
            start=query.parse_time("from", q.get("from") or None),
            end=query.parse_time("to", q.get("to") or None),
        )
    except ClimaSenseError as exc:
        return Response(exc.message, status_code=exc.status, media_type="text/plain")


@router.get("/ui/export/telemetry.csv")
async def fleet_telemetry_csv(request: Request, session: SessionDep) -> Response:
    filters = fleet_filter(request)
    q = request.query_params
    try:
        return await export.fleet_csv(
            services_of(request).pool,
            sensor_type=q.get("sensor_type") or None,
            start=query.parse_time("from", q.get("from") or None),
            end=query.parse_time("to", q.get("to") or None),
            batch=filters.batch,
            tags=filters.tags,
        )
    except ClimaSenseError as exc:
        return Response(exc.message, status_code=exc.status, media_type="text/plain")
