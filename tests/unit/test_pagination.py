"""The keyset cursor every list hands out."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID, uuid4

import pytest

from climasense.errors import ValidationFailed
from climasense.pagination import decode_cursor, encode_cursor, split_page


def test_a_cursor_round_trips_with_its_tiebreak_type() -> None:
    moment = datetime(2025, 3, 1, 12, 30, 15, 123456, tzinfo=UTC)
    sensor_id = uuid4()
    cursor = encode_cursor(moment, sensor_id)
    assert "=" not in cursor
    assert decode_cursor(cursor, UUID) == (moment, sensor_id)
    assert decode_cursor(encode_cursor(moment, 7), int) == (moment, 7)
    assert decode_cursor(encode_cursor(moment, "CS-ST-0000001"), str) == (moment, "CS-ST-0000001")


@pytest.mark.parametrize("cursor", ["", "%%%", "bnVsbA", "WzEsMl0", "WyJ4IiwieSJd"])
def test_foreign_cursors_are_refused(cursor: str) -> None:
    with pytest.raises(ValidationFailed) as raised:
        decode_cursor(cursor, UUID)
    assert raised.value.details == [{"field": "cursor", "message": "not a cursor from this API"}]


def test_a_naive_time_or_a_wrong_tiebreak_is_refused() -> None:
    naive = encode_cursor(datetime(2025, 3, 1), uuid4())
    with pytest.raises(ValidationFailed):
        decode_cursor(naive, UUID)
    with pytest.raises(ValidationFailed):
        decode_cursor(encode_cursor(datetime.now(UTC), "not-a-uuid"), UUID)


def test_split_page_keeps_limit_rows_and_names_the_last_one() -> None:
    moment = datetime(2025, 3, 1, tzinfo=UTC)
    rows = [{"at": moment, "id": n} for n in range(4)]
    page, cursor = split_page(rows, 3, lambda row: (row["at"], row["id"]))
    assert page == rows[:3]
    assert cursor is not None
    assert decode_cursor(cursor, int) == (moment, 2)
    assert split_page(rows, 4, lambda row: (row["at"], row["id"])) == (rows, None)
