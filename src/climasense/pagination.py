"""Keyset pagination cursors shared by every list: an opaque token naming the last item's
(time, tie-breaker) position. Anything this API did not hand out is a 422 on `cursor`."""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

import orjson

from climasense.errors import ValidationFailed

T = TypeVar("T")


def encode_cursor(moment: datetime, tiebreak: str | int | UUID) -> str:
    raw = orjson.dumps([moment.isoformat(), str(tiebreak)])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def split_page(
    rows: Sequence[Any], limit: int, time_key: str, tiebreak_key: str
) -> tuple[Sequence[Any], str | None]:
    """A list query fetches `limit + 1` rows: keep `limit`, and name the last one kept as the
    next page's cursor if there was more."""
    if len(rows) <= limit:
        return rows, None
    last = rows[limit - 1]
    return rows[:limit], encode_cursor(last[time_key], last[tiebreak_key])


def decode_cursor(cursor: str, tiebreak: Callable[[str], T]) -> tuple[datetime, T]:
    """The (time, tie-breaker) a cursor names, the tie-breaker parsed by `tiebreak`."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        moment, key = orjson.loads(base64.urlsafe_b64decode(padded))
        position = datetime.fromisoformat(moment), tiebreak(key)
        if position[0].tzinfo is None:
            raise ValueError("naive time")
    except (ValueError, TypeError) as exc:  # binascii.Error and orjson's errors included
        raise ValidationFailed(
            "Invalid cursor", details=[{"field": "cursor", "message": "not a cursor from this API"}]
        ) from exc
    return position
