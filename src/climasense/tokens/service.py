"""Operator token management (CONTRACT §9): create, list, revoke; each change audited.

A revoked token's hash goes into the credential feed (`credential_events`) that device keys
use, so every API process drops it from its cache within seconds, and its dashboard sessions
are deleted in the same transaction. Expiry needs no feed: the cached principal carries
`expires_at`, checked on every request.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import asyncpg

from climasense.audit import LOCAL_CLI, Actor, record_audit
from climasense.auth import repository as credentials
from climasense.auth.keys import KeyHasher, KeyKind, generate_key
from climasense.errors import NotFound
from climasense.pagination import decode_cursor, encode_cursor
from climasense.tokens import repository
from climasense.tokens.repository import AdminToken


@dataclass(frozen=True, slots=True)
class CreatedToken:
    """A new token with its secret (`TokenCreated` reads these attributes): the only place the
    secret ever exists outside the caller."""

    token_id: UUID
    name: str
    role: str
    created_at: datetime
    expires_at: datetime | None
    token: str


async def create_token(
    pool: asyncpg.Pool,
    hasher: KeyHasher,
    *,
    name: str,
    role: str,
    expires_at: datetime | None,
    operator: Actor,
) -> CreatedToken:
    """Create a token; the returned `token` (the secret) exists nowhere else."""
    secret = generate_key(KeyKind.ADMIN)
    async with pool.acquire() as conn, conn.transaction():
        stored = await repository.insert_admin_token(
            conn, name, hasher.hash(secret), role, expires_at
        )
        await record_audit(
            conn,
            operator,
            "token.create",
            "token",
            stored.token_id,
            {"name": name, "role": role, "expires_at": expires_at},
        )
    return CreatedToken(
        token_id=stored.token_id,
        name=stored.name,
        role=stored.role,
        created_at=stored.created_at,
        expires_at=stored.expires_at,
        token=secret,
    )


async def list_tokens(
    pool: asyncpg.Pool, *, cursor: str | None, limit: int
) -> tuple[list[AdminToken], str | None]:
    """Tokens oldest first, and the cursor of the next page (None on the last)."""
    after = decode_cursor(cursor, UUID) if cursor else None
    found = await repository.list_admin_tokens(pool, after, limit + 1)
    if len(found) <= limit:
        return found, None
    last = found[limit - 1]
    return found[:limit], encode_cursor(last.created_at, last.token_id)


async def revoke_token(pool: asyncpg.Pool, token_id: UUID, *, operator: Actor) -> None:
    """Revoke a token (revoking a revoked token changes nothing and records nothing)."""
    async with pool.acquire() as conn, conn.transaction():
        revoked = await repository.revoke_admin_token(conn, token_id)
        if revoked is None:
            raise NotFound("Token not found")
        if revoked.previously_revoked_at is not None:
            return
        await credentials.record_credential_event(conn, revoked.token_hash)
        await repository.end_token_sessions(conn, token_id)
        await record_audit(
            conn, operator, "token.revoke", "token", token_id, {"name": revoked.name}
        )


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
    return created.token
