"""Operator token management (CONTRACT §9): create, list, revoke; each change audited.

A revoked token's hash goes into the credential feed (`credential_events`) that device keys
use, so every API process drops it from its cache within seconds, and its dashboard sessions
are deleted in the same transaction. Expiry needs no feed: the cached principal carries
`expires_at`, checked on every request.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from climasense.audit import LOCAL_CLI, Actor, record_audit
from climasense.auth import repository
from climasense.auth.keys import KeyHasher, KeyKind, generate_key
from climasense.errors import NotFound
from climasense.pagination import decode_cursor, split_page


def token_view(row: asyncpg.Record) -> dict[str, Any]:
    return {
        "token_id": row["token_id"],
        "name": row["name"],
        "role": row["role"],
        "created_at": row["created_at"],
        "expires_at": row["expires_at"],
        "last_used_at": row["last_used_at"],
        "revoked_at": row["revoked_at"],
    }


async def create_token(
    pool: asyncpg.Pool,
    hasher: KeyHasher,
    *,
    name: str,
    role: str,
    expires_at: datetime | None,
    operator: Actor,
) -> dict[str, Any]:
    """Create a token; the returned `token` (the secret) exists nowhere else."""
    secret = generate_key(KeyKind.ADMIN)
    async with pool.acquire() as conn, conn.transaction():
        row = await repository.insert_admin_token(conn, name, hasher.hash(secret), role, expires_at)
        await record_audit(
            conn,
            operator,
            "token.create",
            "token",
            row["token_id"],
            {"name": name, "role": role, "expires_at": expires_at},
        )
    view = token_view(row)
    view["token"] = secret
    return view


async def list_tokens(
    pool: asyncpg.Pool, *, cursor: str | None, limit: int
) -> tuple[list[dict[str, Any]], str | None]:
    after = decode_cursor(cursor, UUID) if cursor else None
    rows = await repository.list_admin_tokens(pool, after, limit + 1)
    page, next_cursor = split_page(rows, limit, "created_at", "token_id")
    return [token_view(row) for row in page], next_cursor


async def revoke_token(pool: asyncpg.Pool, token_id: UUID, *, operator: Actor) -> None:
    """Revoke a token (revoking a revoked token changes nothing and records nothing)."""
    async with pool.acquire() as conn, conn.transaction():
        row = await repository.revoke_admin_token(conn, token_id)
        if row is None:
            raise NotFound("Token not found")
        if row["previously_revoked_at"] is not None:
            return
        await repository.record_credential_event(conn, bytes(row["token_hash"]))
        await repository.end_token_sessions(conn, token_id)
        await record_audit(conn, operator, "token.revoke", "token", token_id, {"name": row["name"]})


async def create_admin_token(
    pool: asyncpg.Pool,
    hasher: KeyHasher,
    name: str,
    role: str = "admin",
    expires_at: datetime | None = None,
) -> str:
    """Bootstrap: a token made on the server's machine (`climasense admin create-token`),
    recorded in the audit trail as the local CLI's doing."""
    created = await create_token(
        pool, hasher, name=name, role=role, expires_at=expires_at, operator=LOCAL_CLI
    )
    token: str = created["token"]
    return token
