"""What a device sees of OTA: the update check, the download, and its status reports."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import asyncpg

from climasense.auth.principals import DevicePrincipal
from climasense.blobstore import BlobNotFound, BlobReader, BlobStore, BlobStoreError
from climasense.errors import NotFound, Unavailable, ValidationFailed
from climasense.ota import releases, repository, versions
from climasense.ota.ranges import ByteRange, if_range_allows, parse_range
from climasense.ota.repository import FirmwareImage
from climasense.settings import Settings

STATUSES = ("downloading", "downloaded", "verifying", "applying", "completed", "failed")
MAX_ERROR_MESSAGE = 2000
_STATUS_FIELDS = {"version", "status", "progress_percent", "error_message"}


@dataclass(frozen=True, slots=True)
class UpdateCheck:
    """What `check` found for a device: the image offered, or None when nothing is newer."""

    offer: FirmwareImage | None

    def to_json(self) -> dict[str, Any]:
        """The body of `GET /v1/ota/check` (built at the device route)."""
        offer = self.offer
        if offer is None:
            return {"update_available": False}
        answer = {
            "update_available": True,
            "version": offer.version,
            "checksum": offer.checksum,
            "size_bytes": offer.size_bytes,
            "release_notes": offer.release_notes or "",
        }
        if offer.signature is not None:  # CONTRACT §12: the device verifies before applying
            answer["signature"] = offer.signature
            answer["signing_key_id"] = offer.signing_key_id
        return answer


async def check(
    pool: asyncpg.Pool, device: DevicePrincipal, current_version: str | None
) -> UpdateCheck:
    """The highest version offered to the device (its model; its batch or the release's
    selector; within the release's percentage) above its current one; no offer when there is
    nothing newer (or its release was paused between the two queries)."""
    current = versions.require(current_version, "current_version")
    async with pool.acquire() as conn:
        # str() of a parsed semver is the text the device sent (semver text is canonical).
        await repository.record_reported_version(conn, device.device_id, str(current))
        best = versions.highest_above(
            await repository.offered_versions(conn, device.device_id), current
        )
        if best is None:
            return UpdateCheck(offer=None)
        return UpdateCheck(offer=await repository.offered_firmware(conn, device.device_id, best))


@dataclass
class Download:
    status: int
    headers: dict[str, str]
    reader: BlobReader | None = field(default=None)


async def open_download(
    pool: asyncpg.Pool,
    store: BlobStore,
    device: DevicePrincipal,
    version: str,
    *,
    range_header: str | None,
    if_range: str | None,
    head_only: bool = False,
) -> Download:
    """Resolve an offered version and open the bytes to send (404 for anything not offered)."""
    image = None
    if versions.parse(version) is not None:
        image = await repository.offered_firmware(pool, device.device_id, version)
    if image is None:
        raise NotFound(f"Firmware {version} is not available to this device")
    size = image.size_bytes
    etag = f'"{image.sha256}"'
    headers = {
        "ETag": etag,
        "Accept-Ranges": "bytes",
        "Content-Type": "application/octet-stream",
        "Cache-Control": "private, no-transform",
    }
    wanted: ByteRange | None = None
    if if_range_allows(if_range, etag):
        wanted = parse_range(range_header, size)
    status = 200
    start, end = 0, size - 1
    if wanted is not None:
        status, start, end = 206, wanted.start, wanted.end
        headers["Content-Range"] = wanted.content_range(size)
    headers["Content-Length"] = str(end - start + 1)
    if head_only:
        return Download(status, headers)
    try:
        reader = await store.open_range(image.blob_key, start, end)
    except BlobNotFound:
        raise Unavailable("The firmware image is missing from the store") from None
    except BlobStoreError as exc:
        raise Unavailable("The firmware store is unavailable") from exc
    if reader.length != end - start + 1:
        await reader.close()
        raise Unavailable("The firmware store returned an unexpected size")
    return Download(status, headers, reader)


@dataclass(frozen=True, slots=True)
class StatusReport:
    """A device's `POST /v1/ota/status`, validated."""

    version: str
    status: str
    progress_percent: int | None
    error_message: str | None


def parse_status_report(body: Any) -> StatusReport:
    if not isinstance(body, dict):
        raise ValidationFailed(
            "Body must be a JSON object", details=[{"field": "body", "message": "not an object"}]
        )
    problems: list[dict[str, str]] = [
        {"field": name, "message": "unknown field"} for name in sorted(set(body) - _STATUS_FIELDS)
    ]
    version = body.get("version")
    if not isinstance(version, str) or versions.parse(version) is None:
        problems.append({"field": "version", "message": "must be a semantic version"})
    status = body.get("status")
    if status not in STATUSES:
        problems.append({"field": "status", "message": f"must be one of {', '.join(STATUSES)}"})
    # Optional fields are left out when there is nothing to say: the contract's schema has no
    # `null` for them, so a null is as wrong as any other non-integer / non-string.
    progress = body.get("progress_percent")
    if "progress_percent" in body and (
        not isinstance(progress, int) or isinstance(progress, bool) or not 0 <= progress <= 100
    ):
        problems.append({"field": "progress_percent", "message": "an integer 0..100"})
    message = body.get("error_message")
    if "error_message" in body and (
        not isinstance(message, str) or len(message) > MAX_ERROR_MESSAGE
    ):
        problems.append(
            {"field": "error_message", "message": f"a string of at most {MAX_ERROR_MESSAGE}"}
        )
    if problems:
        raise ValidationFailed("Invalid OTA status report", details=problems)
    # Both checked above: a str that parses as a version, one of STATUSES.
    return StatusReport(
        version=str(version), status=str(status), progress_percent=progress, error_message=message
    )


async def record_status(
    pool: asyncpg.Pool, settings: Settings, device: DevicePrincipal, body: Any
) -> datetime:
    report = parse_status_report(body)
    async with pool.acquire() as conn, conn.transaction():
        recorded_at = await repository.record_status(
            conn,
            device_id=device.device_id,
            model=device.model,
            batch=device.batch,
            version=report.version,
            status=report.status,
            progress_percent=report.progress_percent,
            error_message=report.error_message,
        )
        if report.status == "completed":
            await repository.record_reported_version(conn, device.device_id, report.version)
        if report.status in repository.FINAL:
            await releases.evaluate_for_device(
                conn, settings, model=device.model, version=report.version, batch=device.batch
            )
    return recorded_at
