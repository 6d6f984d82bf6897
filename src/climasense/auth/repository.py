"""SQL for credentials: looking keys and tokens up, recording revocations (creating, listing
and revoking operator tokens is `tokens.repository`)."""

from __future__ import annotations

from uuid import UUID

import asyncpg

from climasense.auth.principals import AdminPrincipal, DevicePrincipal


async def find_devices_by_key_hashes(
    conn: asyncpg.Pool | asyncpg.Connection, key_hashes: list[bytes]
) -> dict[bytes, DevicePrincipal]:
    """The active devices among `key_hashes`, by key hash (one indexed query for all)."""
    rows = await conn.fetch(
        "SELECT key_hash, device_id, serial_number, kind, model, batch FROM devices "
        "WHERE key_hash = ANY($1::bytea[]) AND status = 'active'",
        key_hashes,
    )
    return {bytes(row[0]): DevicePrincipal(row[1], row[2], row[3], row[4], row[5]) for row in rows}


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


async def touch_admin_token(conn: asyncpg.Pool | asyncpg.Connection, token_id: UUID) -> None:
    await conn.execute(
        """UPDATE admin_tokens SET last_used_at = now()
           WHERE token_id = $1
             AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')""",
        token_id,
    )
