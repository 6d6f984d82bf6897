"""Firmware: upload an image, release it to batches, watch each release's rollout, pause or
resume it (and read why it paused itself)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter
from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import Response

from climasense.http.responses import JSONResponse
from climasense.web import data, repository, rollout
from climasense.web.common import (
    SessionDep,
    checked_form,
    operator_api,
    redirect,
    render,
    services_of,
    text_field,
)
from climasense.web.operator_api import OperatorAPI
from climasense.web.sessions import DashboardSession
from climasense.web.views import Release

router = APIRouter(include_in_schema=False)

_CHUNK = 64 * 1024
_ID = re.compile(r"\A[A-Za-z0-9-]{1,64}\Z")


def _wanted(request: Request) -> list[str]:
    return [r for r in request.query_params.getlist("release") if _ID.match(r)][:20]


@dataclass(frozen=True, slots=True)
class ReleaseView:
    """A release as its card on the firmware page shows it."""

    release_id: str
    model: str | None
    version: str | None
    batches: str
    selector: Any  # JSON object, shown as sent
    percentage: Any
    state: str
    reason: str | None
    threshold: float | None
    created_at: str | None
    progress: rollout.Progress
    summary: str
    by: str | None = None  # who created it (audit trail)


def release_view(release: Release) -> ReleaseView:
    return ReleaseView(
        release_id=release.release_id,
        model=release.model,
        version=release.version,
        batches=", ".join(release.batches),
        selector=release.selector,
        percentage=release.percentage,
        state=release.state,
        reason=rollout.pause_reason(release),
        threshold=release.failure_threshold_percent,
        created_at=release.created_at,
        progress=rollout.progress(release),
        summary=rollout.summary(release),
    )


def _live_fields(views: list[ReleaseView]) -> dict[str, str]:
    fields: dict[str, str] = {}
    for view in views:
        rid = view.release_id
        fields[f"release-{rid}-state"] = view.state
        fields[f"release-{rid}-summary"] = view.summary
        fields[f"release-{rid}-reason"] = view.reason or ""
    return fields


async def _releases(request: Request, api: OperatorAPI) -> list[ReleaseView] | None:
    found = await data.releases(api, _wanted(request))
    if found is None:
        return None
    views = [release_view(r) for r in found]
    by = await repository.authors(
        services_of(request).pool, "release.create", [v.release_id for v in views]
    )
    return [replace(view, by=by.get(view.release_id)) for view in views]


@router.get("/firmware")
async def firmware_page(request: Request, session: SessionDep) -> Response:
    api = operator_api(request, session)
    views = await _releases(request, api)
    query = urlencode([("release", r) for r in _wanted(request)])
    return render(
        request,
        "firmware.html",
        {
            "images": await data.firmware_images(api),
            "releases": views,
            "live_url": "/ui/firmware.json" + (f"?{query}" if query else ""),
            "return_to": "/firmware" + (f"?{query}" if query else ""),
        },
        session=session,
    )


@router.get("/ui/firmware.json")
async def firmware_live(request: Request, session: SessionDep) -> Response:
    views = await _releases(request, operator_api(request, session)) or []
    return JSONResponse(
        {
            "fields": _live_fields(views),
            "bars": [
                {"id": v.release_id, "segments": [s.as_json() for s in v.progress.segments]}
                for v in views
            ],
        },
        headers={"Cache-Control": "no-store"},
    )


async def _chunks(upload: UploadFile) -> AsyncIterator[bytes]:
    while chunk := await upload.read(_CHUNK):
        yield chunk


@router.post("/firmware")
async def upload(request: Request, session: SessionDep) -> Response:
    form = await checked_form(request, session)
    try:
        return await _upload(request, session, form)
    finally:
        # The image was spooled to a temporary file by the form parser; close it now rather
        # than leave it to the garbage collector.
        await form.close()


async def _upload(request: Request, session: DashboardSession, form: FormData) -> Response:
    image = form.get("image")
    model, version = text_field(form, "model"), text_field(form, "version")
    if not isinstance(image, UploadFile) or not model or not version:
        return redirect(request, "/firmware", error="Choose a file, a model and a version.")
    result = await data.upload_firmware(
        operator_api(request, session),
        model,
        version,
        text_field(form, "release_notes"),
        _chunks(image),
        signature=text_field(form, "signature"),
    )
    if result.ok:
        size = result.body.get("size_bytes") if isinstance(result.body, dict) else None
        return redirect(request, "/firmware", ok=f"Uploaded {model} {version} ({size} bytes).")
    return redirect(request, "/firmware", error=result.message)


@router.post("/firmware/releases")
async def create_release(request: Request, session: SessionDep) -> Response:
    form = await checked_form(request, session)
    batches = [b for b in re.split(r"[\s,]+", text_field(form, "batches")) if b]
    threshold_text = text_field(form, "failure_threshold_percent")
    threshold: float | None = None
    if threshold_text:
        try:
            threshold = float(threshold_text)
        except ValueError:
            return redirect(request, "/firmware", error="The failure threshold must be a number.")
    model, version = text_field(form, "model"), text_field(form, "version")
    tags_any = text_field(form, "tags_any").split()
    percentage_text = text_field(form, "percentage")
    result = await data.create_release(
        operator_api(request, session),
        model,
        version,
        batches,
        threshold,
        tags_any=tags_any,
        percentage=(int(percentage_text) if percentage_text.isdigit() else percentage_text)
        if percentage_text
        else None,
    )
    if result.ok and isinstance(result.body, dict):
        release_id = str(result.body.get("release_id"))
        return redirect(
            request,
            "/firmware?" + urlencode({"release": release_id}),
            ok=f"Released {model} {version} to {', '.join(batches + tags_any)}.",
        )
    return redirect(request, "/firmware", error=result.message)


@router.post("/firmware/releases/{release_id}/{action}")
async def change_release(
    request: Request, release_id: str, action: str, session: SessionDep
) -> Response:
    form = await checked_form(request, session)
    back = text_field(form, "return_to") or "/firmware"
    if action == "widen":
        percentage = text_field(form, "percentage")
        widened = await operator_api(request, session).call(
            "PATCH",
            f"/admin/v1/releases/{release_id}",
            json={"percentage": int(percentage) if percentage.isdigit() else percentage},
        )
        if widened.ok:
            return redirect(request, back, ok=f"Release widened to {percentage} %.")
        return redirect(request, back, error=widened.message)
    if action not in {"pause", "resume"}:
        return redirect(request, back, error="Unknown action.")
    result = await data.set_release_state(
        operator_api(request, session),
        release_id,
        text_field(form, "model"),
        text_field(form, "version"),
        action,
    )
    if result.ok:
        return redirect(request, back, ok=f"Release {action}d.")
    return redirect(request, back, error=result.message)
