"""Keyset pagination cursors shared by every list: an opaque, authenticated token naming the
last item's position. A cursor carries a MAC under the server secret (CONTRACT §4.5), so
anything this API did not hand out — tampered, forged, from another list or another
installation — is a 422 on `cursor`, never a query with made-up values (or a 500)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

import orjson

from climasense.errors import ValidationFailed

T = TypeVar("T")
Row = TypeVar("Row")

_MAC_BYTES = 16
# One server secret per process (set by the app from CLIMASENSE_SECRET_KEY); until then a
# random one, so cursors still round-trip within the process (tools, tests without an app).
_key: bytes = hashlib.sha256(b"climasense-cursor:" + os.urandom(32)).digest()


def use_secret(secret: str) -> None:
    """Key cursor MACs with the server secret, so every API process accepts each other's."""
    global _key
    _key = hashlib.sha256(b"climasense-cursor:" + secret.encode()).digest()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(kind: str, payload: bytes) -> bytes:
    return hmac.new(_key, kind.encode() + b"\x00" + payload, hashlib.sha256).digest()[:_MAC_BYTES]


def invalid_cursor() -> ValidationFailed:
    return ValidationFailed(
        "Invalid cursor", details=[{"field": "cursor", "message": "not a cursor from this API"}]
    )


def sign(kind: str, value: Any) -> str:
    """An opaque cursor for `value` (JSON-serialisable), valid only for lists of `kind`."""
    payload = orjson.dumps(value)
    return f"{_b64(payload)}.{_b64(_mac(kind, payload))}"


def verify(kind: str, cursor: str) -> Any:
    """The value a cursor of `kind` names; 422 for anything this API did not issue."""
    if len(cursor) > 512 or not cursor.isascii():
        raise invalid_cursor()
    body, _, tag = cursor.partition(".")
    try:
        payload = _unb64(body)
        given = _unb64(tag)
    except ValueError:
        raise invalid_cursor() from None
    if not hmac.compare_digest(given, _mac(kind, payload)):
        raise invalid_cursor()
    try:
        return orjson.loads(payload)
    except orjson.JSONDecodeError:
        raise invalid_cursor() from None


def encode_cursor(moment: datetime, tiebreak: str | int | UUID, *, kind: str = "keyset") -> str:
    return sign(kind, [moment.isoformat(), str(tiebreak)])


def split_page(
    rows: list[Row],
    limit: int,
    position: Callable[[Row], tuple[datetime, Any]],
    *,
    kind: str = "keyset",
) -> tuple[list[Row], str | None]:
    """A list query fetches `limit + 1` rows: keep `limit`, and name the last one kept as the
    next page's cursor if there was more — by its `position` (time, tie-breaker). `kind` names
    the list: its cursors are valid only for it (another list's cursor is a 422 like a forged
    one)."""
    if len(rows) <= limit:
        return rows, None
    return rows[:limit], encode_cursor(*position(rows[limit - 1]), kind=kind)


def decode_cursor(
    cursor: str, tiebreak: Callable[[str], T], *, kind: str = "keyset"
) -> tuple[datetime, T]:
    """The (time, tie-breaker) a cursor of list `kind` names, the tie-breaker parsed by
    `tiebreak`."""
    value = verify(kind, cursor)
    try:
        moment, key = value
        position = datetime.fromisoformat(moment), tiebreak(key)
        if position[0].tzinfo is None:
            raise ValueError("naive time")
    except (ValueError, TypeError, OverflowError) as exc:
        raise invalid_cursor() from exc
    return position


def encode_sequence(kind: str, position: int) -> str:
    """A cursor for lists ordered by an integer sequence (commands, deliveries)."""
    return sign(kind, position)


def decode_sequence(kind: str, cursor: str) -> int:
    value = verify(kind, cursor)
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 2**63:
        raise invalid_cursor()
    return value
