"""Recording and reading audit entries."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

import asyncpg

from climasense.audit import repository
from climasense.audit.repository import AuditEntry, JsonObject
from climasense.pagination import decode_cursor, split_page

_ACTION = re.compile(r"^[a-z_]+\.[a-z_]+$")
# Never stored, whatever a caller passes in `details` (keys, tokens, webhook secrets).
_SECRET_FIELDS = frozenset(
    {"api_key", "token", "secret", "token_hash", "key_hash", "password", "authorization"}
)


class Actor(Protocol):
    """Who made a change: an operator token (`AdminPrincipal` fits), or a `SystemActor`."""

    @property
    def token_id(self) -> UUID | None: ...

    @property
    def name(self) -> str: ...

    @property
    def role(self) -> str: ...


@dataclass(frozen=True, slots=True)
class SystemActor:
    token_id: UUID | None
    name: str
    role: str


# The CLI run on the server's own machine without `--url`: it has the database and the server
# secret, so it acts with admin powers and no token.
LOCAL_CLI = SystemActor(None, "local cli", "admin")


def _scrub(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _scrub(v) for k, v in value.items() if str(k).lower() not in _SECRET_FIELDS}
    if isinstance(value, list | tuple):
        return [_scrub(v) for v in value]
    if isinstance(value, UUID | datetime):
        return str(value) if isinstance(value, UUID) else value.isoformat()
    return value


async def record_audit(
    conn: asyncpg.Connection,
    actor: Actor,
    action: str,
    target_type: str,
    target_id: str | UUID | None,
    details: JsonObject | None = None,
) -> int:
    """Append one audit entry on `conn`; call it inside the transaction of the change it
    records. `action` is `<thing>.<verb>` (e.g. `device.revoke`); secret-looking fields of
    `details` (api_key, token, secret, …) are dropped."""
    if not _ACTION.match(action):
        raise ValueError(f"audit action must be <thing>.<verb>, got {action!r}")
    if not conn.is_in_transaction():
        raise RuntimeError("record_audit must run inside the transaction of the change")
    return await repository.insert_entry(
        conn,
        actor_token_id=actor.token_id,
        actor_name=actor.name,
        actor_role=actor.role,
        action=action,
        target_type=target_type,
        target_id=None if target_id is None else str(target_id),
        details=_scrub(details or {}),
    )


async def list_entries(
    pool: asyncpg.Pool | asyncpg.Connection,
    *,
    actor_token_id: UUID | None = None,
    action: str | None = None,
    target_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    cursor: str | None = None,
    limit: int = 100,
) -> tuple[list[AuditEntry], str | None]:
    """Entries newest first, and the cursor of the next page (None on the last)."""
    before = decode_cursor(cursor, int) if cursor else None
    entries = await repository.list_entries(
        pool,
        actor_token_id=actor_token_id,
        action=action,
        target_id=target_id,
        since=since,
        until=until,
        before=before,
        limit=limit + 1,
    )
    return split_page(entries, limit, lambda e: (e.at, e.audit_id))
