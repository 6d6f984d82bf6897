"""Mounts the dashboard on the FastAPI app: pages at `/`, assets at `/static`, sign-in/out.

Excluded from `/openapi.json`: the pages are for people; scripts use the operator API.
"""

from __future__ import annotations

from importlib import resources
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from climasense.errors import RateLimited, Unauthorized
from climasense.web import (
    alerts_pages,
    device_pages,
    firmware_pages,
    fleet_ops_pages,
    fleet_pages,
    operator_pages,
    sessions,
)
from climasense.web.common import (
    FormRejected,
    SessionDep,
    SignInRequired,
    redirect,
    render,
    services_of,
    sign_in_location,
    text_field,
)

router = APIRouter(include_in_schema=False)


def _safe_next(target: str | None) -> str:
    # Only a path on this site, so sign-in cannot be used to bounce operators elsewhere.
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


@router.get("/sign-in")
async def sign_in_page(request: Request) -> Response:
    session = await sessions.current_session(services_of(request), request)
    if session is not None:
        return redirect(request, _safe_next(request.query_params.get("next")))
    return _sign_in_form(request, error=None, status=200)


def _sign_in_form(request: Request, *, error: str | None, status: int) -> Response:
    token = sessions.new_signin_token()
    response = render(
        request,
        "sign_in.html",
        {
            "signin_token": token,
            "next": _safe_next(request.query_params.get("next")),
            "error": error,
        },
        status=status,
    )
    sessions.set_cookie(response, request, sessions.SIGNIN_COOKIE, token, max_age=3600)
    return response


@router.post("/sign-in")
async def sign_in(request: Request) -> Response:
    form = await request.form(max_fields=10, max_files=0)
    submitted = form.get(sessions.CSRF_FIELD)
    try:
        sessions.check_signin_csrf(request, submitted if isinstance(submitted, str) else None)
    except Exception as exc:
        return _sign_in_form(request, error=str(exc), status=403)
    services = services_of(request)
    try:
        session_id, _ = await sessions.sign_in(services, request, text_field(form, "token"))
    except Unauthorized:
        return _sign_in_form(request, error="That is not a valid admin token.", status=401)
    except RateLimited as exc:
        response = _sign_in_form(request, error=exc.message, status=429)
        response.headers.update(exc.headers)
        return response
    response = redirect(request, _safe_next(text_field(form, "next")))
    max_age = services.settings.dashboard_session_hours * 3600
    sessions.set_cookie(response, request, sessions.SESSION_COOKIE, session_id, max_age=max_age)
    response.delete_cookie(sessions.SIGNIN_COOKIE, path="/")
    return response


@router.post("/sign-out")
async def sign_out(request: Request, session: SessionDep) -> Response:
    form = await request.form(max_fields=10, max_files=0)
    token = form.get(sessions.CSRF_FIELD)
    try:
        sessions.check_csrf(request, session, token if isinstance(token, str) else None)
    except Exception as exc:
        raise FormRejected(str(exc)) from exc
    await sessions.sign_out(services_of(request), request)
    response = redirect(request, "/sign-in", ok="Signed out.")
    response.delete_cookie(sessions.SESSION_COOKIE, path="/")
    return response


async def _on_sign_in_required(request: Request, _: Exception) -> Response:
    if request.url.path.startswith("/ui/"):
        return JSONResponse(
            {"error": "unauthorized", "message": "Sign in again", "details": []}, status_code=401
        )
    return redirect(request, sign_in_location(request))


async def _on_form_rejected(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, FormRejected)
    context: dict[str, Any] = {"title": "Request refused", "message": exc.message}
    return render(request, "error.html", context, status=exc.status)


def install(api: FastAPI) -> None:
    """Add the dashboard to the app (called once by `create_app`)."""
    api.include_router(router)
    api.include_router(fleet_pages.router)
    api.include_router(fleet_ops_pages.router)
    api.include_router(device_pages.router)
    api.include_router(alerts_pages.router)
    api.include_router(firmware_pages.router)
    api.include_router(operator_pages.router)
    static = resources.files("climasense.web").joinpath("static")
    api.mount("/static", StaticFiles(directory=str(static)), name="static")
    api.add_exception_handler(SignInRequired, _on_sign_in_required)
    api.add_exception_handler(FormRejected, _on_form_rejected)
