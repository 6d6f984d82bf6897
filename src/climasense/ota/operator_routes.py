"""Operator endpoints for firmware images and staged releases (CONTRACT §5)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request

from climasense.http.body import check_declared_length
from climasense.http.operator_deps import AdminDep, ServicesDep
from climasense.http.protocol_errors import UnsupportedMediaType
from climasense.http.routing import JSONRoute
from climasense.ids import uuid_or_404
from climasense.ota import firmware, releases
from climasense.ota.device_routes import blob_store
from climasense.ota.schemas import (
    Firmware,
    FirmwareList,
    Release,
    ReleaseCreate,
    ReleaseList,
    ReleaseUpdate,
)

router = APIRouter(tags=["firmware"], route_class=JSONRoute)

_RAW_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
    }
}
_RAW_TYPES = {"application/octet-stream", "application/x-binary", "binary/octet-stream"}


@router.put(
    "/firmware/{model}/{version}",
    status_code=201,
    response_model=Firmware,
    openapi_extra=_RAW_BODY,
)
async def upload_firmware(
    model: str,
    version: str,
    request: Request,
    services: ServicesDep,
    operator: AdminDep,
    # 4,000 characters: percent-encoded (up to 12 bytes each) they still fit the HTTP
    # server's 64 KiB request line, so the documented limit is one the server can receive.
    release_notes: Annotated[str | None, Query(max_length=4_000)] = None,
    signature: Annotated[
        str | None,
        Query(
            description="Base64 Ed25519 signature of the manifest (`climasense firmware sign`).",
        ),
    ] = None,
) -> Firmware:
    """Upload an image (raw body, streamed to the store while its sha256 is computed).

    `version` must be a semantic version not yet uploaded for `model` (else 409). A
    `signature` must verify against a trusted key over the stored bytes (else 422
    `invalid_signature`, nothing stored); a server that requires signatures refuses an
    unsigned image (422 `signature_required`).
    """
    settings = services.settings
    content_type = request.headers.get("content-type")
    if content_type and content_type.split(";", 1)[0].strip().lower() not in _RAW_TYPES:
        raise UnsupportedMediaType("Content-Type must be application/octet-stream")
    check_declared_length(request, services.settings.firmware_max_bytes)
    image = await firmware.upload(
        services.pool,
        blob_store(services),
        model=model,
        version=version,
        chunks=request.stream(),
        release_notes=release_notes,
        max_bytes=settings.firmware_max_bytes,
        signature=signature,
        trusted=firmware.trusted_keys(settings.firmware_public_keys),
        require_signature=settings.firmware_require_signature,
        operator=operator,
    )
    return Firmware.model_validate(image)


@router.get("/firmware", response_model=FirmwareList)
async def list_firmware(services: ServicesDep, model: str | None = None) -> FirmwareList:
    """Uploaded images, per model, oldest first."""
    return FirmwareList(
        firmware=[
            Firmware.model_validate(i) for i in await firmware.list_firmware(services.pool, model)
        ]
    )


@router.post("/firmware/{model}/{version}/releases", status_code=201, response_model=Release)
async def create_release(
    model: str, version: str, body: ReleaseCreate, services: ServicesDep, operator: AdminDep
) -> Release:
    """Offer this image to devices of its model in `batches` and/or matching `selector`,
    `percentage` of them (a staged rollout). 409 if a release of this version that is not
    cancelled already covers a batch (or, for a selector release, exists at all)."""
    release = await releases.create(
        services.pool,
        services.settings,
        model=model,
        version=version,
        batches=body.batches,
        failure_threshold_percent=body.failure_threshold_percent,
        operator=operator,
        selector=body.selector,
        percentage=body.percentage,
    )
    return Release.model_validate(release)


@router.post("/firmware/{model}/{version}/releases/{release_id}/pause", response_model=Release)
async def pause_release(
    model: str, version: str, release_id: str, services: ServicesDep, operator: AdminDep
) -> Release:
    """Stop offering the image (devices mid-download get 404 on their next range)."""
    release = await releases.pause(
        services.pool,
        services.settings,
        uuid_or_404(release_id, "Release"),
        operator=operator,
        model=model,
        version=version,
    )
    return Release.model_validate(release)


@router.post("/firmware/{model}/{version}/releases/{release_id}/resume", response_model=Release)
async def resume_release(
    model: str, version: str, release_id: str, services: ServicesDep, operator: AdminDep
) -> Release:
    """Offer the image again; auto-pause counts only reports from now on."""
    release = await releases.resume(
        services.pool,
        services.settings,
        uuid_or_404(release_id, "Release"),
        operator=operator,
        model=model,
        version=version,
    )
    return Release.model_validate(release)


@router.post("/firmware/{model}/{version}/releases/{release_id}/cancel", response_model=Release)
async def cancel_release(
    model: str, version: str, release_id: str, services: ServicesDep, operator: AdminDep
) -> Release:
    """End the release for good (it cannot be resumed; create a new one instead)."""
    release = await releases.cancel(
        services.pool,
        services.settings,
        uuid_or_404(release_id, "Release"),
        operator=operator,
        model=model,
        version=version,
    )
    return Release.model_validate(release)


@router.get("/releases", response_model=ReleaseList)
async def list_releases(
    services: ServicesDep,
    model: str | None = None,
    state: Literal["active", "paused", "cancelled"] | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> ReleaseList:
    """Releases, newest first, each as `GET /admin/v1/releases/{release_id}` shows it; pass
    `next_cursor` back as `cursor`."""
    listed, next_cursor = await releases.list_releases(
        services.pool, services.settings, model=model, state=state, cursor=cursor, limit=limit
    )
    return ReleaseList(
        releases=[Release.model_validate(release) for release in listed], next_cursor=next_cursor
    )


@router.get("/releases/{release_id}", response_model=Release)
async def get_release(release_id: str, services: ServicesDep) -> Release:
    """State, pause reason, devices at each status and the failure rate."""
    release = await releases.get(
        services.pool, services.settings, uuid_or_404(release_id, "Release")
    )
    return Release.model_validate(release)


@router.patch("/releases/{release_id}", response_model=Release)
async def update_release(
    release_id: str, body: ReleaseUpdate, services: ServicesDep, operator: AdminDep
) -> Release:
    """Widen a release to a higher percentage (a lower one → 422: it never narrows)."""
    release = await releases.widen(
        services.pool,
        services.settings,
        uuid_or_404(release_id, "Release"),
        percentage=body.percentage,
        operator=operator,
    )
    return Release.model_validate(release)
