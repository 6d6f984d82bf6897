"""Reading a JSON body: content type (415), size limit without reading the rest (413),
strict parsing (400 — NaN and Infinity literals are not JSON)."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request

from climasense.errors import BadRequest, PayloadTooLarge, UnsupportedMediaType

JSON_TYPES = frozenset({"application/json", "application/merge-patch+json"})


def is_json_content_type(content_type: str | None, *, allow_missing: bool = True) -> bool:
    if not content_type:
        return allow_missing
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type in JSON_TYPES or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )


def check_declared_length(request: Request, limit: int) -> None:
    """413 from the headers alone, before a byte of an oversized body is read."""
    declared = request.headers.get("content-length")
    if declared is None:
        return
    try:
        size = int(declared)
    except ValueError:
        raise BadRequest("Invalid Content-Length header", code="bad_request") from None
    if size > limit:
        raise PayloadTooLarge(f"Request body exceeds {limit} bytes")


async def read_body(request: Request, limit: int) -> bytes:
    check_declared_length(request, limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"Request body exceeds {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def parse_json(raw: bytes) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise BadRequest() from None


async def read_json(request: Request, limit: int) -> Any:
    if not is_json_content_type(request.headers.get("content-type")):
        raise UnsupportedMediaType()
    raw = await read_body(request, limit)
    if not raw:
        raise BadRequest("Request body is empty; a JSON document is required")
    return parse_json(raw)
