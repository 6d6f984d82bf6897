"""Settings rules: reading the document, changing it by merge patch (device or operator), and
the per-model defaults new devices start with.

A change runs in one transaction that locks the device's settings row, so concurrent changes
are applied one after the other: with the same `If-Match`, exactly one succeeds and the others
see the new version and get 412. An operator's change queues a `config_update` carrying the
new document in the same transaction, superseding the older ones the device has not fetched.
"""

from __future__ import annotations

import re
from typing import Any, Literal
from uuid import UUID, uuid4

import asyncpg

from climasense.audit import Actor as AuditActor
from climasense.audit import record_audit
from climasense.commands import repository as commands
from climasense.commands.service import ConfigUpdate
from climasense.device_settings import document, repository
from climasense.device_settings.document import Settings, SettingsDocument
from climasense.device_settings.repository import ModelDefaults
from climasense.errors import NotFound, PreconditionFailed

Actor = Literal["device", "operator"]

CONFIG_UPDATE_TTL_SECONDS = 86_400
_ETAG = re.compile(r'^"(\d{1,10})"$')

# What a device gets when its model has no defaults (and for each field its model leaves unset).
BUILTIN_DEFAULTS = Settings(
    reporting_interval_seconds=300, enabled_sensors=(), location=None, timezone="UTC"
)


def etag(version: int) -> str:
    return f'"{version}"'


class SettingsConfigUpdates:
    """The settings side of a `config_update` (`commands.service.ConfigUpdates`): the document
    a config_update carries, and the version a device's ack says it applied."""

    async def current_document(
        self, conn: asyncpg.Connection, device_id: UUID
    ) -> ConfigUpdate | None:
        # The command payload is the document's JSON: commands stores it as it is.
        locked = await repository.lock_settings(conn, device_id)
        if locked is None:
            return None
        return ConfigUpdate(locked.document.as_json(), locked.document.version)

    async def record_applied(self, conn: asyncpg.Connection, device_id: UUID, version: int) -> None:
        await repository.record_applied_version(conn, device_id, version)


def check_if_match(if_match: str | None, version: int) -> None:
    """412 unless `If-Match` is absent, `*`, or lists the current version's ETag.

    If-Match uses strong comparison (RFC 9110 §13.1.1), so a weak tag `W/"7"` never matches;
    neither does anything that is not an ETag this API issued (e.g. an unquoted `7`).
    """
    if if_match is None:
        return
    tags = [tag.strip() for tag in if_match.split(",")]
    if "*" in tags:
        return
    for tag in tags:
        found = _ETAG.match(tag)
        if found and int(found.group(1)) == version:
            return
    raise PreconditionFailed(
        f"Settings have changed since {if_match.strip()}; the current ETag is {etag(version)}"
    )


async def settings_document(pool: asyncpg.Pool, device_id: UUID) -> SettingsDocument:
    found = await repository.get_settings(pool, device_id)
    if found is None:
        raise NotFound("Device not found")
    return found


async def patch_settings(
    pool: asyncpg.Pool,
    device_id: UUID,
    patch: Any,
    *,
    if_match: str | None,
    actor: Actor,
    operator: AuditActor | None = None,
) -> SettingsDocument:
    """Apply a JSON Merge Patch (as received); return the whole (possibly unchanged) document. An operator's
    change (`actor="operator"`) names the `operator` for the audit trail."""
    if actor != "device" and operator is None:
        raise ValueError("an operator's settings change needs the operator (audit trail)")
    async with pool.acquire() as conn, conn.transaction():
        locked = await repository.lock_settings(conn, device_id)
        if locked is None:
            raise NotFound("Device not found")
        current = locked.document
        # Validate before the precondition: a patch that can never apply is told why (422),
        # not sent to re-read the settings and retry the same broken body (412).
        merged = document.merge_patch(current.settings, patch)
        check_if_match(if_match, current.version)
        if merged == current.settings:
            return current  # `{}` or values equal to the current ones: no change, no new version
        version = await repository.write_settings(
            conn, device_id, merged, applied_by_device=actor == "device"
        )
        new_document = SettingsDocument(settings=merged, version=version)
        if actor == "device":
            # The device has the whole new document in this response: config_updates it has not
            # fetched yet carry older documents and would only undo its change.
            await commands.supersede_config_updates(conn, device_id, None)
        elif locked.kind != "zigbee_sensor":  # a sensor has no link to receive commands on
            command_id = uuid4()
            await commands.supersede_config_updates(conn, device_id, command_id)
            await commands.insert_command(
                conn,
                command_id=command_id,
                device_id=device_id,
                command_type="config_update",
                payload=new_document.as_json(),
                ttl_seconds=CONFIG_UPDATE_TTL_SECONDS,
                settings_version=version,
            )
        if operator is not None and actor != "device":
            changed = merged.changes_from(current.settings)
            await record_audit(
                conn,
                operator,
                "settings.update",
                "device",
                device_id,
                {"version": version, "changed": changed},
            )
        return new_document


async def get_model_defaults(pool: asyncpg.Pool, model: str) -> ModelDefaults:
    found = await repository.get_model_defaults(pool, model)
    if found is None:
        raise NotFound("No settings defaults for this model")
    return found


async def put_model_defaults(
    pool: asyncpg.Pool, model: str, defaults: Any, *, operator: AuditActor
) -> ModelDefaults:
    """Replace the model's defaults: the fields given (validated like a settings patch); the
    others fall back to the built-in defaults. Applies to devices provisioned from now on."""
    merged = document.merge_patch(BUILTIN_DEFAULTS, defaults)  # 422 listing every bad field
    given = frozenset(defaults)  # merge_patch refused any key that is not a writable field
    details = {key: value for key, value in merged.as_json().items() if key in given}
    async with pool.acquire() as conn, conn.transaction():
        stored = await repository.put_model_defaults(conn, model, merged, given)
        await record_audit(conn, operator, "settings_defaults.update", "model", model, details)
    return stored


async def delete_model_defaults(pool: asyncpg.Pool, model: str, *, operator: AuditActor) -> None:
    async with pool.acquire() as conn, conn.transaction():
        if not await repository.delete_model_defaults(conn, model):
            raise NotFound("No settings defaults for this model")
        await record_audit(conn, operator, "settings_defaults.delete", "model", model)
