"""Nothing read before authentication (CONTRACT §8), for the operator API.

An ASGI middleware in front of FastAPI for `/admin/v1/*`: the bearer token is checked from the
headers alone, so a request without a valid token gets `401` without a byte of its body read
(FastAPI would otherwise read and parse the whole body before its dependencies run). A body
is then capped — operator JSON at `operator_body_limit`, a firmware upload at
`firmware_max_bytes` — from `Content-Length` before reading, or while a chunked body is read.
Any answer given before a declared body has been read to its end — a 401 here, a 413, or a
handler's error raised before it reads (an unsigned firmware image on a server that requires
signatures) — closes the connection afterwards, as the device API does, so the rest of the
body is neither read nor left for the server to receive and discard (up to
`firmware_max_bytes` of it).
"""

from __future__ import annotations

import re

from starlette.datastructures import Headers
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from climasense.errors import BadRequest, ClimaSenseError
from climasense.http.body import declares_body
from climasense.http.protocol_errors import PayloadTooLarge
from climasense.http.responses import error_response
from climasense.services import Services

PREFIX = "/admin/v1/"
OPERATOR_SCOPE_KEY = "climasense.operator"
_FIRMWARE_UPLOAD = re.compile(r"\A/admin/v1/firmware/[^/]+/[^/]+\Z")


class OperatorGuard:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(PREFIX):
            await self.app(scope, receive, send)
            return
        services: Services = scope["app"].state.services
        headers = Headers(scope=scope)
        has_body = declares_body(headers)
        settings = services.settings
        if scope["method"] == "PUT" and _FIRMWARE_UPLOAD.match(scope["path"]):
            limit = settings.firmware_max_bytes
        else:
            limit = settings.operator_body_limit
        try:
            if OPERATOR_SCOPE_KEY not in scope:  # set only by in-process dashboard calls
                principal = await services.authenticator.admin_for_request(HTTPConnection(scope))
                scope[OPERATOR_SCOPE_KEY] = principal
            declared = headers.get("content-length")
            if declared is not None:
                text = declared.strip()
                if not (text.isascii() and text.isdigit()) or len(text) > 19:
                    raise BadRequest("Invalid Content-Length header", code="bad_request")
                if int(text) > limit:
                    raise PayloadTooLarge(f"Request body exceeds {limit} bytes")
        except ClimaSenseError as exc:
            response = error_response(exc, headers={"Connection": "close"} if has_body else None)
            await response(scope, receive, send)
            return

        received = 0
        # False until the body's last chunk has been received: a cap tripped mid-body leaves
        # it False too, so that answer closes the connection as well.
        body_read = not has_body

        async def capped_receive() -> Message:
            nonlocal received, body_read
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise PayloadTooLarge(f"Request body exceeds {limit} bytes")
                if not message.get("more_body", False):
                    body_read = True
            return message

        async def closing_send(message: Message) -> None:
            if not body_read and message["type"] == "http.response.start":
                message = {
                    **message,
                    "headers": [*message.get("headers", []), (b"connection", b"close")],
                }
            await send(message)

        await self.app(scope, capped_receive, closing_send)
