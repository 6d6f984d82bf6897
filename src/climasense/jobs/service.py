"""Job rules (CONTRACT §11).

* The target set is fixed when the job is created: its commands are inserted in the creating
  transaction, one per device the selector matched then; devices added or re-tagged later are
  not included. Jobs reach devices that can receive commands (active standalone devices and
  hubs); Zigbee sensors have no link of their own.
* A settings job validates its merge patch once, before anything changes (422, nothing
  changed). Because the result must not depend on each device's current document, a
  `location` object in a job must carry both `latitude` and `longitude`; each device then gets
  the change (a new settings version) and a `config_update` carrying its whole new document,
  superseding the ones it has not fetched, exactly as `PATCH …/devices/{id}/settings` does.
* `factory_reset` is never sent by a job (it needs a per-device confirmation).
* Progress is counted from the job's commands; cancel cancels every one not yet answered.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, TypeAlias
from uuid import UUID, uuid4

import asyncpg
import orjson

from climasense.audit import Actor, record_audit
from climasense.commands.service import COMMAND_TYPES, PAYLOAD_LIMIT
from climasense.device_settings import document
from climasense.device_settings.service import BUILTIN_DEFAULTS
from climasense.devices import selectors
from climasense.devices.selectors import Selector
from climasense.errors import NotFound, ValidationFailed
from climasense.jobs import repository
from climasense.jobs.repository import CommandCounts, Job
from climasense.pagination import decode_cursor, split_page

SETTINGS_TTL_SECONDS = 86_400

JobState: TypeAlias = Literal["active", "completed", "cancelled"]


@dataclass(frozen=True, slots=True)
class JobProgress(Job):
    """A job with its state and its commands' counts, as operators see it (the API's `Job`
    and `JobCreated` read these attributes)."""

    state: JobState
    counts: CommandCounts


def _invalid(field: str, message: str, *, code: str | None = None) -> ValidationFailed:
    return ValidationFailed(message, code=code, details=[{"field": field, "message": message}])


def validate_settings_patch(patch: Any) -> dict[str, Any]:
    """The patch, checked once for every device (422 listing every bad field)."""
    if not isinstance(patch, dict) or not patch:
        raise _invalid("settings", "must be a non-empty merge patch of the settings document")
    merged = document.merge_patch(BUILTIN_DEFAULTS, patch).as_json()  # names every bad field
    checked: dict[str, Any] = {key: merged[key] for key in patch if key != "location"}
    if "location" in patch:
        location = patch["location"]
        # Keep the patch's nulls: they remove those members from each device's location.
        checked["location"] = (
            None
            if location is None
            else {
                key: (float(value) if key in ("latitude", "longitude") else value)
                for key, value in location.items()
            }
        )
    return checked


def _change(patch: dict[str, Any]) -> repository.SettingsChange:
    """What a checked patch (`validate_settings_patch`) does to each device's settings."""
    sensors = patch.get("enabled_sensors")
    return repository.SettingsChange(
        reporting_interval_seconds=patch.get("reporting_interval_seconds"),
        enabled_sensors=None if sensors is None else tuple(sensors),
        location=patch.get("location"),
        clear_location="location" in patch and patch["location"] is None,
        timezone=patch.get("timezone"),
    )


def _check_command(command_type: str, payload: dict[str, Any] | None) -> dict[str, Any]:
    if command_type == "factory_reset":
        raise _invalid(
            "command.type",
            "factory_reset cannot be sent by a job: it needs each device's serial number",
            code="confirmation_required",
        )
    if command_type not in COMMAND_TYPES:
        raise _invalid("command.type", f"must be one of {', '.join(COMMAND_TYPES)}")
    payload = payload or {}
    if command_type == "config_update" and payload:
        raise _invalid(
            "command.payload",
            "a config_update carries each device's settings document; send `settings` instead",
        )
    if len(orjson.dumps(payload)) > PAYLOAD_LIMIT:
        raise _invalid("command.payload", f"must be at most {PAYLOAD_LIMIT} bytes as JSON")
    return payload


def _state(job: Job, counts: CommandCounts) -> JobState:
    if job.cancelled:
        return "cancelled"
    return "active" if counts.unanswered else "completed"


def _progress(job: Job, counts: CommandCounts) -> JobProgress:
    return JobProgress(
        job_id=job.job_id,
        kind=job.kind,
        selector=job.selector,
        command_type=job.command_type,
        target_count=job.target_count,
        cancelled=job.cancelled,
        created_at=job.created_at,
        cancelled_at=job.cancelled_at,
        state=_state(job, counts),
        counts=counts,
    )


async def create_job(
    pool: asyncpg.Pool,
    selector: Selector,
    *,
    command_type: str | None,
    payload: dict[str, Any] | None,
    ttl_seconds: int,
    settings_patch: Any,
    operator: Actor,
) -> JobProgress:
    """Validate everything, then create the job and all its commands in one transaction."""
    selectors.require(selector)
    if (command_type is None) == (settings_patch is None):
        raise _invalid("command", "give exactly one of `command` and `settings`")
    patch: dict[str, Any] | None = None
    if command_type is None:
        patch = validate_settings_patch(settings_patch)
        kind, sent_type, ttl_seconds = "settings", "config_update", SETTINGS_TTL_SECONDS
        payload = {}
    else:
        payload = _check_command(command_type, payload)
        kind, sent_type = "command", command_type
    args: list[Any] = []

    def arg(value: Any) -> str:
        args.append(value)
        return f"${len(args)}"

    condition = selectors.where(selector, arg)
    job_id = uuid4()
    async with pool.acquire() as conn, conn.transaction():
        await repository.insert_job(
            conn,
            job_id=job_id,
            kind=kind,
            selector=selector.stored(),
            command_type=sent_type,
            payload=payload or None,
            settings_patch=patch,
            ttl_seconds=ttl_seconds,
        )
        if sent_type == "config_update":
            count = await repository.insert_config_updates(
                conn,
                job_id=job_id,
                condition=condition,
                args=args,
                ttl_seconds=ttl_seconds,
                change=None if patch is None else _change(patch),
            )
        else:
            count = await repository.insert_plain_commands(
                conn,
                job_id=job_id,
                condition=condition,
                args=args,
                command_type=sent_type,
                payload=payload,
                ttl_seconds=ttl_seconds,
            )
        await repository.set_target_count(conn, job_id, count)
        details: dict[str, Any] = {
            "kind": kind,
            "selector": selector.stored(),
            "target_count": count,
        }
        if patch is None:
            details["command_type"] = sent_type
        else:
            details["settings"] = patch
        await record_audit(conn, operator, "job.create", "job", job_id, details)
        job = await _job_of(conn, job_id)
        counts = await repository.counts(conn, job_id)
    return _progress(job, counts)


async def _job_of(conn: asyncpg.Connection, job_id: UUID, *, for_update: bool = False) -> Job:
    job = await repository.get_job(conn, job_id, for_update=for_update)
    if job is None:
        raise NotFound("Job not found")
    return job


async def get_job(pool: asyncpg.Pool, job_id: UUID) -> JobProgress:
    async with pool.acquire() as conn:
        job = await _job_of(conn, job_id)
        return _progress(job, await repository.counts(conn, job_id))


async def cancel_job(pool: asyncpg.Pool, job_id: UUID, *, operator: Actor) -> JobProgress:
    """Cancel every command of the job not yet acked/failed; again on a cancelled job: no-op."""
    async with pool.acquire() as conn, conn.transaction():
        job = await _job_of(conn, job_id, for_update=True)
        await repository.cancel(conn, job_id)
        if not job.cancelled:  # cancelling a cancelled job again is a no-op: no entry
            await record_audit(conn, operator, "job.cancel", "job", job_id, {"kind": job.kind})
        job = await _job_of(conn, job_id)
        counts = await repository.counts(conn, job_id)
    return _progress(job, counts)


async def list_jobs(
    pool: asyncpg.Pool, *, cursor: str | None, limit: int
) -> tuple[list[JobProgress], str | None]:
    """Newest first, a page at a time."""
    before = decode_cursor(cursor, UUID) if cursor else None
    listed = await repository.list_jobs(pool, before=before, limit=limit + 1)
    page, next_cursor = split_page(listed, limit, lambda row: (row[0].created_at, row[0].job_id))
    return [_progress(job, counts) for job, counts in page], next_cursor
