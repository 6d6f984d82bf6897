"""Operator roles (CONTRACT §9), decided in this one module for the API, dashboard and CLI.

- `viewer` reads: any request other than GET/HEAD on `/admin/v1` is refused (403).
- `operator` does everything except token management and reading the audit trail.
- `admin` does everything.

`admin.deps.require_admin` calls `authorize` for every `/admin/v1` request; the dashboard
reaches the same API in-process (web/operator_api.py), so it gets the same answer, and its
templates ask `can_write` / `is_admin` to hide forms that would fail.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum

from climasense.auth.principals import AdminPrincipal
from climasense.errors import Forbidden, Unauthorized


class Role(StrEnum):
    VIEWER = "viewer"
    OPERATOR = "operator"
    ADMIN = "admin"


ROLES = tuple(role.value for role in Role)
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Paths under /admin/v1 only an admin may use, whatever the method.
ADMIN_ONLY_PREFIXES = ("/admin/v1/tokens", "/admin/v1/audit")


def _admin_only(path: str) -> bool:
    return any(path == prefix or path.startswith(prefix + "/") for prefix in ADMIN_ONLY_PREFIXES)


def allowed(role: str, method: str, path: str) -> bool:
    """Whether a token of `role` may make this request on the operator API."""
    if role == Role.ADMIN:
        return True
    if _admin_only(path):
        return False
    if role == Role.OPERATOR:
        return True
    return method.upper() in READ_METHODS


def is_expired(principal: AdminPrincipal, now: datetime | None = None) -> bool:
    return principal.expires_at is not None and principal.expires_at <= (now or datetime.now(UTC))


def authorize(principal: AdminPrincipal, method: str, path: str) -> None:
    """Raise 401 for an expired token and 403 for a request its role may not make."""
    if is_expired(principal):
        raise Unauthorized("Invalid or missing admin token")
    if not allowed(principal.role, method, path):
        if _admin_only(path):
            raise Forbidden("Only an admin token may manage tokens or read the audit trail")
        raise Forbidden(f"A {principal.role} token may only read")


def can_write(principal: AdminPrincipal) -> bool:
    return principal.role in {Role.OPERATOR, Role.ADMIN}


def is_admin(principal: AdminPrincipal) -> bool:
    return principal.role == Role.ADMIN
