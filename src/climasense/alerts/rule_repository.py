"""SQL for alert rules.

Rule changes and evaluation batches are serialised by one advisory lock: an evaluation batch
holds it shared, a rule change exclusively. So a batch never opens an alert for a rule deleted
after the batch started, and never keeps series state computed under a rule's old definition.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import asyncpg

from climasense.alerts.rules import SENSOR_TYPE_CODES, Rule
from climasense.alerts.schemas import RuleCreate, RulePatch

RULES_LOCK_KEY = 0x616C727473  # "alrts"

RULE_COLUMNS = """
    r.rule_id, r.name, r.kind, st.name AS sensor_type, r.op, r.threshold, r.clear_threshold, r.for_seconds, r.severity, r.batch, r.device_id,
    r.created_at, r.updated_at
"""
_RULE_FROM = "alert_rules r LEFT JOIN sensor_types st ON st.code = r.sensor_type"


def rule_from_row(row: asyncpg.Record) -> Rule:
    return Rule(
        rule_id=row["rule_id"],
        name=row["name"],
        kind=row["kind"],
        sensor_type=row["sensor_type"],
        op=row["op"],
        threshold=row["threshold"],
        clear_threshold=row["clear_threshold"],
        for_seconds=row["for_seconds"],
        severity=row["severity"],
        batch=row["batch"],
        device_id=row["device_id"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


async def lock_shared(conn: asyncpg.Connection) -> None:
    await conn.execute("SELECT pg_advisory_xact_lock_shared($1)", RULES_LOCK_KEY)


async def lock_exclusive(conn: asyncpg.Connection) -> None:
    await conn.execute("SELECT pg_advisory_xact_lock($1)", RULES_LOCK_KEY)


async def version(conn: asyncpg.Connection) -> int:
    return await conn.fetchval("SELECT version FROM alert_rules_version")


async def bump_version(conn: asyncpg.Connection) -> None:
    await conn.execute("UPDATE alert_rules_version SET version = version + 1")


async def live_rules(conn: asyncpg.Connection) -> list[Rule]:
    rows = await conn.fetch(f"SELECT {RULE_COLUMNS} FROM {_RULE_FROM} WHERE r.deleted_at IS NULL")
    return [rule_from_row(row) for row in rows]


async def list_rules(
    conn: asyncpg.Connection | asyncpg.Pool, after: tuple[datetime, UUID] | None, limit: int
) -> list[Rule]:
    if after is None:
        rows = await conn.fetch(
            f"""SELECT {RULE_COLUMNS} FROM {_RULE_FROM} WHERE r.deleted_at IS NULL
                ORDER BY r.created_at, r.rule_id LIMIT $1""",
            limit,
        )
    else:
        rows = await conn.fetch(
            f"""SELECT {RULE_COLUMNS} FROM {_RULE_FROM}
                WHERE r.deleted_at IS NULL AND (r.created_at, r.rule_id) > ($1, $2)
                ORDER BY r.created_at, r.rule_id LIMIT $3""",
            after[0],
            after[1],
            limit,
        )
    return [rule_from_row(row) for row in rows]


async def get_rule(conn: asyncpg.Connection | asyncpg.Pool, rule_id: UUID) -> Rule | None:
    row = await conn.fetchrow(
        f"SELECT {RULE_COLUMNS} FROM {_RULE_FROM} WHERE r.rule_id = $1 AND r.deleted_at IS NULL",
        rule_id,
    )
    return None if row is None else rule_from_row(row)


def _columns(fields: RuleCreate | RulePatch) -> dict[str, object]:
    """The columns a create (every field) or a patch (the fields it sets) writes."""
    names = fields.model_fields_set if isinstance(fields, RulePatch) else type(fields).model_fields
    columns: dict[str, object] = {name: getattr(fields, name) for name in names}
    if columns.get("sensor_type") is not None:
        columns["sensor_type"] = SENSOR_TYPE_CODES[str(columns["sensor_type"])]
    return columns


async def insert_rule(conn: asyncpg.Connection, rule: RuleCreate) -> UUID:
    columns = _columns(rule)
    placeholders = ", ".join(f"${i}" for i in range(1, len(columns) + 1))
    return await conn.fetchval(
        f"""INSERT INTO alert_rules ({", ".join(columns)}) VALUES ({placeholders})
            RETURNING rule_id""",
        *columns.values(),
    )


async def update_rule(conn: asyncpg.Connection, rule_id: UUID, patch: RulePatch) -> None:
    columns = _columns(patch)
    assignments = ", ".join(f"{c} = ${i}" for i, c in enumerate(columns, start=2))
    await conn.execute(
        f"UPDATE alert_rules SET {assignments}, updated_at = now() WHERE rule_id = $1",
        rule_id,
        *columns.values(),
    )
    # Series state was computed under the old definition: start afresh from the next reading.
    await conn.execute("DELETE FROM alert_series WHERE rule_id = $1", rule_id)


async def soft_delete(conn: asyncpg.Connection, rule_id: UUID) -> bool:
    deleted = await conn.fetchval(
        """UPDATE alert_rules SET deleted_at = now(), updated_at = now()
           WHERE rule_id = $1 AND deleted_at IS NULL RETURNING true""",
        rule_id,
    )
    await conn.execute("DELETE FROM alert_series WHERE rule_id = $1", rule_id)
    return bool(deleted)


async def resolve_rule_alerts(conn: asyncpg.Connection, rule_id: UUID) -> list[UUID]:
    rows = await conn.fetch(
        """UPDATE alerts SET state = 'resolved', resolved_at = now(), updated_at = now()
           WHERE rule_id = $1 AND state <> 'resolved' RETURNING alert_id""",
        rule_id,
    )
    return [r["alert_id"] for r in rows]


async def device_exists(conn: asyncpg.Connection, device_id: UUID) -> bool:
    return bool(await conn.fetchval("SELECT true FROM devices WHERE device_id = $1", device_id))
