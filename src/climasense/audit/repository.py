"""SQL for the audit trail (table `audit_entries`, migration 0080). Insert and read only: there
is deliberately no statement here that updates or deletes an entry (a trigger refuses both)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg


async def insert_entry(
    conn: asyncpg.Connection,
    *,
    actor_token_id: UUID | None,
    actor_name: str,
    actor_role: str,
    action: str,
    target_type: str,
    target_id: str | None,
    details: dict[str, Any],
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
) -> list[asyncpg.Record]:
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
    return await conn.fetch(
        f"""SELECT audit_id, at, actor_token_id, actor_name, actor_role, action, target_type,
                   target_id, details
            FROM audit_entries WHERE {" AND ".join(where)}
            ORDER BY at DESC, audit_id DESC LIMIT {arg(limit)}""",
        *args,
    )


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
