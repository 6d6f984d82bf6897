"""SQL for dashboard sessions (table `dashboard_sessions`, migration 0060)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import asyncpg


@dataclass(frozen=True, slots=True)
class StoredSession:
    """A live dashboard session and the admin token it acts as."""

    token_id: UUID
    token_name: str
    role: str
    token_expires_at: datetime | None
    csrf_token: str
    expires_at: datetime


async def insert_session(
    conn: asyncpg.Pool | asyncpg.Connection,
    session_hash: bytes,
    token_id: UUID,
    csrf_token: str,
    expires_at: datetime,
) -> None:
    await conn.execute(
        """INSERT INTO dashboard_sessions (session_hash, token_id, csrf_token, expires_at)
           VALUES ($1, $2, $3, $4)""",
        session_hash,
        token_id,
        csrf_token,
        expires_at,
    )


async def find_session(
    conn: asyncpg.Pool | asyncpg.Connection, session_hash: bytes
) -> StoredSession | None:
    """The live session with this hash, if its admin token is still valid."""
    row = await conn.fetchrow(
        """SELECT s.token_id, t.name, t.role, t.expires_at AS token_expires_at, s.csrf_token,
                  s.expires_at
           FROM dashboard_sessions s JOIN admin_tokens t USING (token_id)
           WHERE s.session_hash = $1 AND s.expires_at > now() AND t.revoked_at IS NULL
             AND (t.expires_at IS NULL OR t.expires_at > now())""",
        session_hash,
    )
    if row is None:
        return None
    return StoredSession(
        row["token_id"],
        row["name"],
        row["role"],
        row["token_expires_at"],
        row["csrf_token"],
        row["expires_at"],
    )


async def delete_session(conn: asyncpg.Pool | asyncpg.Connection, session_hash: bytes) -> None:
    await conn.execute("DELETE FROM dashboard_sessions WHERE session_hash = $1", session_hash)


async def delete_expired(conn: asyncpg.Pool | asyncpg.Connection) -> None:
    await conn.execute("DELETE FROM dashboard_sessions WHERE expires_at <= now()")
