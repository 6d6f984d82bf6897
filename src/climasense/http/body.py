"""Reading a JSON body: content type (415), size limit without reading the rest (413),
strict parsing (400 — NaN and Infinity literals are not JSON), and no U+0000 in any string
(422: PostgreSQL can store it in neither `text` nor `jsonb`, so it would otherwise be a 500)."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.datastructures import Headers
from starlette.requests import Request

from climasense.errors import BadRequest, ValidationFailed
from climasense.http.protocol_errors import PayloadTooLarge, UnsupportedMediaType

JSON_TYPES = frozenset({"application/json", "application/merge-patch+json"})


def is_json_content_type(content_type: str | None, *, allow_missing: bool = True) -> bool:
    if not content_type:
        return allow_missing
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type in JSON_TYPES or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )


def declares_body(headers: Headers) -> bool:
    """Whether a request says a body follows: a Content-Length other than 0, or any
    Transfer-Encoding (chunked). The device router, the operator guard and the operator
    routes decide 415s and early closes from this one reading of the headers."""
    length = headers.get("content-length", "0").strip()
    return length not in {"0", ""} or "transfer-encoding" in headers


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


def _nul_paths(value: Any, path: str, found: list[str]) -> None:
    if isinstance(value, str):
        if "\x00" in value:
            found.append(path or "body")
    elif isinstance(value, dict):
        for key, item in value.items():
            name = key.replace("\x00", "\\u0000")
            where = f"{path}.{name}" if path else name
            if name != key:
                found.append(where)
            _nul_paths(item, where, found)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _nul_paths(item, f"{path}[{index}]", found)


def reject_nul(raw: bytes, document: Any) -> None:
    """422 naming every string (or member name) of `document` that contains U+0000.

    A raw NUL byte is already invalid JSON; the character can only arrive as the escape
    `\\u0000`, so documents without that text (all real ones) are not walked."""
    if b"\\u0000" not in raw:
        return
    found: list[str] = []
    _nul_paths(document, "", found)
    if found:
        raise ValidationFailed(
            "Strings may not contain the character U+0000",
            details=[{"field": f, "message": "contains U+0000 (NUL)"} for f in found[:20]],
        )


def parse_json(raw: bytes, *, allow_nul: bool = False) -> Any:
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise BadRequest() from None
    if not allow_nul:
        reject_nul(raw, document)
    return document


async def read_json_bytes(request: Request, limit: int) -> bytes:
    """The raw bytes of a JSON body (415 for another type, 413 past `limit`, 400 if empty),
    for callers that decode it themselves (telemetry's typed decode)."""
    if not is_json_content_type(request.headers.get("content-type")):
        raise UnsupportedMediaType()
    raw = await read_body(request, limit)
    if not raw:
        raise BadRequest("Request body is empty; a JSON document is required")
    return raw


async def read_json(request: Request, limit: int, *, allow_nul: bool = False) -> Any:
    """The parsed body. `allow_nul`: the caller removes U+0000 itself before storing."""
    return parse_json(await read_json_bytes(request, limit), allow_nul=allow_nul)
