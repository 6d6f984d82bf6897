"""SQL for credentials: looking keys up, recording revocations, operator tokens."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID, uuid4

import asyncpg

from climasense.auth.principals import AdminPrincipal, DevicePrincipal


async def find_device_by_key_hash(
    conn: asyncpg.Pool | asyncpg.Connection, key_hash: bytes
) -> DevicePrincipal | None:
    row = await conn.fetchrow(
        "SELECT device_id, serial_number, kind, model, batch FROM devices "
        "WHERE key_hash = $1 AND status = 'active'",
        key_hash,
    )
    if row is None:
        return None
    return DevicePrincipal(
        row["device_id"], row["serial_number"], row["kind"], row["model"], row["batch"]
    )


async def find_admin_by_token_hash(
    conn: asyncpg.Pool | asyncpg.Connection, token_hash: bytes
) -> AdminPrincipal | None:
    row = await conn.fetchrow(
        "SELECT token_id, name, role, expires_at FROM admin_tokens "
        "WHERE token_hash = $1 AND revoked_at IS NULL "
        "AND (expires_at IS NULL OR expires_at > now())",
        token_hash,
    )
    if row is None:
        return None
    return AdminPrincipal(row["token_id"], row["name"], row["role"], row["expires_at"])


async def record_credential_event(conn: asyncpg.Connection, key_hash: bytes) -> None:
    await conn.execute("INSERT INTO credential_events (key_hash) VALUES ($1)", key_hash)


_TOKEN_COLUMNS = "token_id, name, role, created_at, expires_at, last_used_at, revoked_at"  # noqa: S105


async def insert_admin_token(
    conn: asyncpg.Connection,
    name: str,
    token_hash: bytes,
    role: str = "admin",
    expires_at: datetime | None = None,
) -> asyncpg.Record:
    """Insert a token; its row without the hash."""
    row: asyncpg.Record = await conn.fetchrow(
        f"""INSERT INTO admin_tokens (token_id, name, token_hash, role, expires_at)
            VALUES ($1, $2, $3, $4, $5) RETURNING {_TOKEN_COLUMNS}""",
        uuid4(),
        name,
        token_hash,
        role,
        expires_at,
    )
    return row


async def list_admin_tokens(
    conn: asyncpg.Pool | asyncpg.Connection, after: tuple[datetime, UUID] | None, limit: int
) -> list[asyncpg.Record]:
    """Tokens oldest first, never their hash."""
    if after is None:
        return await conn.fetch(
            f"SELECT {_TOKEN_COLUMNS} FROM admin_tokens ORDER BY created_at, token_id LIMIT $1",
            limit,
        )
    return await conn.fetch(
        f"""SELECT {_TOKEN_COLUMNS} FROM admin_tokens WHERE (created_at, token_id) > ($1, $2)
            ORDER BY created_at, token_id LIMIT $3""",
        after[0],
        after[1],
        limit,
    )


async def revoke_admin_token(conn: asyncpg.Connection, token_id: UUID) -> asyncpg.Record | None:
    """Mark the token revoked (once); its row with the hash, or None if there is no such token."""
    return await conn.fetchrow(
        """WITH old AS (SELECT token_id, revoked_at FROM admin_tokens
                        WHERE token_id = $1 FOR UPDATE)
           UPDATE admin_tokens t SET revoked_at = coalesce(t.revoked_at, now())
           FROM old WHERE t.token_id = old.token_id
           RETURNING t.token_id, t.name, t.role, t.token_hash,
                     old.revoked_at AS previously_revoked_at""",
        token_id,
    )


async def end_token_sessions(conn: asyncpg.Connection, token_id: UUID) -> None:
    await conn.execute("DELETE FROM dashboard_sessions WHERE token_id = $1", token_id)


async def touch_admin_token(conn: asyncpg.Pool | asyncpg.Connection, token_id: UUID) -> None:
    await conn.execute(
        """UPDATE admin_tokens SET last_used_at = now()
           WHERE token_id = $1
             AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')""",
        token_id,
    )
