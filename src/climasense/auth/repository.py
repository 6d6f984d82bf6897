"""SQL for credentials: looking keys up, recording revocations, operator tokens."""

from __future__ import annotations

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
        "SELECT token_id, name FROM admin_tokens WHERE token_hash = $1 AND revoked_at IS NULL",
        token_hash,
    )
    return None if row is None else AdminPrincipal(row["token_id"], row["name"])


async def record_credential_event(conn: asyncpg.Connection, key_hash: bytes) -> None:
    await conn.execute("INSERT INTO credential_events (key_hash) VALUES ($1)", key_hash)


async def insert_admin_token(conn: asyncpg.Connection, name: str, token_hash: bytes) -> UUID:
    token_id = uuid4()
    await conn.execute(
        "INSERT INTO admin_tokens (token_id, name, token_hash) VALUES ($1, $2, $3)",
        token_id,
        name,
        token_hash,
    )
    return token_id
