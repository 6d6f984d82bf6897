"""Plumbing shared by the dashboard's pages: templates, the signed-in session, forms, flash
messages and the headers every page carries."""

from __future__ import annotations

import base64
from functools import cache
from typing import Annotated, Any
from urllib.parse import quote

import orjson
from fastapi import Depends
from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from climasense.auth import roles
from climasense.errors import Forbidden, Unauthorized
from climasense.services import Services
from climasense.web import charts, format, sessions
from climasense.web.operator_api import OperatorAPI
from climasense.web.sessions import DashboardSession

FLASH_COOKIE = "climasense_flash"

# Pages load only their own script and stylesheet; nothing inline, nothing from elsewhere.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


class SignInRequired(Unauthorized):
    """No valid session: pages redirect to sign-in, live endpoints answer 401."""

    default_message = "Sign in first"


class FormRejected(Forbidden):
    """A state-changing request failed its CSRF/origin check (rendered as a 403 page)."""


@cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("climasense.web", "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(
        fmt=format,
        line_chart=charts.line_chart,
        progress_bar=charts.progress_bar,
        sensor_types=format.SENSOR_TYPES,
    )
    return env


def services_of(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


async def page_session(request: Request) -> DashboardSession:
    session = await sessions.current_session(services_of(request), request)
    if session is None:
        raise SignInRequired()
    return session


SessionDep = Annotated[DashboardSession, Depends(page_session)]


def operator_api(request: Request, session: DashboardSession) -> OperatorAPI:
    return OperatorAPI(request.app, session.operator, dict(request.scope.get("state") or {}))


def secure(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def render(
    request: Request,
    template: str,
    context: dict[str, Any],
    *,
    session: DashboardSession | None = None,
    status: int = 200,
) -> HTMLResponse:
    flash = read_flash(request)
    operator = session.operator if session is not None else None
    html = (
        environment()
        .get_template(template)
        .render(
            request=request,
            session=session,
            flash=flash,
            # Forms a role could not use are not shown (auth/roles.py decides).
            can_write=operator is not None and roles.can_write(operator),
            is_admin=operator is not None and roles.is_admin(operator),
            **context,
        )
    )
    response = HTMLResponse(html, status_code=status)
    if flash is not None:
        response.delete_cookie(FLASH_COOKIE, path="/")
    secure(response)
    return response


def read_flash(request: Request) -> dict[str, str] | None:
    raw = request.cookies.get(FLASH_COOKIE)
    if not raw:
        return None
    try:
        value = orjson.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
    except (ValueError, orjson.JSONDecodeError):
        return None
    if not isinstance(value, dict):
        return None
    return {"kind": str(value.get("kind", "info")), "text": str(value.get("text", ""))[:2000]}


def redirect(
    request: Request, location: str, *, ok: str | None = None, error: str | None = None
) -> Response:
    """303 to `location` (a path on this site), carrying a one-time message."""
    if not location.startswith("/") or location.startswith("//"):
        location = "/"
    response = RedirectResponse(location, status_code=303)
    if ok is not None or error is not None:
        flash = {"kind": "error" if error is not None else "ok", "text": error or ok}
        value = base64.urlsafe_b64encode(orjson.dumps(flash)).decode().rstrip("=")
        sessions.set_cookie(response, request, FLASH_COOKIE, value, max_age=60)
    return secure(response)


async def checked_form(request: Request, session: DashboardSession) -> FormData:
    """The submitted form, once its CSRF token and origin are verified. A form with a file
    must be closed by the caller (`await form.close()`): its upload spools to a temporary file.
    A viewer's session gets 403 before anything is read (the API would refuse it anyway)."""
    if not roles.can_write(session.operator):
        raise FormRejected(f"A {session.operator.role} token may only read")
    form = await request.form(max_fields=200, max_files=1)
    token = form.get(sessions.CSRF_FIELD)
    try:
        sessions.check_csrf(request, session, token if isinstance(token, str) else None)
    except Exception as exc:
        await form.close()
        raise FormRejected(str(exc)) from exc
    return form


def text_field(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def sign_in_location(request: Request) -> str:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return "/sign-in?next=" + quote(target, safe="")
