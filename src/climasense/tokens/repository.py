"""SQL for operator token management: create, list, revoke (looking a token up on a request
stays in `auth.repository`, beside the device keys)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID, uuid4

import asyncpg

_TOKEN_COLUMNS = "token_id, name, role, created_at, expires_at, last_used_at, revoked_at"  # noqa: S105


@dataclass(frozen=True, slots=True)
class AdminToken:
    """A token as the API lists it (`TokenOut` reads these attributes); never its hash."""

    token_id: UUID
    name: str
    role: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class RevokedToken:
    """A token just marked revoked: its hash goes into the credential feed, unless it was
    revoked already (`previously_revoked_at`)."""

    token_id: UUID
    name: str
    role: str
    token_hash: bytes
    previously_revoked_at: datetime | None


def _token(row: asyncpg.Record) -> AdminToken:
    return AdminToken(
        token_id=row["token_id"],
        name=row["name"],
        role=row["role"],
        created_at=row["created_at"],
        expires_at=row["expires_at"],
        last_used_at=row["last_used_at"],
        revoked_at=row["revoked_at"],
    )


async def insert_admin_token(
    conn: asyncpg.Connection,
    name: str,
    token_hash: bytes,
    role: str = "admin",
    expires_at: datetime | None = None,
) -> AdminToken:
    """Insert a token; its row without the hash."""
    row = await conn.fetchrow(
        f"""INSERT INTO admin_tokens (token_id, name, token_hash, role, expires_at)
            VALUES ($1, $2, $3, $4, $5) RETURNING {_TOKEN_COLUMNS}""",
        uuid4(),
        name,
        token_hash,
        role,
        expires_at,
    )
    return _token(row)


async def list_admin_tokens(
    conn: asyncpg.Pool | asyncpg.Connection, after: tuple[datetime, UUID] | None, limit: int
) -> list[AdminToken]:
    """Tokens oldest first, never their hash."""
    if after is None:
        rows = await conn.fetch(
            f"SELECT {_TOKEN_COLUMNS} FROM admin_tokens ORDER BY created_at, token_id LIMIT $1",
            limit,
        )
    else:
        rows = await conn.fetch(
            f"""SELECT {_TOKEN_COLUMNS} FROM admin_tokens WHERE (created_at, token_id) > ($1, $2)
                ORDER BY created_at, token_id LIMIT $3""",
            after[0],
            after[1],
            limit,
        )
    return [_token(row) for row in rows]


async def revoke_admin_token(conn: asyncpg.Connection, token_id: UUID) -> RevokedToken | None:
    """Mark the token revoked (once); None if there is no such token."""
    row = await conn.fetchrow(
        """WITH old AS (SELECT token_id, revoked_at FROM admin_tokens
                        WHERE token_id = $1 FOR UPDATE)
           UPDATE admin_tokens t SET revoked_at = coalesce(t.revoked_at, now())
           FROM old WHERE t.token_id = old.token_id
           RETURNING t.token_id, t.name, t.role, t.token_hash,
                     old.revoked_at AS previously_revoked_at""",
        token_id,
    )
    if row is None:
        return None
    return RevokedToken(
        token_id=row["token_id"],
        name=row["name"],
        role=row["role"],
        token_hash=bytes(row["token_hash"]),
        previously_revoked_at=row["previously_revoked_at"],
    )


async def end_token_sessions(conn: asyncpg.Connection, token_id: UUID) -> None:
    await conn.execute("DELETE FROM dashboard_sessions WHERE token_id = $1", token_id)
