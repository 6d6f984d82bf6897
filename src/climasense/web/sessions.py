"""Dashboard sign-in: an admin token is exchanged for a server-side session.

The cookie carries a random session id (HttpOnly, SameSite=Strict, Secure over https); the
database keeps only its HMAC under the server secret, with the admin token it belongs to and the
session's CSRF token. Every request re-reads the row joined with `admin_tokens`, so signing out,
expiry and revoking the token each end the session immediately.

CSRF: state-changing requests must echo the session's synchronizer token (a hidden form field,
or the `X-CSRF-Token` header from scripts) and, when the browser sends `Origin`, come from this
origin. The sign-in form has no session yet, so it uses a double-submit cookie instead.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response

from climasense.auth.principals import AdminPrincipal
from climasense.errors import Forbidden, RateLimited, Unauthorized
from climasense.observability import metrics
from climasense.services import Services
from climasense.web import session_repository as repository

SESSION_COOKIE = "climasense_session"
SIGNIN_COOKIE = "climasense_signin_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


@dataclass(frozen=True, slots=True)
class DashboardSession:
    operator: AdminPrincipal
    csrf_token: str
    expires_at: datetime


def _session_hash(services: Services, session_id: str) -> bytes:
    # Domain-separated from API keys, which the same hasher keys.
    return services.hasher.hash("dashboard-session:" + session_id)


def public_origin(request: Request) -> str:
    """The dashboard's origin as the browser sees it (CONTRACT §8): CLIMASENSE_PUBLIC_URL, or
    the request's own host with the scheme a trusted proxy reports (X-Forwarded-Proto)."""
    services: Services = request.app.state.services
    public = services.settings.public_url
    if public:
        parts = urlsplit(public)
        return f"{parts.scheme.lower()}://{parts.netloc.lower()}"
    return f"{services.proxies.scheme(request.scope)}://{request.url.netloc}"


def is_secure(request: Request) -> bool:
    return public_origin(request).startswith("https://")


def set_cookie(
    response: Response, request: Request, name: str, value: str, max_age: int | None
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/",
        httponly=True,
        samesite="strict",
        secure=is_secure(request),
    )


async def sign_in(services: Services, request: Request, token: str) -> tuple[str, datetime]:
    """Check the admin token and open a session; return the cookie value and its expiry.

    Raises `Unauthorized` for a bad token and `RateLimited` after too many attempts from one
    address (the same budget as failed API authentication), so tokens can't be guessed here.
    """
    client = services.proxies.client_address(request.scope)
    try:
        principal = await services.authenticator.admin(f"Bearer {token.strip()}")
    except Unauthorized:
        # Only failures count (CONTRACT §3): a valid token is never refused by the throttle.
        decision = await services.rate_limiter.hit(
            f"dashboard-sign-in:{client}", services.settings.failed_auth_limit
        )
        if not decision.allowed:
            metrics.rate_limited("dashboard_sign_in")
            raise RateLimited(
                f"Too many sign-in attempts; retry in {decision.retry_after} s",
                headers={"Retry-After": str(decision.retry_after)},
            ) from None
        raise
    session_id = secrets.token_urlsafe(32)
    expires_at = datetime.now(UTC) + timedelta(hours=services.settings.dashboard_session_hours)
    await repository.delete_expired(services.pool)
    await repository.insert_session(
        services.pool,
        _session_hash(services, session_id),
        principal.token_id,
        secrets.token_urlsafe(32),
        expires_at,
    )
    return session_id, expires_at


async def current_session(services: Services, request: Request) -> DashboardSession | None:
    session_id = request.cookies.get(SESSION_COOKIE)
    if not session_id or len(session_id) > 128:
        return None
    stored = await repository.find_session(services.pool, _session_hash(services, session_id))
    if stored is None:
        return None
    return DashboardSession(
        AdminPrincipal(stored.token_id, stored.token_name, stored.role, stored.token_expires_at),
        stored.csrf_token,
        stored.expires_at,
    )


async def sign_out(services: Services, request: Request) -> None:
    session_id = request.cookies.get(SESSION_COOKIE)
    if session_id and len(session_id) <= 128:
        await repository.delete_session(services.pool, _session_hash(services, session_id))


def check_origin(request: Request) -> None:
    """Refuse a state-changing request whose `Origin` is another site."""
    origin = request.headers.get("origin")
    if origin is None:
        return  # SameSite=Strict already kept the cookie off cross-site requests
    if origin.lower() != public_origin(request).lower():
        raise Forbidden("Cross-origin request refused")


def check_csrf(request: Request, session: DashboardSession, submitted: str | None) -> None:
    check_origin(request)
    token = submitted or request.headers.get(CSRF_HEADER) or ""
    if not hmac.compare_digest(token.encode(), session.csrf_token.encode()):
        raise Forbidden("The form has expired; reload the page and try again")


def new_signin_token() -> str:
    return secrets.token_urlsafe(24)


def check_signin_csrf(request: Request, submitted: str | None) -> None:
    check_origin(request)
    cookie = request.cookies.get(SIGNIN_COOKIE) or ""
    if not cookie or not hmac.compare_digest(cookie.encode(), (submitted or "").encode()):
        raise Forbidden("The sign-in form has expired; reload the page and try again")
