"""SQL for firmware images, releases and device-reported OTA status."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, TypeAlias
from uuid import UUID

import asyncpg

from climasense.devices.selectors import stored_match

Executor: TypeAlias = asyncpg.Pool | asyncpg.Connection

IN_PROGRESS = ("downloading", "downloaded", "verifying", "applying")
FINAL = ("completed", "failed")

_FIRMWARE_COLUMNS = (
    "model, version, sha256, size_bytes, release_notes, created_at, blob_key, signature, "
    "signing_key_id"
)
_RELEASE_COLUMNS = """release_id, model, version, batches, state, failure_threshold_percent,
    min_finished, pause_reason, auto_paused, evaluated_since, created_at, updated_at, selector,
    percentage"""

# Release `r` is offered to device `d` (whatever its state): same model, in one of its batches
# (when it names batches), matched by its selector (when it has one), and within its
# percentage by the device's stable rollout bucket (migration 0090).
OFFERS = f"""(r.model = d.model
    AND (cardinality(r.batches) = 0 OR d.batch = ANY(r.batches))
    AND {stored_match("r.selector")}
    AND (r.percentage = 100 OR device_rollout_bucket(d.device_id) < r.percentage))"""


# Firmware images.


@dataclass(frozen=True, slots=True)
class FirmwareImage:
    """An uploaded image (the operator API's `Firmware` reads these attributes, `checksum`
    included; `blob_key` names its bytes in the store)."""

    model: str
    version: str
    sha256: str
    size_bytes: int
    release_notes: str | None
    created_at: datetime
    blob_key: str
    signature: str | None
    signing_key_id: str | None

    @property
    def checksum(self) -> str:
        return f"sha256:{self.sha256}"


def _image(row: asyncpg.Record) -> FirmwareImage:
    return FirmwareImage(
        model=row["model"],
        version=row["version"],
        sha256=row["sha256"],
        size_bytes=row["size_bytes"],
        release_notes=row["release_notes"],
        created_at=row["created_at"],
        blob_key=row["blob_key"],
        signature=row["signature"],
        signing_key_id=row["signing_key_id"],
    )


async def firmware_exists(db: Executor, model: str, precedence: str) -> bool:
    return bool(
        await db.fetchval(
            "SELECT true FROM firmware WHERE model = $1 AND precedence = $2", model, precedence
        )
    )


async def insert_firmware(
    db: Executor,
    *,
    model: str,
    version: str,
    precedence: str,
    blob_key: str,
    sha256: str,
    size_bytes: int,
    release_notes: str | None,
    signature: str | None = None,
    signing_key_id: str | None = None,
) -> FirmwareImage | None:
    """The new image, or None when (model, version precedence) already exists."""
    row = await db.fetchrow(
        f"""INSERT INTO firmware
               (model, version, precedence, blob_key, sha256, size_bytes, release_notes,
                signature, signing_key_id)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
           ON CONFLICT DO NOTHING
           RETURNING {_FIRMWARE_COLUMNS}""",
        model,
        version,
        precedence,
        blob_key,
        sha256,
        size_bytes,
        release_notes,
        signature,
        signing_key_id,
    )
    return None if row is None else _image(row)


async def get_firmware(db: Executor, model: str, version: str) -> FirmwareImage | None:
    row = await db.fetchrow(
        f"SELECT {_FIRMWARE_COLUMNS} FROM firmware WHERE model = $1 AND version = $2",
        model,
        version,
    )
    return None if row is None else _image(row)


async def list_firmware(db: Executor, model: str | None) -> list[FirmwareImage]:
    rows = await db.fetch(
        f"""SELECT {_FIRMWARE_COLUMNS} FROM firmware
           WHERE $1::text IS NULL OR model = $1 ORDER BY model, created_at""",
        model,
    )
    return [_image(row) for row in rows]


# What a device is offered: versions of its model with an active release to its batch.


async def offered_versions(db: Executor, device_id: UUID) -> list[str]:
    """Versions with an active release offered to this device (its current model, batch and
    tags: read here, not from the auth cache, since an operator may move or re-tag it)."""
    rows = await db.fetch(
        f"""SELECT DISTINCT r.version
            FROM devices d JOIN firmware_releases r ON r.model = d.model
            WHERE d.device_id = $1 AND r.state = 'active' AND {OFFERS}""",
        device_id,
    )
    return [r["version"] for r in rows]


async def offered_firmware(db: Executor, device_id: UUID, version: str) -> FirmwareImage | None:
    row = await db.fetchrow(
        f"""SELECT f.model, f.version, f.sha256, f.size_bytes, f.release_notes, f.created_at,
                   f.blob_key, f.signature, f.signing_key_id
            FROM devices d JOIN firmware f ON f.model = d.model
            WHERE d.device_id = $1 AND f.version = $2 AND EXISTS (
                SELECT 1 FROM firmware_releases r
                WHERE r.model = f.model AND r.version = f.version
                  AND r.state = 'active' AND {OFFERS})""",
        device_id,
        version,
    )
    return None if row is None else _image(row)


async def record_reported_version(db: Executor, device_id: UUID, version: str) -> None:
    # Written only when the version changes: checks are frequent, changes are rare.
    await db.execute(
        """UPDATE devices SET firmware_version = $2, firmware_reported_at = now()
           WHERE device_id = $1 AND firmware_version IS DISTINCT FROM $2""",
        device_id,
        version,
    )


# Releases.

ReleaseState: TypeAlias = Literal["active", "paused", "cancelled"]


@dataclass(frozen=True, slots=True)
class Release:
    """A release as stored (`releases.ReleaseProgress` adds its devices' progress)."""

    release_id: UUID
    model: str
    version: str
    batches: tuple[str, ...]  # empty: every batch (a selector release)
    state: ReleaseState
    failure_threshold_percent: float
    min_finished: int
    pause_reason: str | None
    auto_paused: bool
    evaluated_since: datetime
    created_at: datetime
    updated_at: datetime
    # The selector's JSON as kept (`Selector.stored()`), shown to operators as it is: the API
    # declares it a free-form object, so it stays a dict here.
    selector: dict[str, Any] | None
    percentage: int


def _release(row: asyncpg.Record) -> Release:
    return Release(
        release_id=row["release_id"],
        model=row["model"],
        version=row["version"],
        batches=tuple(row["batches"]),
        state=row["state"],
        failure_threshold_percent=row["failure_threshold_percent"],
        min_finished=row["min_finished"],
        pause_reason=row["pause_reason"],
        auto_paused=row["auto_paused"],
        evaluated_since=row["evaluated_since"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        selector=row["selector"],
        percentage=row["percentage"],
    )


async def overlapping_release(
    db: Executor, model: str, version: str, batches: Sequence[str], *, targeted: bool = False
) -> Release | None:
    """A live release of this image sharing a batch; with `targeted` (a selector release, whose
    devices cannot be compared by batch), any live release of this image."""
    row = await db.fetchrow(
        f"""SELECT {_RELEASE_COLUMNS} FROM firmware_releases
           WHERE model = $1 AND version = $2 AND state <> 'cancelled'
             AND ($4 OR selector IS NOT NULL OR batches && $3::text[])
           LIMIT 1""",
        model,
        version,
        list(batches),
        targeted,
    )
    return None if row is None else _release(row)


async def insert_release(
    db: Executor,
    *,
    release_id: UUID,
    model: str,
    version: str,
    batches: Sequence[str],
    failure_threshold_percent: float,
    min_finished: int,
    selector: dict[str, object] | None = None,
    percentage: int = 100,
) -> Release:
    row = await db.fetchrow(
        f"""INSERT INTO firmware_releases
               (release_id, model, version, batches, failure_threshold_percent, min_finished,
                selector, percentage)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
           RETURNING {_RELEASE_COLUMNS}""",
        release_id,
        model,
        version,
        list(batches),
        failure_threshold_percent,
        min_finished,
        selector,
        percentage,
    )
    return _release(row)


async def set_percentage(db: Executor, release_id: UUID, percentage: int) -> Release:
    """Of a release the caller holds locked (so it exists)."""
    row = await db.fetchrow(
        f"""UPDATE firmware_releases SET percentage = $2, updated_at = now()
            WHERE release_id = $1 RETURNING {_RELEASE_COLUMNS}""",
        release_id,
        percentage,
    )
    return _release(row)


async def get_release(
    db: Executor, release_id: UUID, *, for_update: bool = False
) -> Release | None:
    lock = " FOR UPDATE" if for_update else ""
    row = await db.fetchrow(
        f"SELECT {_RELEASE_COLUMNS} FROM firmware_releases WHERE release_id = $1{lock}",
        release_id,
    )
    return None if row is None else _release(row)


async def list_releases(
    db: Executor,
    *,
    model: str | None,
    state: str | None,
    after: UUID | None,
    limit: int,
) -> list[Release]:
    """Newest first; `after` is the last release of the previous page. Releases are few (one
    per rollout), so this reads the table without an index of its own."""
    rows = await db.fetch(
        f"""SELECT {_RELEASE_COLUMNS} FROM firmware_releases
           WHERE ($1::text IS NULL OR model = $1)
             AND ($2::text IS NULL OR state = $2)
             AND ($3::uuid IS NULL OR (created_at, release_id) <
                  (SELECT created_at, release_id FROM firmware_releases WHERE release_id = $3))
           ORDER BY created_at DESC, release_id DESC
           LIMIT $4""",
        model,
        state,
        after,
        limit,
    )
    return [_release(row) for row in rows]


async def set_release_state(
    db: Executor,
    release_id: UUID,
    *,
    state: str,
    pause_reason: str | None,
    auto_paused: bool,
    restart_evaluation: bool = False,
) -> Release:
    """Of a release the caller holds locked (so it exists)."""
    row = await db.fetchrow(
        f"""UPDATE firmware_releases
           SET state = $2, pause_reason = $3, auto_paused = $4, updated_at = now(),
               evaluated_since = CASE WHEN $5 THEN now() ELSE evaluated_since END
           WHERE release_id = $1
           RETURNING {_RELEASE_COLUMNS}""",
        release_id,
        state,
        pause_reason,
        auto_paused,
        restart_evaluation,
    )
    return _release(row)


async def auto_pause(db: Executor, release_id: UUID, reason: str) -> bool:
    """Pause an active release; False if it was no longer active (someone else acted first)."""
    done = await db.fetchval(
        """UPDATE firmware_releases
           SET state = 'paused', pause_reason = $2, auto_paused = true, updated_at = now()
           WHERE release_id = $1 AND state = 'active'
           RETURNING true""",
        release_id,
        reason,
    )
    return bool(done)


async def active_releases(
    db: Executor,
    *,
    model: str | None = None,
    version: str | None = None,
    batch: str | None = None,
    for_update: bool = False,
) -> list[Release]:
    # FOR UPDATE serialises evaluations of one release: the second waits for the first to
    # commit, then counts its report too, so two concurrent failures cannot both miss the
    # threshold.
    lock = " ORDER BY release_id FOR UPDATE" if for_update else ""
    rows = await db.fetch(
        f"""SELECT {_RELEASE_COLUMNS} FROM firmware_releases
           WHERE state = 'active'
             AND ($1::text IS NULL OR model = $1)
             AND ($2::text IS NULL OR version = $2)
             AND ($3::text IS NULL OR batches @> ARRAY[$3::text] OR selector IS NOT NULL){lock}""",
        model,
        version,
        batch,
    )
    return [_release(row) for row in rows]


@dataclass(frozen=True, slots=True)
class DeviceCounts:
    """Devices whose latest report for a version is each status (the operator API's
    `StatusCounts` reads these), and `stuck`: those of them in progress for too long."""

    downloading: int
    downloaded: int
    verifying: int
    applying: int
    completed: int
    failed: int
    stuck: int

    @property
    def reported(self) -> int:
        """Devices that reported this version at all (`stuck` are among them)."""
        return (
            self.downloading
            + self.downloaded
            + self.verifying
            + self.applying
            + self.completed
            + self.failed
        )


async def status_counts(
    db: Executor,
    *,
    model: str,
    version: str,
    batches: Sequence[str],
    stuck_before: datetime,
    since: datetime | None = None,
) -> DeviceCounts:
    """Devices at each latest status for this version, plus `stuck` (in progress since before
    `stuck_before`), among reports updated at or after `since`."""
    rows = await db.fetch(
        """SELECT status, count(*) AS devices,
                  count(*) FILTER (WHERE status = ANY($4::text[]) AND started_at < $5) AS stuck
           FROM ota_device_status
           WHERE model = $1 AND version = $2
             AND (cardinality($3::text[]) = 0 OR batch = ANY($3::text[]))
             AND ($6::timestamptz IS NULL OR updated_at >= $6)
           GROUP BY status""",
        model,
        version,
        list(batches),
        list(IN_PROGRESS),
        stuck_before,
        since,
    )
    devices: dict[str, int] = {row["status"]: row["devices"] for row in rows}
    return DeviceCounts(
        downloading=devices.get("downloading", 0),
        downloaded=devices.get("downloaded", 0),
        verifying=devices.get("verifying", 0),
        applying=devices.get("applying", 0),
        completed=devices.get("completed", 0),
        failed=devices.get("failed", 0),
        stuck=sum(row["stuck"] for row in rows),
    )


async def targeted_devices(db: Executor, release_id: UUID) -> int:
    """Active devices (that can update themselves) this release is offered to."""
    count: int = await db.fetchval(
        f"""SELECT count(*) FROM firmware_releases r JOIN devices d ON d.model = r.model
            WHERE r.release_id = $1 AND d.kind <> 'zigbee_sensor' AND d.status = 'active'
              AND {OFFERS}""",
        release_id,
    )
    return count


# Device status reports.


async def record_status(
    conn: asyncpg.Connection,
    *,
    device_id: UUID,
    model: str,
    batch: str,
    version: str,
    status: str,
    progress_percent: int | None,
    error_message: str | None,
) -> datetime:
    """Append to the history and update the latest status; the time it was recorded."""
    recorded_at: datetime = await conn.fetchval(
        """INSERT INTO ota_status_reports
               (device_id, version, status, progress_percent, error_message)
           VALUES ($1, $2, $3, $4, $5) RETURNING reported_at""",
        device_id,
        version,
        status,
        progress_percent,
        error_message,
    )
    # A new attempt starts when a device enters downloading…applying from a final status (or
    # for the first time); later in-progress reports keep the attempt's start time.
    await conn.execute(
        """INSERT INTO ota_device_status AS s
               (device_id, version, model, batch, status, progress_percent, error_message,
                started_at, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)
           ON CONFLICT (device_id, version) DO UPDATE SET
               status = EXCLUDED.status,
               progress_percent = EXCLUDED.progress_percent,
               error_message = EXCLUDED.error_message,
               updated_at = EXCLUDED.updated_at,
               started_at = CASE
                   WHEN s.status = ANY($9::text[]) THEN EXCLUDED.started_at
                   ELSE s.started_at END""",
        device_id,
        version,
        model,
        batch,
        status,
        progress_percent,
        error_message,
        recorded_at,
        list(FINAL),
    )
    return recorded_at
