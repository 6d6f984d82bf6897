"""The dashboard's access to the operator API: `/admin/v1` called in-process, as the operator
who signed in.

Pages read and act through the same HTTP operator API the CLI and scripts use (same validation,
same error bodies, same shapes as CONTRACT §5), without a network hop: the request is handed to
the FastAPI app as an ASGI call whose scope carries the signed-in operator under
`OPERATOR_SCOPE_KEY`. Only code in this process can put a key in an ASGI scope (clients control
headers, never the scope), and `http.operator_deps.require_admin` accepts that principal in place of a
Bearer token.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import orjson
from starlette.types import ASGIApp, Message, Scope

from climasense.auth.principals import AdminPrincipal

log = logging.getLogger(__name__)

OPERATOR_SCOPE_KEY = "climasense.operator"


@dataclass(frozen=True, slots=True)
class ApiResult:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def message(self) -> str:
        if isinstance(self.body, dict):
            text = str(self.body.get("message") or self.body.get("error") or "")
            details = self.body.get("details") or []
            fields = [
                f"{d.get('field')}: {d.get('message')}" for d in details if isinstance(d, dict)
            ]
            return "; ".join([text, *fields]) if fields else text
        return f"HTTP {self.status}"


Body = bytes | AsyncIterator[bytes] | None


class OperatorAPI:
    def __init__(self, app: ASGIApp, operator: AdminPrincipal, state: dict[str, Any]) -> None:
        self._app = app
        self._operator = operator
        self._state = state

    async def call(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        content: Body = None,
        content_type: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> ApiResult:
        query = {k: v for k, v in (params or {}).items() if v is not None and v != ""}
        raw_headers = [(b"host", b"dashboard.internal")]
        if json is not None:
            content = orjson.dumps(json)
            content_type = "application/json"
        if content_type:
            raw_headers.append((b"content-type", content_type.encode("latin-1")))
        if isinstance(content, bytes):
            raw_headers.append((b"content-length", str(len(content)).encode()))
        elif content is not None:
            raw_headers.append((b"transfer-encoding", b"chunked"))
        for name, value in (headers or {}).items():
            raw_headers.append((name.lower().encode("latin-1"), value.encode("latin-1")))
        scope: Scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "root_path": "",
            "query_string": urlencode(query, doseq=True).encode(),
            "headers": raw_headers,
            "client": ("127.0.0.1", 0),
            "server": ("dashboard.internal", 80),
            "state": dict(self._state),
            OPERATOR_SCOPE_KEY: self._operator,
        }
        return await _run(self._app, scope, content)

    async def get(self, path: str, **params: Any) -> ApiResult:
        return await self.call("GET", path, params=params)


async def _run(app: ASGIApp, scope: Scope, content: Body) -> ApiResult:
    finished = asyncio.Event()
    status = 500
    response_headers: dict[str, str] = {}
    chunks: list[bytes] = []

    async def body_messages() -> AsyncIterator[Message]:
        if content is None:
            yield {"type": "http.request", "body": b"", "more_body": False}
        elif isinstance(content, bytes):
            yield {"type": "http.request", "body": content, "more_body": False}
        else:
            async for chunk in content:
                yield {"type": "http.request", "body": chunk, "more_body": True}
            yield {"type": "http.request", "body": b"", "more_body": False}

    messages = body_messages()

    async def receive() -> Message:
        try:
            return await messages.__anext__()
        except StopAsyncIteration:
            # The "client" stays connected until the response is complete.
            await finished.wait()
            return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
            for name, value in message.get("headers", []):
                response_headers[name.decode("latin-1").lower()] = value.decode("latin-1")
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                finished.set()

    try:
        await app(scope, receive, send)
    except Exception:
        # The app already sent its contract 500 body; the error is logged by its handler.
        log.debug("operator API call raised", exc_info=True)
        if not finished.is_set():
            return ApiResult(500, {"error": "internal_error", "message": "Internal error"})
    finally:
        finished.set()
    raw = b"".join(chunks)
    body: Any = None
    if raw and response_headers.get("content-type", "").startswith("application/json"):
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError:
            body = None
    return ApiResult(status, body, response_headers)
