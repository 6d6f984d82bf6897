from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from climasense.auth.principals import AdminPrincipal
from climasense.auth.roles import allowed, authorize, can_write, is_admin
from climasense.errors import Forbidden, Unauthorized


@pytest.mark.parametrize(
    ("role", "method", "path", "expected"),
    [
        ("viewer", "GET", "/admin/v1/devices", True),
        ("viewer", "POST", "/admin/v1/devices", False),
        ("viewer", "PATCH", "/admin/v1/devices/x/settings", False),
        ("viewer", "GET", "/admin/v1/tokens", False),
        ("viewer", "GET", "/admin/v1/audit", False),
        ("viewer", "GET", "/admin/v1/whoami", True),
        ("operator", "DELETE", "/admin/v1/webhooks/x", True),
        ("operator", "POST", "/admin/v1/tokens", False),
        ("operator", "GET", "/admin/v1/tokens", False),
        ("operator", "GET", "/admin/v1/audit", False),
        ("operator", "GET", "/admin/v1/tokensmith", True),  # a prefix, not a path segment
        ("admin", "DELETE", "/admin/v1/tokens/x", True),
        ("admin", "GET", "/admin/v1/audit", True),
    ],
)
def test_allowed(role: str, method: str, path: str, expected: bool) -> None:
    assert allowed(role, method, path) is expected


def test_an_unknown_role_is_treated_as_a_viewer() -> None:
    assert allowed("root", "GET", "/admin/v1/devices")
    assert not allowed("root", "POST", "/admin/v1/devices")
    assert not allowed("root", "GET", "/admin/v1/tokens")


def test_authorize_refuses_expired_tokens_with_401_and_roles_with_403() -> None:
    past = datetime.now(UTC) - timedelta(seconds=1)
    with pytest.raises(Unauthorized):
        authorize(AdminPrincipal(uuid4(), "old", "admin", past), "GET", "/admin/v1/whoami")
    with pytest.raises(Forbidden):
        authorize(AdminPrincipal(uuid4(), "ro", "viewer"), "POST", "/admin/v1/devices")
    future = datetime.now(UTC) + timedelta(days=1)
    authorize(AdminPrincipal(uuid4(), "ok", "operator", future), "POST", "/admin/v1/devices")


def test_dashboard_helpers() -> None:
    assert not can_write(AdminPrincipal(uuid4(), "ro", "viewer"))
    assert can_write(AdminPrincipal(uuid4(), "op", "operator"))
    assert not is_admin(AdminPrincipal(uuid4(), "op", "operator"))
    assert is_admin(AdminPrincipal(uuid4(), "root"))  # the default role of old tokens
