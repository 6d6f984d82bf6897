"""SQL for dashboard sessions (table `dashboard_sessions`, migration 0060)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import asyncpg


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
) -> asyncpg.Record | None:
    """The live session with this hash, if its admin token is still valid."""
    return await conn.fetchrow(
        """SELECT s.token_id, t.name, t.role, t.expires_at AS token_expires_at, s.csrf_token,
                  s.expires_at
           FROM dashboard_sessions s JOIN admin_tokens t USING (token_id)
           WHERE s.session_hash = $1 AND s.expires_at > now() AND t.revoked_at IS NULL
             AND (t.expires_at IS NULL OR t.expires_at > now())""",
        session_hash,
    )


async def delete_session(conn: asyncpg.Pool | asyncpg.Connection, session_hash: bytes) -> None:
    await conn.execute("DELETE FROM dashboard_sessions WHERE session_hash = $1", session_hash)


async def delete_expired(conn: asyncpg.Pool | asyncpg.Connection) -> None:
    await conn.execute("DELETE FROM dashboard_sessions WHERE expires_at <= now()")
