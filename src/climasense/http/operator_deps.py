"""FastAPI dependencies for the operator API."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from climasense.auth.principals import AdminPrincipal
from climasense.auth.roles import authorize
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
    # The one place roles are enforced for /admin/v1 (and so for the dashboard, which calls
    # this API in-process): expired → 401, a role that may not → 403.
    path: str = request.scope["path"]
    root = request.scope.get("root_path") or ""
    if root and path.startswith(root):  # mounted under a prefix: roles name /admin/v1 paths
        path = path[len(root) :]
    authorize(operator, request.method, path)
    return operator


AdminDep = Annotated[AdminPrincipal, Depends(require_admin)]
