"""SQL for the audit trail (table `audit_entries`, migration 0080). Insert and read only: there
is deliberately no statement here that updates or deletes an entry (a trigger refuses both)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeAlias
from uuid import UUID

import asyncpg

# An entry's `details`: whatever the recording domain chose to keep about its change (a device
# update's fields, a job's selector, …), stored as JSONB and shown as given. Genuinely
# free-form, so it stays a JSON object rather than a type of its own.
JsonObject: TypeAlias = dict[str, Any]


@dataclass(frozen=True, slots=True)
class EntryActor:
    """Who made the change, as recorded at the time (the token may since be renamed or gone)."""

    token_id: UUID | None
    name: str
    role: str


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One stored entry as the API shows it (`schemas.AuditEntry` reads these attributes)."""

    audit_id: int
    at: datetime
    actor: EntryActor
    action: str
    target_type: str
    target_id: str | None
    details: JsonObject


def _entry(row: asyncpg.Record) -> AuditEntry:
    return AuditEntry(
        audit_id=row["audit_id"],
        at=row["at"],
        actor=EntryActor(
            token_id=row["actor_token_id"], name=row["actor_name"], role=row["actor_role"]
        ),
        action=row["action"],
        target_type=row["target_type"],
        target_id=row["target_id"],
        details=row["details"],
    )


async def insert_entry(
    conn: asyncpg.Connection,
    *,
    actor_token_id: UUID | None,
    actor_name: str,
    actor_role: str,
    action: str,
    target_type: str,
    target_id: str | None,
    details: JsonObject,
) -> int:
    audit_id: int = await conn.fetchval(
        """INSERT INTO audit_entries
               (actor_token_id, actor_name, actor_role, action, target_type, target_id, details)
           VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING audit_id""",
        actor_token_id,
        actor_name,
        actor_role,
        action,
        target_type,
        target_id,
        details,
    )
    return audit_id


async def list_entries(
    conn: asyncpg.Pool | asyncpg.Connection,
    *,
    actor_token_id: UUID | None,
    action: str | None,
    target_id: str | None,
    since: datetime | None,
    until: datetime | None,
    before: tuple[datetime, int] | None,
    limit: int,
) -> list[AuditEntry]:
    """Entries newest first; `before` is the (at, audit_id) of the last entry already seen."""
    where = ["true"]
    args: list[Any] = []

    def arg(value: Any) -> str:
        args.append(value)
        return f"${len(args)}"

    if actor_token_id is not None:
        where.append(f"actor_token_id = {arg(actor_token_id)}")
    if action is not None:
        where.append(f"action = {arg(action)}")
    if target_id is not None:
        where.append(f"target_id = {arg(target_id)}")
    if since is not None:
        where.append(f"at >= {arg(since)}")
    if until is not None:
        where.append(f"at < {arg(until)}")
    if before is not None:
        where.append(f"(at, audit_id) < ({arg(before[0])}, {arg(before[1])})")
    rows = await conn.fetch(
        f"""SELECT audit_id, at, actor_token_id, actor_name, actor_role, action, target_type,
                   target_id, details
            FROM audit_entries WHERE {" AND ".join(where)}
            ORDER BY at DESC, audit_id DESC LIMIT {arg(limit)}""",
        *args,
    )
    return [_entry(row) for row in rows]


async def latest_actors(
    conn: asyncpg.Pool | asyncpg.Connection, action: str, target_ids: list[str]
) -> dict[str, str]:
    """`{target_id: actor name}` of the latest `action` entry on each target (one query, for
    the dashboard's "by whom" beside commands, settings and releases)."""
    if not target_ids:
        return {}
    rows = await conn.fetch(
        """SELECT DISTINCT ON (target_id) target_id, actor_name FROM audit_entries
           WHERE action = $1 AND target_id = ANY($2::text[])
           ORDER BY target_id, at DESC, audit_id DESC""",
        action,
        target_ids,
    )
    return {row["target_id"]: row["actor_name"] for row in rows}
