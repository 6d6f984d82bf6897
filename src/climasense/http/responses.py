"""JSON responses (orjson) and the contract's error body."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import orjson
from starlette.responses import Response

from climasense.errors import ClimaSenseError

_OPTIONS = orjson.OPT_UTC_Z | orjson.OPT_NAIVE_UTC


def _default(value: Any) -> Any:
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, bytes | memoryview):
        raise TypeError("refusing to serialise raw bytes")
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    raise TypeError(f"cannot serialise {type(value).__name__}")


def dumps(body: Any) -> bytes:
    return orjson.dumps(body, default=_default, option=_OPTIONS)


class JSONResponse(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return dumps(content)


def utc_now() -> datetime:
    return datetime.now(UTC)


def error_response(exc: ClimaSenseError, headers: dict[str, str] | None = None) -> JSONResponse:
    merged = {**exc.headers, **(headers or {})}
    if exc.status == 401:
        merged.setdefault("WWW-Authenticate", "Bearer")
    return JSONResponse(exc.body(), status_code=exc.status, headers=merged)
