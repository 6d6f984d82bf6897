"""Sending one signed event to one endpoint: the `WebhookSender` protocol and its httpx
implementation. The body is signed with HMAC-SHA256 under the webhook's secret:
`X-ClimaSense-Signature: sha256=<hex>`, and the Standard Webhooks headers `webhook-id`,
`webhook-timestamp` and `webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">`
(same secret, used as given), so receivers can refuse replays."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
from dataclasses import dataclass
from typing import Protocol

import httpx

from climasense import __version__
from climasense.webhooks.targets import TargetRefused, pin

SIGNATURE_HEADER = "X-ClimaSense-Signature"
_KEEPALIVE_CONNECTIONS = 10


def sign(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def standard_headers(message_id: str, timestamp: int, body: bytes, secret: str) -> dict[str, str]:
    """The Standard Webhooks headers for one attempt."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).digest()
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": "v1," + base64.b64encode(digest).decode(),
    }


@dataclass(frozen=True, slots=True)
class SendResult:
    status_code: int | None
    error: str | None

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class WebhookSender(Protocol):
    async def send(self, url: str, body: bytes, headers: dict[str, str]) -> SendResult: ...

    async def close(self) -> None: ...


class HttpxSender:
    """POSTs with bounded timeouts; never follows redirects (a 3xx is a failed attempt)."""

    def __init__(self, timeout_seconds: float, *, allow_private_networks: bool = False) -> None:
        self._allow_private = allow_private_networks
        self._timeout = timeout_seconds
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout_seconds, connect=min(timeout_seconds, 3.0)),
            follow_redirects=False,
            headers={"User-Agent": f"ClimaSense-Webhooks/{__version__}"},
            limits=httpx.Limits(
                max_connections=50, max_keepalive_connections=_KEEPALIVE_CONNECTIONS
            ),
        )

    async def send(self, url: str, body: bytes, headers: dict[str, str]) -> SendResult:
        # Resolved and checked now (a name may have been re-pointed since registration), and
        # the connection goes to the checked address (webhooks/targets.py).
        # The resolver has timeouts of its own (seconds per server and try, resolv.conf), which
        # would let one attempt outlast its lease (delivery.py) and be sent twice.
        try:
            async with asyncio.timeout(self._timeout):
                pinned, host, sni = await pin(url, allow_private=self._allow_private)
        except TargetRefused as exc:
            return SendResult(None, f"target refused: {exc}"[:300])
        except TimeoutError:
            return SendResult(None, "timeout resolving the host")
        # A kept-alive connection the endpoint closed while idle (servers close them after a
        # few seconds: uvicorn and Node.js after 5 s, the pool's own expiry) fails the request
        # at once, before any answer. That says nothing about the endpoint: the request goes
        # again at once on another connection, not after a backoff as a failed attempt. Only a
        # reused connection counts, and each such failure drops one, so this ends.
        for _ in range(_KEEPALIVE_CONNECTIONS + 1):
            fresh = False

            async def trace(event: str, info: dict[str, object]) -> None:
                nonlocal fresh
                fresh = fresh or event.startswith("connection.connect_")

            extensions: dict[str, object] = {"trace": trace}
            if sni:
                extensions["sni_hostname"] = sni
            try:
                response = await self._client.post(
                    pinned, content=body, headers={**headers, "Host": host}, extensions=extensions
                )
            except httpx.TimeoutException:
                return SendResult(None, "timeout")
            except (httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError) as exc:
                if fresh:
                    return SendResult(None, f"{type(exc).__name__}: {exc}"[:300])
                continue
            except (httpx.HTTPError, httpx.InvalidURL, ValueError) as exc:
                return SendResult(None, f"{type(exc).__name__}: {exc}"[:300])
            return SendResult(
                response.status_code, None if response.is_success else "non-2xx status"
            )
        return SendResult(None, "every kept-alive connection was closed by the endpoint")

    async def close(self) -> None:
        await self._client.aclose()
