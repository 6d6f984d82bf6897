"""Alert rules and alerts for operators: validation, rule changes that take effect at once
(every evaluator reloads its rules when their version moves), listing and acknowledging."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg

from climasense.alerts import repository, rule_repository
from climasense.alerts.rules import SENSOR_TYPE_CODES, clear_threshold_problem
from climasense.errors import Conflict, NotFound, ValidationFailed
from climasense.pagination import decode_cursor, split_page
from climasense.webhooks.repository import enqueue_alert_events

_THRESHOLD_ONLY = ("sensor_type", "op", "threshold", "clear_threshold")


def _validate(rule: dict[str, Any]) -> None:
    details: list[dict[str, str]] = []
    if rule["kind"] == "threshold":
        for name in ("sensor_type", "op", "threshold"):
            if rule.get(name) is None:
                details.append({"field": name, "message": "required for a threshold rule"})
        clear = rule.get("clear_threshold")
        if clear is not None and rule.get("op") and rule.get("threshold") is not None:
            problem = clear_threshold_problem(rule["op"], rule["threshold"], clear)
            if problem:
                details.append({"field": "clear_threshold", "message": problem})
    else:
        for name in _THRESHOLD_ONLY:
            if rule.get(name) is not None:
                details.append({"field": name, "message": "not used by a device_offline rule"})
        if rule.get("for_seconds"):
            details.append({"field": "for_seconds", "message": "not used by a device_offline rule"})
    if rule.get("batch") is not None and rule.get("device_id") is not None:
        details.append({"field": "device_id", "message": "give batch or device_id, not both"})
    if details:
        raise ValidationFailed("Invalid alert rule", details=details)


def _to_columns(rule: dict[str, Any]) -> dict[str, Any]:
    columns = dict(rule)
    if columns.get("sensor_type") is not None:
        columns["sensor_type"] = SENSOR_TYPE_CODES[columns["sensor_type"]]
    return columns


async def create_rule(pool: asyncpg.Pool, rule: dict[str, Any]) -> dict[str, Any]:
    _validate(rule)
    async with pool.acquire() as conn, conn.transaction():
        if rule.get("device_id") is not None and not await rule_repository.device_exists(
            conn, rule["device_id"]
        ):
            raise ValidationFailed(
                "Invalid alert rule", details=[{"field": "device_id", "message": "no such device"}]
            )
        await rule_repository.lock_exclusive(conn)
        rule_id = await rule_repository.insert_rule(conn, _to_columns(rule))
        await rule_repository.bump_version(conn)
        row = await rule_repository.get_rule(conn, rule_id)
    return rule_repository.rule_document(row)


async def update_rule(pool: asyncpg.Pool, rule_id: UUID, patch: dict[str, Any]) -> dict[str, Any]:
    nulls = [name for name, value in patch.items() if value is None and name != "clear_threshold"]
    if nulls:
        raise ValidationFailed(
            "Invalid alert rule",
            details=[{"field": name, "message": "may not be null"} for name in nulls],
        )
    async with pool.acquire() as conn, conn.transaction():
        await rule_repository.lock_exclusive(conn)
        current = await rule_repository.get_rule(conn, rule_id)
        if current is None:
            raise NotFound("Alert rule not found")
        merged = {**rule_repository.rule_document(current), **patch}
        _validate(merged)
        if patch:
            await rule_repository.update_rule(conn, rule_id, _to_columns(patch))
            await rule_repository.bump_version(conn)
        row = await rule_repository.get_rule(conn, rule_id)
    return rule_repository.rule_document(row)


async def delete_rule(pool: asyncpg.Pool, rule_id: UUID) -> None:
    """Delete a rule; its unresolved alerts resolve now (and say so to the webhooks)."""
    async with pool.acquire() as conn, conn.transaction():
        await rule_repository.lock_exclusive(conn)
        if not await rule_repository.soft_delete(conn, rule_id):
            raise NotFound("Alert rule not found")
        resolved = await rule_repository.resolve_rule_alerts(conn, rule_id)
        await rule_repository.bump_version(conn)
        await enqueue_alert_events(conn, [("alert.resolved", a) for a in resolved])


async def get_rule(pool: asyncpg.Pool, rule_id: UUID) -> dict[str, Any]:
    row = await rule_repository.get_rule(pool, rule_id)
    if row is None:
        raise NotFound("Alert rule not found")
    return rule_repository.rule_document(row)


async def list_rules(
    pool: asyncpg.Pool, cursor: str | None, limit: int
) -> tuple[list[dict[str, Any]], str | None]:
    after = decode_cursor(cursor, UUID, kind="alert_rules") if cursor else None
    rows = await rule_repository.list_rules(pool, after, limit + 1)
    page, next_cursor = split_page(rows, limit, "created_at", "rule_id", kind="alert_rules")
    return [rule_repository.rule_document(r) for r in page], next_cursor


async def list_alerts(
    pool: asyncpg.Pool,
    *,
    state: str | None,
    device_id: UUID | None,
    severity: str | None,
    rule_id: UUID | None,
    cursor: str | None,
    limit: int,
) -> tuple[list[dict[str, Any]], str | None]:
    after = decode_cursor(cursor, UUID, kind="alerts") if cursor else None
    rows = await repository.list_alerts(
        pool,
        state=state,
        device_id=device_id,
        severity=severity,
        rule_id=rule_id,
        after=after,
        limit=limit + 1,
    )
    page, next_cursor = split_page(rows, limit, "opened_at", "alert_id", kind="alerts")
    return [repository.alert_document(r) for r in page], next_cursor


async def acknowledge(pool: asyncpg.Pool, alert_id: UUID) -> dict[str, Any]:
    """Acknowledge an open alert (idempotent); a resolved alert cannot be acknowledged (409)."""
    async with pool.acquire() as conn, conn.transaction():
        row = await repository.acknowledge(conn, alert_id)
    if row is None:
        raise NotFound("Alert not found")
    if row["state"] == "resolved":
        raise Conflict("Alert is already resolved", code="alert_resolved")
    return repository.alert_document(row)


async def unresolved_for_device(
    conn: asyncpg.Pool | asyncpg.Connection, device_id: UUID
) -> list[dict[str, Any]]:
    """Open and acknowledged alerts of a device (and, for a hub, of its sensors)."""
    return [
        repository.alert_document(r)
        for r in await repository.unresolved_for_device(conn, device_id)
    ]
