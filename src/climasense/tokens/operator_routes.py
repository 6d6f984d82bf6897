"""Operator endpoints for tokens and `whoami` (CONTRACT §9). Roles are checked once, by the
router's dependency (admin.deps.require_admin): `/tokens` is admin-only there."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from climasense.http.operator_deps import AdminDep, ServicesDep
from climasense.http.responses import dumps
from climasense.http.routing import JSONRoute
from climasense.ids import uuid_or_404
from climasense.tokens import service as tokens
from climasense.tokens.schemas import TokenCreate, TokenCreated, TokenList, TokenOut, WhoAmI

router = APIRouter(tags=["tokens"], route_class=JSONRoute)


@router.get("/whoami", response_model=WhoAmI)
async def whoami(operator: AdminDep) -> WhoAmI:
    """The calling token: id, name, role and expiry (any role)."""
    return WhoAmI(
        token_id=operator.token_id,
        name=operator.name,
        role=operator.role,  # type: ignore[arg-type]  # validated by pydantic
        expires_at=operator.expires_at,
    )


@router.post("/tokens", status_code=201, response_model=TokenCreated)
async def create_token(body: TokenCreate, services: ServicesDep, operator: AdminDep) -> Response:
    """Create an operator token (admin). The secret is in this response only."""
    created = await tokens.create_token(
        services.pool,
        services.hasher,
        name=body.name,
        role=body.role.value,
        expires_at=body.expires_at,
        operator=operator,
    )
    body_out = TokenCreated.model_validate(created).model_dump(mode="json")
    # A secret must not linger in any cache between here and the caller.
    return Response(
        dumps(body_out),
        status_code=201,
        media_type="application/json",
        headers={"Cache-Control": "no-store", "Pragma": "no-cache"},
    )


@router.get("/tokens", response_model=TokenList)
async def list_tokens(
    services: ServicesDep,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> TokenList:
    """Every token, oldest first, never a secret or a hash (admin)."""
    found, next_cursor = await tokens.list_tokens(services.pool, cursor=cursor, limit=limit)
    return TokenList(
        tokens=[TokenOut.model_validate(token) for token in found], next_cursor=next_cursor
    )


@router.delete("/tokens/{token_id}", status_code=204)
async def revoke_token(token_id: str, services: ServicesDep, operator: AdminDep) -> Response:
    """Revoke a token (admin): it and its dashboard sessions stop working within 5 s on every
    process."""
    await tokens.revoke_token(services.pool, uuid_or_404(token_id, "Token"), operator=operator)
    return Response(status_code=204)
