"""Admin pages: operator tokens (create shows the secret once, list, revoke) and the audit
trail. Both read and act through the operator API in-process, so its role check (admin only)
decides here too."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from climasense.auth.roles import ROLES
from climasense.web.common import (
    SessionDep,
    checked_form,
    operator_api,
    redirect,
    render,
    text_field,
)
from climasense.web.sessions import DashboardSession

router = APIRouter(include_in_schema=False)

_AUDIT_FILTERS = ("actor_token_id", "action", "target_id", "from", "to", "cursor")


def _refused(request: Request, session: DashboardSession, status: int, message: str) -> Response:
    context = {"title": "Not available", "message": message}
    return render(request, "error.html", context, session=session, status=status)


async def _tokens_page(
    request: Request, session: DashboardSession, created: dict[str, Any] | None = None
) -> Response:
    result = await operator_api(request, session).get(
        "/admin/v1/tokens", cursor=request.query_params.get("cursor"), limit=200
    )
    if not result.ok:
        return _refused(request, session, result.status, result.message)
    return render(
        request,
        "tokens.html",
        {
            "tokens": result.body["tokens"],
            "next_cursor": result.body["next_cursor"],
            "roles": ROLES,
            "created": created,
        },
        session=session,
        status=201 if created else 200,
    )


@router.get("/tokens")
async def tokens_page(request: Request, session: SessionDep) -> Response:
    return await _tokens_page(request, session)


@router.post("/tokens")
async def create_token(request: Request, session: SessionDep) -> Response:
    form = await checked_form(request, session)
    body: dict[str, Any] = {"name": text_field(form, "name"), "role": text_field(form, "role")}
    days = text_field(form, "expires_in_days")
    if days:
        try:
            body["expires_at"] = (datetime.now(UTC) + timedelta(days=int(days))).isoformat()
        except (ValueError, OverflowError):
            return redirect(request, "/tokens", error="Expiry must be a whole number of days.")
    result = await operator_api(request, session).call("POST", "/admin/v1/tokens", json=body)
    if not result.ok:
        return redirect(request, "/tokens", error=result.message)
    # Rendered here, not redirected: the secret must not travel in a cookie or a URL, and the
    # page (Cache-Control: no-store) is the only place it is ever shown.
    return await _tokens_page(request, session, created=result.body)


@router.post("/tokens/{token_id}/revoke")
async def revoke_token(request: Request, token_id: str, session: SessionDep) -> Response:
    await checked_form(request, session)
    result = await operator_api(request, session).call("DELETE", f"/admin/v1/tokens/{token_id}")
    if not result.ok:
        return redirect(request, "/tokens", error=result.message)
    return redirect(request, "/tokens", ok="Token revoked: it stops working within 5 s.")


@router.get("/audit")
async def audit_page(request: Request, session: SessionDep) -> Response:
    filters = {name: request.query_params.get(name) for name in _AUDIT_FILTERS}
    result = await operator_api(request, session).get("/admin/v1/audit", limit=100, **filters)
    if not result.ok:
        return _refused(request, session, result.status, result.message)
    next_query = None
    if result.body["next_cursor"]:
        kept = {k: v for k, v in filters.items() if v and k != "cursor"}
        kept["cursor"] = result.body["next_cursor"]
        next_query = urlencode(kept)
    return render(
        request,
        "audit.html",
        {"entries": result.body["entries"], "filters": filters, "next_query": next_query},
        session=session,
    )
