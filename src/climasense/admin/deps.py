"""FastAPI dependencies for the operator API."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from climasense.auth.principals import AdminPrincipal
from climasense.services import Services

_bearer = HTTPBearer(
    auto_error=False, description="Operator token from `climasense admin create-token`."
)


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


async def require_admin(
    request: Request,
    services: ServicesDep,
    _: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> AdminPrincipal:
    # The dashboard calls this API in-process for its signed-in operator (web/operator_api.py);
    # only code in this process can set an ASGI scope key, never a client.
    operator = request.scope.get("climasense.operator")
    if not isinstance(operator, AdminPrincipal):
        operator = await services.authenticator.admin_for_request(request)
    request.scope["climasense.token_id"] = operator.token_id  # for the access log
    return operator


AdminDep = Annotated[AdminPrincipal, Depends(require_admin)]
