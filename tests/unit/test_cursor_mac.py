"""Cursors are authenticated (CONTRACT §4.5): only what this API issued decodes."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import UTC, datetime
from uuid import UUID, uuid4

import orjson
import pytest

from climasense import pagination
from climasense.errors import ValidationFailed


@pytest.fixture(autouse=True)
def _restore_key() -> Iterator[None]:
    saved = pagination._key
    yield
    pagination._key = saved


def test_an_issued_cursor_round_trips_and_any_change_is_refused() -> None:
    pagination.use_secret("s" * 48)
    moment, key = datetime(2024, 5, 1, tzinfo=UTC), uuid4()
    cursor = pagination.encode_cursor(moment, key)
    assert pagination.decode_cursor(cursor, UUID) == (moment, key)
    body, tag = cursor.split(".")
    forged_body = (
        base64.urlsafe_b64encode(orjson.dumps(["2020-01-01T00:00:00+00:00", str(key)]))
        .decode()
        .rstrip("=")
    )
    for bad in (
        f"{forged_body}.{tag}",
        body,
        f"{body}.",
        f"{body}.{tag[:-2]}AA",
        cursor + "x",
        "²",
        "9" * 24,
        "",
    ):
        with pytest.raises(ValidationFailed) as caught:
            pagination.decode_cursor(bad, UUID)
        assert caught.value.details == [
            {"field": "cursor", "message": "not a cursor from this API"}
        ]


def test_another_secret_does_not_accept_the_cursor() -> None:
    pagination.use_secret("a" * 48)
    cursor = pagination.encode_sequence("commands", 42)
    assert pagination.decode_sequence("commands", cursor) == 42
    with pytest.raises(ValidationFailed):
        pagination.decode_sequence("deliveries", cursor)  # another list's cursor
    pagination.use_secret("b" * 48)
    with pytest.raises(ValidationFailed):
        pagination.decode_sequence("commands", cursor)
