"""Alert rules and alerts for operators: validation, rule changes that take effect at once
(every evaluator reloads its rules when their version moves), listing and acknowledging."""

from __future__ import annotations

import dataclasses
from typing import Protocol
from uuid import UUID

import asyncpg

from climasense.alerts import repository, rule_repository
from climasense.alerts.notify import enqueue_alert_events
from climasense.alerts.repository import Alert
from climasense.alerts.rules import Rule, clear_threshold_problem
from climasense.alerts.schemas import RuleCreate, RulePatch
from climasense.audit import Actor, record_audit
from climasense.errors import Conflict, NotFound, ValidationFailed
from climasense.pagination import decode_cursor, split_page

_THRESHOLD_ONLY = ("sensor_type", "op", "threshold", "clear_threshold")


class RuleFields(Protocol):
    """What validation reads of a rule: a new one (`RuleCreate`) or a patched one (`Rule`)."""

    @property
    def kind(self) -> str: ...
    @property
    def sensor_type(self) -> str | None: ...
    @property
    def op(self) -> str | None: ...
    @property
    def threshold(self) -> float | None: ...
    @property
    def clear_threshold(self) -> float | None: ...
    @property
    def for_seconds(self) -> int: ...
    @property
    def batch(self) -> str | None: ...
    @property
    def device_id(self) -> UUID | None: ...


def _validate(rule: RuleFields) -> None:
    details: list[dict[str, str]] = []
    if rule.kind == "threshold":
        for name in ("sensor_type", "op", "threshold"):
            if getattr(rule, name) is None:
                details.append({"field": name, "message": "required for a threshold rule"})
        clear = rule.clear_threshold
        if clear is not None and rule.op and rule.threshold is not None:
            problem = clear_threshold_problem(rule.op, rule.threshold, clear)
            if problem:
                details.append({"field": "clear_threshold", "message": problem})
    else:
        for name in _THRESHOLD_ONLY:
            if getattr(rule, name) is not None:
                details.append({"field": name, "message": "not used by a device_offline rule"})
        if rule.for_seconds:
            details.append({"field": "for_seconds", "message": "not used by a device_offline rule"})
    if rule.batch is not None and rule.device_id is not None:
        details.append({"field": "device_id", "message": "give batch or device_id, not both"})
    if details:
        raise ValidationFailed("Invalid alert rule", details=details)


async def create_rule(pool: asyncpg.Pool, rule: RuleCreate, *, operator: Actor) -> Rule:
    _validate(rule)
    async with pool.acquire() as conn, conn.transaction():
        if rule.device_id is not None and not await rule_repository.device_exists(
            conn, rule.device_id
        ):
            raise ValidationFailed(
                "Invalid alert rule", details=[{"field": "device_id", "message": "no such device"}]
            )
        await rule_repository.lock_exclusive(conn)
        rule_id = await rule_repository.insert_rule(conn, rule)
        await rule_repository.bump_version(conn)
        created = await rule_repository.get_rule(conn, rule_id)
        await record_audit(
            conn, operator, "rule.create", "rule", rule_id, rule.model_dump(mode="json")
        )
    assert created is not None  # inserted in this transaction
    return created


async def update_rule(
    pool: asyncpg.Pool, rule_id: UUID, patch: RulePatch, *, operator: Actor
) -> Rule:
    """Apply the fields `patch` sets (merge-patch); only `clear_threshold` may be set to null."""
    changes = {name: getattr(patch, name) for name in patch.model_fields_set}
    nulls = [name for name, value in changes.items() if value is None and name != "clear_threshold"]
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
        _validate(dataclasses.replace(current, **changes))
        if changes:
            await rule_repository.update_rule(conn, rule_id, patch)
            await rule_repository.bump_version(conn)
            await record_audit(
                conn,
                operator,
                "rule.update",
                "rule",
                rule_id,
                patch.model_dump(mode="json", include=patch.model_fields_set),
            )
        updated = await rule_repository.get_rule(conn, rule_id)
    assert updated is not None  # locked and live in this transaction
    return updated


async def delete_rule(pool: asyncpg.Pool, rule_id: UUID, *, operator: Actor) -> None:
    """Delete a rule; its unresolved alerts resolve now (and say so to the webhooks)."""
    async with pool.acquire() as conn, conn.transaction():
        await rule_repository.lock_exclusive(conn)
        if not await rule_repository.soft_delete(conn, rule_id):
            raise NotFound("Alert rule not found")
        resolved = await rule_repository.resolve_rule_alerts(conn, rule_id)
        await rule_repository.bump_version(conn)
        await enqueue_alert_events(conn, [("alert.resolved", a) for a in resolved])
        await record_audit(
            conn, operator, "rule.delete", "rule", rule_id, {"resolved_alerts": len(resolved)}
        )


async def get_rule(pool: asyncpg.Pool, rule_id: UUID) -> Rule:
    rule = await rule_repository.get_rule(pool, rule_id)
    if rule is None:
        raise NotFound("Alert rule not found")
    return rule


async def list_rules(
    pool: asyncpg.Pool, cursor: str | None, limit: int
) -> tuple[list[Rule], str | None]:
    after = decode_cursor(cursor, UUID, kind="alert_rules") if cursor else None
    rules = await rule_repository.list_rules(pool, after, limit + 1)
    return split_page(rules, limit, lambda r: (r.created_at, r.rule_id), kind="alert_rules")


async def list_alerts(
    pool: asyncpg.Pool,
    *,
    state: str | None,
    device_id: UUID | None,
    severity: str | None,
    rule_id: UUID | None,
    cursor: str | None,
    limit: int,
) -> tuple[list[Alert], str | None]:
    after = decode_cursor(cursor, UUID, kind="alerts") if cursor else None
    alerts = await repository.list_alerts(
        pool,
        state=state,
        device_id=device_id,
        severity=severity,
        rule_id=rule_id,
        after=after,
        limit=limit + 1,
    )
    return split_page(alerts, limit, lambda a: (a.opened_at, a.alert_id), kind="alerts")


async def acknowledge(pool: asyncpg.Pool, alert_id: UUID, *, operator: Actor) -> Alert:
    """Acknowledge an open alert (idempotent); a resolved alert cannot be acknowledged (409)."""
    async with pool.acquire() as conn, conn.transaction():
        was = await conn.fetchval(
            "SELECT state FROM alerts WHERE alert_id = $1 FOR UPDATE", alert_id
        )
        alert = await repository.acknowledge(conn, alert_id)
        if was == "open" and alert is not None and alert.state == "acknowledged":
            await record_audit(
                conn,
                operator,
                "alert.acknowledge",
                "alert",
                alert_id,
                {"device_id": alert.device_id, "rule_id": alert.rule_id},
            )
    if alert is None:
        raise NotFound("Alert not found")
    if alert.state == "resolved":
        raise Conflict("Alert is already resolved", code="alert_resolved")
    return alert


async def unresolved_for_device(
    conn: asyncpg.Pool | asyncpg.Connection, device_id: UUID
) -> list[Alert]:
    """Open and acknowledged alerts of a device (and, for a hub, of its sensors)."""
    return await repository.unresolved_for_device(conn, device_id)
