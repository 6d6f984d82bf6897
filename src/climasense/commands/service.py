"""Command rules: who may queue what, what a device sees, how its answers are recorded.

States: `pending` (never fetched) → `delivered` (fetched, unanswered; still returned on every
poll: at-least-once) → `acked` | `failed` (the device's answer, final). `cancelled` (operator,
or superseded by a newer settings document) and `expired` (past `expires_at`) end a command
that was never answered. A command is treated as expired as soon as `expires_at` passes, even
before the worker marks it.

A `config_update` carries the device's settings document and its ack records the version the
device applied: the settings are `device_settings`'s, which itself queues config_updates on a
change. So this module does not import it: the settings side is a `ConfigUpdates` the callers
pass in (`Services.config_updates`, built by the composition root).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID, uuid4

import asyncpg
import orjson

from climasense.audit import Actor, record_audit
from climasense.commands import repository
from climasense.commands.repository import Command, PendingCommand
from climasense.commands.schemas import CommandRequest
from climasense.errors import Conflict, NotFound, ValidationFailed
from climasense.pagination import decode_sequence, encode_sequence

COMMAND_TYPES = ("reboot", "config_update", "factory_reset", "diagnostics")
MAX_TTL_SECONDS = 86_400
PAYLOAD_LIMIT = 64 * 1024  # bytes of the payload / result as JSON
ERROR_MESSAGE_LIMIT = 4096  # characters
# Commands returned by one poll; the next ones follow as these are answered.
PENDING_LIMIT = 100
EXPIRY_BATCH = 10_000


@dataclass(frozen=True, slots=True)
class ConfigUpdate:
    """What a `config_update` carries: the settings document as JSON (stored as the command's
    payload as it is, so a JSON object by design) and the settings version it is."""

    document: dict[str, Any]
    version: int


class ConfigUpdates(Protocol):
    """The settings side of a `config_update` (implemented by `device_settings`). Both run on
    the caller's connection, inside its transaction."""

    async def current_document(
        self, conn: asyncpg.Connection, device_id: UUID
    ) -> ConfigUpdate | None:
        """The device's current settings document and its version, locked until the
        transaction ends; None for an unknown device."""
        ...

    async def record_applied(self, conn: asyncpg.Connection, device_id: UUID, version: int) -> None:
        """The device acked the config_update carrying settings `version`."""
        ...


def _json_size(value: Any) -> int:
    return len(orjson.dumps(value))


def _invalid(field: str, message: str, *, code: str | None = None) -> ValidationFailed:
    return ValidationFailed(message, code=code, details=[{"field": field, "message": message}])


async def send_command(
    pool: asyncpg.Pool,
    device_id: UUID,
    request: CommandRequest,
    *,
    operator: Actor,
    config_updates: ConfigUpdates,
) -> Command:
    """Queue a command. `config_update` carries the current settings document (change settings
    with PATCH …/settings; this re-sends them) and supersedes unfetched older ones."""
    command_type, ttl_seconds = request.type, request.ttl_seconds
    if command_type not in COMMAND_TYPES:
        raise _invalid("type", f"must be one of {', '.join(COMMAND_TYPES)}")
    if not 1 <= ttl_seconds <= MAX_TTL_SECONDS:
        raise _invalid("ttl_seconds", f"must be between 1 and {MAX_TTL_SECONDS}")
    payload = request.payload or {}
    if _json_size(payload) > PAYLOAD_LIMIT:
        raise _invalid("payload", f"must be at most {PAYLOAD_LIMIT} bytes as JSON")
    async with pool.acquire() as conn, conn.transaction():
        device = await repository.device_for_command(conn, device_id)
        if device is None:
            raise NotFound("Device not found")
        if device.kind == "zigbee_sensor":
            raise _invalid("device_id", "a Zigbee sensor has no link to receive commands on")
        if command_type == "factory_reset" and request.confirm != device.serial_number:
            raise _invalid(
                "confirm",
                "factory_reset erases the device: send confirm equal to its serial number",
                code="confirmation_required",
            )
        command_id = uuid4()
        settings_version = None
        if command_type == "config_update":
            if payload:
                raise _invalid(
                    "payload",
                    "a config_update carries the current settings document; change settings "
                    "with PATCH /admin/v1/devices/{id}/settings",
                )
            current = await config_updates.current_document(conn, device_id)
            if current is None:
                raise NotFound("Device not found")
            payload, settings_version = current.document, current.version
            await repository.supersede_config_updates(conn, device_id, command_id)
        command = await repository.insert_command(
            conn,
            command_id=command_id,
            device_id=device_id,
            command_type=command_type,
            payload=payload,
            ttl_seconds=ttl_seconds,
            settings_version=settings_version,
        )
        await record_audit(
            conn,
            operator,
            "command.send",
            "command",
            command_id,
            {"device_id": device_id, "type": command_type, "ttl_seconds": ttl_seconds},
        )
    return command


async def pending_commands(pool: asyncpg.Pool, device_id: UUID) -> list[PendingCommand]:
    return await repository.fetch_pending(pool, device_id, PENDING_LIMIT)


@dataclass(frozen=True, slots=True)
class Ack:
    command_id: UUID
    status: str
    result: dict[str, Any] | None
    error_message: str | None


def without_nul(value: Any) -> Any:
    """`value` with U+0000 replaced by U+FFFD in every string and member name: PostgreSQL
    stores the character in neither `text` nor `jsonb`, and an answer is worth recording."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, dict):
        return {without_nul(k): without_nul(v) for k, v in value.items()}
    if isinstance(value, list):
        return [without_nul(item) for item in value]
    return value


def parse_ack(body: Any) -> Ack:
    """Validate `POST /v1/commands/ack`. Unknown extra fields are ignored, and U+0000 in
    `result` or `error_message` is stored as U+FFFD: refusing an answer would leave the command
    live and have the device execute it again."""
    if not isinstance(body, dict):
        raise _invalid("body", "must be a JSON object")
    details: list[dict[str, str]] = []
    command_id: UUID | None = None
    raw_id = body.get("command_id")
    if not isinstance(raw_id, str):
        details.append({"field": "command_id", "message": "is required (a UUID string)"})
    else:
        try:
            command_id = UUID(raw_id)
        except ValueError:
            details.append({"field": "command_id", "message": "must be a UUID"})
    status = body.get("status")
    if status not in ("acked", "failed"):
        details.append({"field": "status", "message": "must be acked or failed"})
    # `error_message` and `result` are left out when there is nothing to say: the contract's
    # schema has no `null` for them (a null is refused like any other wrong type).
    error_message = body.get("error_message")
    if "error_message" in body and (
        not isinstance(error_message, str) or len(error_message) > ERROR_MESSAGE_LIMIT
    ):
        details.append(
            {
                "field": "error_message",
                "message": f"must be a string of at most {ERROR_MESSAGE_LIMIT} characters",
            }
        )
    result = body.get("result")
    if "result" in body:
        if not isinstance(result, dict):
            details.append({"field": "result", "message": "must be a JSON object"})
        elif (size := _json_size(result)) > PAYLOAD_LIMIT:
            details.append(
                {
                    "field": "result",
                    "message": f"is {size} bytes as JSON; at most {PAYLOAD_LIMIT} are stored",
                }
            )
    if details or command_id is None:
        raise ValidationFailed("Acknowledgement is invalid", details=details)
    return Ack(command_id, str(status), without_nul(result), without_nul(error_message))


async def acknowledge(
    pool: asyncpg.Pool, device_id: UUID, ack: Ack, *, config_updates: ConfigUpdates
) -> datetime:
    """Record the device's answer; return when it was recorded (the first time, on a repeat)."""
    answered_at: datetime | None = None
    async with pool.acquire() as conn, conn.transaction():
        command = await repository.lock_command(conn, ack.command_id, device_id)
        if command is None:  # unknown, or another device's: the same answer for both
            raise NotFound("Command not found")
        status = command.status
        if status == "cancelled":
            raise Conflict("Command was cancelled", code="command_cancelled")
        if status in ("acked", "failed"):
            if status != ack.status:
                raise Conflict(f"Command was already answered {status}")
            previous = command.acked_at or command.failed_at
            assert previous is not None  # an answered command has its answer's time
            return previous
        if status == "expired" or command.past_expiry:
            await repository.mark_expired(conn, ack.command_id)
        else:
            answered_at = await repository.record_answer(
                conn,
                ack.command_id,
                status=ack.status,
                result=ack.result,
                error_message=ack.error_message,
            )
            version = command.settings_version
            if command.type == "config_update" and ack.status == "acked" and version:
                await config_updates.record_applied(conn, device_id, version)
    if answered_at is None:  # expired: raised after the commit, which keeps the mark
        raise Conflict("Command has expired", code="command_expired")
    return answered_at


async def cancel_command(pool: asyncpg.Pool, command_id: UUID, *, operator: Actor) -> Command:
    """Cancel a command not yet answered. Cancelling a cancelled one again is a no-op."""
    async with pool.acquire() as conn, conn.transaction():
        command = await repository.lock_command(conn, command_id)
        if command is None:
            raise NotFound("Command not found")
        status = command.status
        if status in ("acked", "failed"):
            raise Conflict(f"Command was already answered {status}")
        if status == "expired" or (status != "cancelled" and command.past_expiry):
            raise Conflict("Command has expired", code="command_expired")
        if status != "cancelled":
            await repository.cancel(conn, command_id)
            await record_audit(
                conn,
                operator,
                "command.cancel",
                "command",
                command_id,
                {"device_id": command.device_id, "type": command.type},
            )
        cancelled = await repository.get_command(conn, command_id)
    assert cancelled is not None  # locked above, in this transaction
    return cancelled


async def command_history(
    pool: asyncpg.Pool, device_id: UUID, *, cursor: str | None, limit: int
) -> tuple[list[Command], str | None]:
    """The device's commands, newest first, a page at a time."""
    before = None if cursor is None else decode_sequence("commands", cursor)
    if not await repository.device_exists(pool, device_id):
        raise NotFound("Device not found")
    commands = await repository.history(pool, device_id, before=before, limit=limit + 1)
    next_cursor = (
        encode_sequence("commands", commands[limit - 1].seq) if len(commands) > limit else None
    )
    return commands[:limit], next_cursor


async def expire_due(conn: asyncpg.Connection) -> int:
    """Mark live commands past their expiry as expired (the worker's job)."""
    return await repository.expire_due(conn, EXPIRY_BATCH)
