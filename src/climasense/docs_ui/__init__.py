"""Interactive API docs at `/docs`, served from files in this package (Swagger UI 5.35.0 from
the npm registry's `swagger-ui-dist`, Apache-2.0, see LICENSE.swagger-ui) — never from a CDN."""

from __future__ import annotations

import base64
import hashlib
import re
from importlib import resources

from fastapi import APIRouter
from fastapi.openapi.docs import get_swagger_ui_html
from starlette.responses import HTMLResponse, Response

from climasense.errors import NotFound

router = APIRouter(include_in_schema=False)

_TYPES = {"swagger-ui-bundle.js": "text/javascript", "swagger-ui.css": "text/css"}


def _policy(html: str) -> str:
    """A CSP for the page: its own scripts plus exactly its inline start-up script (by hash);
    Swagger UI styles elements inline, so styles may be inline."""
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(script.encode()).digest()).decode() + "'"
        for script in re.findall(r"<script>(.*?)</script>", html, re.DOTALL)
    )
    return (
        f"default-src 'self'; script-src 'self' {hashes}; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
        "form-action 'self'; frame-ancestors 'none'"
    )


@router.get("/docs")
async def docs() -> HTMLResponse:
    page = get_swagger_ui_html(
        openapi_url="/openapi.json",
        title="ClimaSense API",
        swagger_js_url="/docs/static/swagger-ui-bundle.js",
        swagger_css_url="/docs/static/swagger-ui.css",
        swagger_favicon_url="data:,",
    )
    html = bytes(page.body).decode()
    page.headers["Content-Security-Policy"] = _policy(html)
    page.headers["X-Frame-Options"] = "DENY"
    return page


@router.get("/docs/static/{name}")
async def docs_static(name: str) -> Response:
    if name not in _TYPES:
        raise NotFound()
    body = resources.files(__package__).joinpath(name).read_bytes()
    return Response(
        body, media_type=_TYPES[name], headers={"Cache-Control": "public, max-age=86400"}
    )
