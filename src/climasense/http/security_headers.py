"""Security headers on every response (CONTRACT §8).

* every response: `X-Content-Type-Options: nosniff`;
* an HTML response without its own policy: a strict CSP and `X-Frame-Options: DENY`
  (the dashboard and `/docs` set their own, stricter-fitting CSP; this is the floor);
* every operator API response (`/admin/v1/*`): `Cache-Control: no-store` unless it says
  otherwise — new device keys and tokens are answered there, and no operator answer belongs
  in a shared cache.

Applied by wrapping the ASGI `send` of every request, except the device API's: its router
builds every answer as a `Response` and adds them to its headers (`add_security_headers`),
which costs less per request than a wrapper around each `send` (docs/performance.md, round 4).
"""

from __future__ import annotations

from starlette.types import Message, Scope, Send

HTML_POLICY = (
    b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    b"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def add_security_headers(headers: list[tuple[bytes, bytes]], *, operator: bool) -> None:
    """Append to a response's raw headers what this module's policy asks for and is missing."""
    names = {name.lower() for name, _ in headers}
    if b"x-content-type-options" not in names:
        headers.append((b"x-content-type-options", b"nosniff"))
    content_type = next((v for k, v in headers if k.lower() == b"content-type"), b"")
    if content_type.startswith(b"text/html"):
        if b"content-security-policy" not in names:
            headers.append((b"content-security-policy", HTML_POLICY))
        if b"x-frame-options" not in names:
            headers.append((b"x-frame-options", b"DENY"))
    if operator and b"cache-control" not in names:
        headers.append((b"cache-control", b"no-store"))


def secure_send(scope: Scope, send: Send) -> Send:
    operator = scope["path"].startswith("/admin/v1/")

    async def send_with_headers(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = list(message.get("headers", []))
            add_security_headers(headers, operator=operator)
            message = {**message, "headers": headers}
        await send(message)

    return send_with_headers
