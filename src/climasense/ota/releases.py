"""Staged rollouts: a release offers one image to some batches of its model, can be paused,
resumed or cancelled, and pauses itself when too many of its devices fail.

Failure rate = failed / finished, where finished = completed + failed, and a device stuck in
downloading…applying for longer than `ota_stuck_seconds` counts as failed. A release with at
least `min_finished` finished devices and a rate above its threshold pauses itself, saying why.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

import asyncpg

from climasense import pagination
from climasense.audit import Actor, record_audit
from climasense.devices import selectors
from climasense.devices.selectors import Selector
from climasense.errors import Conflict, NotFound, ValidationFailed
from climasense.ota import repository
from climasense.ota.firmware import get_firmware
from climasense.ota.repository import DeviceCounts, Release
from climasense.settings import Settings

_BATCH = re.compile(r"\A.{1,200}\Z", re.DOTALL)
MAX_BATCHES = 1000


def stuck_before(settings: Settings, now: datetime | None = None) -> datetime:
    return (now or datetime.now(UTC)) - timedelta(seconds=settings.ota_stuck_seconds)


def failure_rate(counts: DeviceCounts) -> tuple[int, int, float | None]:
    """(finished, failed, percent failed) with stuck devices counted as failed."""
    failed = counts.failed + counts.stuck
    finished = counts.completed + failed
    return finished, failed, (100.0 * failed / finished) if finished else None


@dataclass(frozen=True, slots=True)
class ReleaseProgress(Release):
    """A release with its devices' progress, as operators see it (the API's `Release` reads
    these attributes)."""

    status_counts: DeviceCounts
    stuck: int
    devices_targeted: int
    devices_not_started: int
    finished: int
    failed_including_stuck: int
    failure_rate_percent: float | None


def _check_batches(batches: Sequence[str], *, targeted: bool = False) -> list[str]:
    unique = list(dict.fromkeys(batches))
    problems = [
        {"field": f"batches[{i}]", "message": "must be 1-200 characters"}
        for i, batch in enumerate(unique)
        if not _BATCH.match(batch)
    ]
    if (not unique and not targeted) or len(unique) > MAX_BATCHES:
        problems.append({"field": "batches", "message": f"1 to {MAX_BATCHES} batches"})
    if problems:
        raise ValidationFailed("Invalid batches", details=problems)
    return unique


async def create(
    pool: asyncpg.Pool,
    settings: Settings,
    *,
    model: str,
    version: str,
    batches: Sequence[str],
    failure_threshold_percent: float | None,
    operator: Actor,
    selector: Selector | None = None,
    percentage: int = 100,
) -> ReleaseProgress:
    """A release offers the image to devices of its model in `batches` (when given) that match
    `selector` (when given), `percentage` of them by their stable rollout bucket."""
    if selector is not None:
        selectors.require(selector, "selector")
    batches = _check_batches(batches, targeted=selector is not None)
    threshold = (
        settings.ota_failure_threshold_percent
        if failure_threshold_percent is None
        else failure_threshold_percent
    )
    async with pool.acquire() as conn, conn.transaction():
        await get_firmware(conn, model, version)
        # Serialise releases of one image so two overlapping ones cannot both be created.
        await conn.execute(
            "SELECT 1 FROM firmware WHERE model = $1 AND version = $2 FOR UPDATE", model, version
        )
        overlap = await repository.overlapping_release(
            conn, model, version, batches, targeted=selector is not None
        )
        if overlap is not None:
            shared = sorted(set(overlap.batches) & set(batches)) or ["its devices"]
            raise Conflict(
                f"Release {overlap.release_id} already offers {version} to {', '.join(shared)}; "
                "resume, widen or cancel it instead",
                code="release_exists",
            )
        release = await repository.insert_release(
            conn,
            release_id=uuid.uuid4(),
            model=model,
            version=version,
            batches=batches,
            failure_threshold_percent=threshold,
            min_finished=settings.ota_min_finished,
            selector=None if selector is None else selector.stored(),
            percentage=percentage,
        )
        await record_audit(
            conn,
            operator,
            "release.create",
            "release",
            release.release_id,
            {
                "model": model,
                "version": version,
                "batches": batches,
                "failure_threshold_percent": threshold,
            },
        )
    return await progress(pool, settings, release)


async def widen(
    pool: asyncpg.Pool,
    settings: Settings,
    release_id: UUID,
    *,
    percentage: int,
    operator: Actor,
) -> ReleaseProgress:
    """Raise the release's percentage: the devices already offered it keep it (their buckets
    stay below) and more are added. Lowering it → 422: devices may already be updating."""
    async with pool.acquire() as conn, conn.transaction():
        release = await _release_of(conn, release_id, None, None)
        before = release.percentage
        if percentage < before:
            raise ValidationFailed(
                f"A release is widened, never narrowed: it is at {before} %",
                details=[{"field": "percentage", "message": f"must be at least {before}"}],
            )
        if percentage != before:  # the same percentage again is a no-op: no entry
            release = await repository.set_percentage(conn, release_id, percentage)
            await record_audit(
                conn,
                operator,
                "release.update",
                "release",
                release_id,
                {
                    "model": release.model,
                    "version": release.version,
                    "percentage": {"from": before, "to": percentage},
                },
            )
    return await progress(pool, settings, release)


async def _release_of(
    conn: asyncpg.Connection, release_id: UUID, model: str | None, version: str | None
) -> Release:
    release = await repository.get_release(conn, release_id, for_update=True)
    if release is None or (
        model is not None and (release.model, release.version) != (model, version)
    ):
        raise NotFound("Release not found")
    return release


async def _audit_state(
    conn: asyncpg.Connection, operator: Actor, action: str, release: Release
) -> None:
    await record_audit(
        conn,
        operator,
        action,
        "release",
        release.release_id,
        {"model": release.model, "version": release.version},
    )


async def pause(
    pool: asyncpg.Pool,
    settings: Settings,
    release_id: UUID,
    *,
    operator: Actor,
    model: str | None = None,
    version: str | None = None,
) -> ReleaseProgress:
    async with pool.acquire() as conn, conn.transaction():
        release = await _release_of(conn, release_id, model, version)
        if release.state == "cancelled":
            raise Conflict("The release is cancelled", code="release_cancelled")
        if release.state == "active":
            release = await repository.set_release_state(
                conn,
                release_id,
                state="paused",
                pause_reason="Paused by an operator",
                auto_paused=False,
            )
            await _audit_state(conn, operator, "release.pause", release)
    return await progress(pool, settings, release)


async def resume(
    pool: asyncpg.Pool,
    settings: Settings,
    release_id: UUID,
    *,
    operator: Actor,
    model: str | None = None,
    version: str | None = None,
) -> ReleaseProgress:
    async with pool.acquire() as conn, conn.transaction():
        release = await _release_of(conn, release_id, model, version)
        if release.state == "cancelled":
            raise Conflict("A cancelled release cannot be resumed", code="release_cancelled")
        if release.state == "paused":
            release = await repository.set_release_state(
                conn,
                release_id,
                state="active",
                pause_reason=None,
                auto_paused=False,
                restart_evaluation=True,
            )
            await _audit_state(conn, operator, "release.resume", release)
    return await progress(pool, settings, release)


async def cancel(
    pool: asyncpg.Pool,
    settings: Settings,
    release_id: UUID,
    *,
    operator: Actor,
    model: str | None = None,
    version: str | None = None,
) -> ReleaseProgress:
    async with pool.acquire() as conn, conn.transaction():
        release = await _release_of(conn, release_id, model, version)
        if release.state != "cancelled":
            release = await repository.set_release_state(
                conn,
                release_id,
                state="cancelled",
                pause_reason=release.pause_reason,
                auto_paused=release.auto_paused,
            )
            await _audit_state(conn, operator, "release.cancel", release)
    return await progress(pool, settings, release)


async def get(pool: asyncpg.Pool, settings: Settings, release_id: UUID) -> ReleaseProgress:
    release = await repository.get_release(pool, release_id)
    if release is None:
        raise NotFound("Release not found")
    return await progress(pool, settings, release)


async def list_releases(
    pool: asyncpg.Pool,
    settings: Settings,
    *,
    model: str | None,
    state: str | None,
    cursor: str | None,
    limit: int,
) -> tuple[list[ReleaseProgress], str | None]:
    """A page of releases, newest first, each with its counts; the cursor is the last id."""
    after = None
    if cursor is not None:
        named = pagination.verify("releases", cursor)
        try:
            after = UUID(named) if isinstance(named, str) else None
        except ValueError:
            after = None
        if after is None:
            raise pagination.invalid_cursor()
    listed = await repository.list_releases(
        pool, model=model, state=state, after=after, limit=limit + 1
    )
    next_cursor = (
        pagination.sign("releases", str(listed[limit - 1].release_id))
        if len(listed) > limit
        else None
    )
    return [await progress(pool, settings, release) for release in listed[:limit]], next_cursor


async def progress(
    db: asyncpg.Pool | asyncpg.Connection, settings: Settings, release: Release
) -> ReleaseProgress:
    counts = await repository.status_counts(
        db,
        model=release.model,
        version=release.version,
        batches=release.batches,
        stuck_before=stuck_before(settings),
    )
    finished, failed, rate = failure_rate(counts)
    targeted = await repository.targeted_devices(db, release.release_id)
    return ReleaseProgress(
        release_id=release.release_id,
        model=release.model,
        version=release.version,
        batches=release.batches,
        state=release.state,
        failure_threshold_percent=release.failure_threshold_percent,
        min_finished=release.min_finished,
        pause_reason=release.pause_reason,
        auto_paused=release.auto_paused,
        evaluated_since=release.evaluated_since,
        created_at=release.created_at,
        updated_at=release.updated_at,
        selector=release.selector,
        percentage=release.percentage,
        status_counts=counts,
        stuck=counts.stuck,
        devices_targeted=targeted,
        devices_not_started=max(0, targeted - counts.reported),
        finished=finished,
        failed_including_stuck=failed,
        failure_rate_percent=None if rate is None else round(rate, 2),
    )


async def evaluate(conn: asyncpg.Connection, settings: Settings, release: Release) -> str | None:
    """Pause `release` if its failure rate crossed its threshold; the reason if it did."""
    counts = await repository.status_counts(
        conn,
        model=release.model,
        version=release.version,
        batches=release.batches,
        stuck_before=stuck_before(settings),
        since=release.evaluated_since,
    )
    finished, failed, rate = failure_rate(counts)
    threshold = release.failure_threshold_percent
    if rate is None or finished < release.min_finished or rate <= threshold:
        return None
    stuck = f", {counts.stuck} of them stuck in progress" if counts.stuck else ""
    reason = (
        f"Paused automatically: {failed} of {finished} finished devices failed{stuck} "
        f"({rate:.1f} % > {threshold:g} % threshold)"
    )
    if await repository.auto_pause(conn, release.release_id, reason):
        return reason
    return None


async def evaluate_for_device(
    conn: asyncpg.Connection, settings: Settings, *, model: str, version: str, batch: str
) -> None:
    for release in await repository.active_releases(
        conn, model=model, version=version, batch=batch, for_update=True
    ):
        await evaluate(conn, settings, release)


async def evaluate_all(conn: asyncpg.Connection, settings: Settings) -> list[UUID]:
    """Evaluate every active release (stuck devices turn into failures with time alone)."""
    paused: list[UUID] = []
    for release in await repository.active_releases(conn, for_update=True):
        if await evaluate(conn, settings, release) is not None:
            paused.append(release.release_id)
    return paused
