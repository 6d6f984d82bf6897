"""Sending one signed event to one endpoint: the `WebhookSender` protocol and its httpx
implementation. The body is signed with HMAC-SHA256 under the webhook's secret:
`X-ClimaSense-Signature: sha256=<hex>`."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Protocol

import httpx

from climasense import __version__

SIGNATURE_HEADER = "X-ClimaSense-Signature"


def sign(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


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

    def __init__(self, timeout_seconds: float) -> None:
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout_seconds, connect=min(timeout_seconds, 3.0)),
            follow_redirects=False,
            headers={"User-Agent": f"ClimaSense-Webhooks/{__version__}"},
            limits=httpx.Limits(max_connections=50, max_keepalive_connections=10),
        )

    async def send(self, url: str, body: bytes, headers: dict[str, str]) -> SendResult:
        try:
            response = await self._client.post(url, content=body, headers=headers)
        except httpx.TimeoutException:
            return SendResult(None, "timeout")
        except (httpx.HTTPError, httpx.InvalidURL, ValueError) as exc:
            return SendResult(None, f"{type(exc).__name__}: {exc}"[:300])
        return SendResult(response.status_code, None if response.is_success else "non-2xx status")

    async def close(self) -> None:
        await self._client.aclose()
