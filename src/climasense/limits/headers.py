"""The IETF httpapi ratelimit-headers fields, in structured-field syntax (RFC 9651):
`RateLimit-Policy: "telemetry";q=60;w=60` and `RateLimit: "telemetry";r=42;t=12`."""

from __future__ import annotations

from climasense.limits.base import Decision


def rate_limit_headers(name: str, decision: Decision) -> dict[str, str]:
    # Policy names are sf-strings; ours are fixed identifiers, so no escaping is needed.
    return {
        "RateLimit-Policy": f'"{name}";q={decision.limit};w={decision.window_seconds}',
        "RateLimit": f'"{name}";r={decision.remaining};t={decision.reset_seconds}',
    }
